"""The supervisor's referral list and page: the review columns, overdue first, due times
in the supervisor's own zone, and "Overdue: yes/no" with the due time."""

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import dateformat

from accounts.models import StaffProfile
from referrals.models import Referral
from tests.clock import freeze
from tests.factories import ReferralFactory
from tests.helpers import as_user, page_text

pytestmark = pytest.mark.usefixtures("reference_data")

CHANGELIST = "/admin/referrals/referral/"
# Wednesday 25 November 2026, 15:00 in New York: office hours, so business time runs.
NOW = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)
H = timedelta(hours=1)


def shown(when: datetime, zone: str, *, year: bool = True) -> str:
    """`when` on the wall clock of `zone` as the admin writes times, then the zone's
    abbreviation: "Nov. 25, 2026, 9 a.m. EST" (the year left out on the list)."""
    local = when.astimezone(ZoneInfo(zone))
    return f"{dateformat.format(local, 'N j, Y, P' if year else 'N j, P')} {local.tzname()}"


def readable(response) -> str:
    """The page's text, without the space page_text leaves before a closing mark."""
    return re.sub(r" ([:)])", r"\1", page_text(response))


def headings(response) -> list[str]:
    head = re.search(
        r'<table id="result_list">\s*<thead>(.*?)</thead>', response.content.decode(), re.S
    )
    return [
        " ".join(re.sub(r"<[^>]+>", " ", cell).split())
        for cell in re.findall(r"<th[^>]*>(.*?)</th>", head.group(1), re.S)
    ]


@pytest.fixture
def now(monkeypatch):
    return freeze(monkeypatch, NOW)


@pytest.fixture
def referrals(now, supervisor_user):
    """One of each kind a supervisor sorts through, made in an order unlike the list's."""
    return {
        "closed": ReferralFactory(
            status=Referral.Status.CLOSED,
            outcome=Referral.Outcome.CONNECTED,
            first_contacted_at=now - 40 * H,
            closed_at=now - 30 * H,
            submitted_at=now - 60 * H,
            first_contact_due_at=now - 50 * H,
        ),
        "in_progress": ReferralFactory(
            status=Referral.Status.IN_PROGRESS,
            first_contacted_at=now - 20 * H,
            submitted_at=now - 30 * H,
            first_contact_due_at=now - 22 * H,
            reviewed_at=now - 10 * H,
            reviewed_by=supervisor_user,
        ),
        "due_later": ReferralFactory(
            submitted_at=now - H, first_contact_due_at=now + 2 * H, urgency="urgent"
        ),
        "overdue_lately": ReferralFactory(
            submitted_at=now - 10 * H, first_contact_due_at=now - 2 * H
        ),
        "overdue_longest": ReferralFactory(
            submitted_at=now - 30 * H, first_contact_due_at=now - 6 * H
        ),
    }


def test_the_list_has_the_seven_review_columns(supervisor_user, referrals):
    response = as_user(supervisor_user).get(CHANGELIST)
    assert headings(response)[1:] == [
        "Reference",
        "Region",
        "Specialist",
        "Status",
        "First contact due",
        "Overdue",
        "Reviewed",
    ]


def test_overdue_first_longest_waiting_first_then_by_due_time(supervisor_user, referrals):
    response = as_user(supervisor_user).get(CHANGELIST)
    order = [referral.reference for referral in response.context["cl"].result_list]
    assert order == [
        referrals[name].reference
        for name in ["overdue_longest", "overdue_lately", "due_later", "in_progress", "closed"]
    ]


def test_each_row_says_overdue_yes_or_no_and_the_due_time_in_eastern(supervisor_user, referrals):
    text = page_text(as_user(supervisor_user).get(CHANGELIST))
    rows = dict(re.findall(r"(RST-\w{8}) (.*?)(?= RST-| \d+ referrals? )", text))
    overdue = referrals["overdue_longest"]
    assert rows[overdue.reference] == (
        f"MN · Region 3 Stacy Schultz New "
        f"{shown(overdue.first_contact_due_at, 'America/New_York', year=False)} "
        "overdue by 6 h Yes"
    )
    later = referrals["due_later"]
    assert rows[later.reference] == (
        f"MN · Region 3 Stacy Schultz New Urgent "
        f"{shown(later.first_contact_due_at, 'America/New_York', year=False)} due in 2 h No"
    )
    assert rows[referrals["in_progress"].reference].endswith(" No")
    assert rows[referrals["closed"].reference].startswith("MN · Region 3 Stacy Schultz Closed")


def test_a_supervisor_in_chicago_reads_central_times(supervisor_user, referrals):
    StaffProfile.objects.create(user=supervisor_user, time_zone="America/Chicago")
    client = as_user(supervisor_user)  # logs in again: the session takes the zone
    overdue = referrals["overdue_longest"]
    text = page_text(client.get(CHANGELIST))
    assert shown(overdue.first_contact_due_at, "America/Chicago", year=False) in text
    assert " EST" not in text
    assert "Your settings (times in CST)" in text

    page = readable(client.get(f"{CHANGELIST}{overdue.pk}/change/"))
    assert (
        f"Overdue: Yes: first contact was due "
        f"{shown(overdue.first_contact_due_at, 'America/Chicago')} (overdue by 6 h)"
    ) in page


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("overdue_longest", "Overdue: Yes: first contact was due {due} (overdue by 6 h)"),
        ("due_later", "Overdue: No: first contact due {due} (due in 2 h)"),
        ("in_progress", "Overdue: No: first contact made {contacted} (due {due})"),
        ("closed", "Overdue: No: first contact made {contacted} (due {due})"),
    ],
)
def test_the_referral_page_says_overdue_yes_or_no_with_the_due_time(
    supervisor_user, referrals, name, expected
):
    referral = referrals[name]
    text = readable(as_user(supervisor_user).get(f"{CHANGELIST}{referral.pk}/change/"))
    eastern = "America/New_York"
    contacted = referral.first_contacted_at
    assert (
        expected.format(
            due=shown(referral.first_contact_due_at, eastern),
            contacted=shown(contacted, eastern) if contacted else "",
        )
        in text
    )


def test_the_search_box_has_a_visible_label(supervisor_user):
    html = as_user(supervisor_user).get(CHANGELIST).content.decode()
    label = re.search(r'<label for="searchbar"[^>]*>(.*?)</label>', html, re.S)
    assert " ".join(re.sub(r"<[^>]+>", " ", label.group(1)).split()) == "Search referrals"


def test_the_list_costs_the_same_whatever_the_zone(
    supervisor_user, referrals, django_assert_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = as_user(supervisor_user)
    with CaptureQueriesContext(connection) as office_zone:
        client.get(CHANGELIST)
    StaffProfile.objects.create(user=supervisor_user, time_zone="Pacific/Guam")
    client = as_user(supervisor_user)
    with django_assert_num_queries(len(office_zone)):
        assert "ChST" in page_text(client.get(CHANGELIST))
