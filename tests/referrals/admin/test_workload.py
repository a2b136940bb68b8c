"""The supervisor's workload overview: its figures on a known dataset, and its page."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from referrals import workload
from referrals.models import Referral
from regions.models import Jurisdiction, ResourceSpecialist
from tests.clock import eastern, freeze
from tests.factories import ReferralFactory
from tests.helpers import page_text, verify_session

pytestmark = pytest.mark.usefixtures("reference_data")

WORKLOAD = "/admin/referrals/referral/workload/"
H = timedelta(hours=1)
D = timedelta(days=1)


def make(code, *, status="new", submitted, contacted_after=None, specialist="region", **kwargs):
    """A referral in `code`, submitted at `submitted`, first contacted `contacted_after` later."""
    jurisdiction = Jurisdiction.objects.select_related("region").get(code=code)
    if specialist == "region":
        kwargs["assigned_specialist"] = ResourceSpecialist.objects.filter(
            region=jurisdiction.region
        ).first()
    else:
        kwargs["assigned_specialist"] = specialist
    if contacted_after is not None:
        kwargs["first_contacted_at"] = submitted + contacted_after
    if status == "closed":
        kwargs.update(outcome=Referral.Outcome.TRAINING, closed_at=submitted + 2 * D)
    return ReferralFactory(
        jurisdiction=jurisdiction, status=status, submitted_at=submitted, **kwargs
    )


@pytest.fixture
def now(monkeypatch):
    """Wednesday 18 November 2026, 14:00 Eastern, for the pages too: due times are in
    business time, so the overdue figures depend on the day and hour."""
    return freeze(monkeypatch, eastern(2026, 11, 18, 14))


@pytest.fixture
def dataset(now, supervisor_user):
    """Ten referrals; the expected figures in the tests are worked out from these by hand.

    Routine referrals are due one business day after they arrive, urgent ones four business
    hours: A (Tuesday 08:00, due Tuesday 17:00), F (urgent, 09:00 today, due 13:00) and J
    (Monday 12:00, due Tuesday 12:00) are overdue; B and H are due tomorrow.
    Region 3 (MN, Stacy Schultz): A new and overdue, B new, C acknowledged after 2 h
    (reviewed), D in progress after 6 h, E closed, first contact after 30 h.
    Region 4 (TX, Kyla Conlee): F urgent and overdue, G acknowledged after 1 h but 40 days
    ago, H new in supervisor intake. Region 5 (CA, Courtney Desilet): I in progress after 4 h.
    No region: J new (jurisdiction unmapped at the time), overdue, in supervisor intake.
    First contacts in the last 30 days: 2 h, 4 h, 6 h, 30 h, so the median is 5 h.
    """
    return {
        "A": make("MN", submitted=now - 30 * H),
        "B": make("MN", submitted=now - 1 * H),
        "C": make(
            "MN",
            status="acknowledged",
            submitted=now - 3 * D,
            contacted_after=2 * H,
            reviewed_at=now - 2 * D,
            reviewed_by=supervisor_user,
        ),
        "D": make("MN", status="in_progress", submitted=now - 10 * D, contacted_after=6 * H),
        "E": make("MN", status="closed", submitted=now - 20 * D, contacted_after=30 * H),
        "F": make("TX", submitted=now - 5 * H, urgency=Referral.Urgency.URGENT),
        "G": make("TX", status="acknowledged", submitted=now - 40 * D, contacted_after=1 * H),
        "H": make("TX", submitted=now - 2 * H, specialist=None),
        "I": make("CA", status="in_progress", submitted=now - 2 * D, contacted_after=4 * H),
        "J": make("GU", submitted=now - 50 * H, specialist=None, region=None),
    }


def test_totals(dataset, now):
    assert workload.workload_totals(now=now) == {
        "open": 9,
        "supervisor_intake": 2,
        "overdue": 3,
        "not_reviewed": 8,
    }
    # The same rules as the queryset methods the rest of the portal uses.
    assert Referral.objects.open().count() == 9
    assert Referral.objects.supervisor_intake().count() == 2
    assert Referral.objects.overdue(now=now).count() == 3


def test_region_by_status(dataset):
    table = {
        row.label: ([cell.count for cell in row.by_status], row.open, row.supervisor_intake)
        for row in workload.region_workloads()
    }
    # Columns: new, acknowledged, in progress, closed.
    assert table == {
        "Region 1 – Northeast": ([0, 0, 0, 0], 0, 0),
        "Region 2 – Southeast": ([0, 0, 0, 0], 0, 0),
        "Region 3 – Midwest": ([2, 1, 1, 1], 4, 0),
        "Region 4 – South Central & Mountain": ([2, 1, 0, 0], 3, 1),
        "Region 5 – West & Pacific": ([0, 0, 1, 0], 1, 0),
        "No region (jurisdiction not mapped)": ([1, 0, 0, 0], 1, 1),
    }


def test_no_region_row_only_when_there_are_such_referrals(reference_data):
    make("MN", submitted=timezone.now())
    assert [row.region.number for row in workload.region_workloads()] == [1, 2, 3, 4, 5]


def test_open_and_overdue_per_specialist(dataset, now):
    figures = {
        s.name: (s.open_count, s.overdue_count) for s in workload.specialist_workloads(now=now)
    }
    assert figures == {
        "Brittany Butler": (0, 0),
        "Teresa Musick": (0, 0),
        "Stacy Schultz": (4, 1),
        "Kyla Conlee": (2, 1),
        "Courtney Desilet": (1, 0),
    }


def test_overdue_first_contacts_longest_waiting_first(dataset, now):
    overdue = workload.overdue_first_contacts(now=now)
    assert [r.reference for r in overdue] == [dataset[k].reference for k in ["J", "A", "F"]]
    assert len(workload.overdue_first_contacts(now=now, limit=2)) == 2


def test_median_time_to_first_contact_over_the_last_30_days(dataset, now):
    times = workload.first_contact_times(now=now)
    assert (times.median, times.count, times.days) == (5 * H, 4, 30)
    assert times.median_label == "5 h 0 min"


def test_median_of_an_odd_count_and_of_nothing(reference_data, now):
    assert workload.first_contact_times(now=now).median is None
    for minutes in [10, 95, 3000]:
        make("MN", status="acknowledged", submitted=now - 3 * D, contacted_after=minutes * H / 60)
    times = workload.first_contact_times(now=now)
    assert (times.median, times.median_label) == (95 * H / 60, "1 h 35 min")


def test_workload_page_shows_the_figures(dataset, supervisor_user):
    client = Client()
    client.force_login(supervisor_user)
    verify_session(client, supervisor_user)
    response = client.get(WORKLOAD)
    assert response.status_code == 200
    text = page_text(response)
    assert "Open referrals 9" in text
    assert "Supervisor intake (open, no specialist) 2" in text
    assert "First contact overdue 3" in text
    assert "Open, assignment not reviewed 8" in text
    assert "Median time to first contact, last 30 days 5 h 0 min (4 first contacts)" in text
    # Region, new, acknowledged, in progress, closed, open, in intake, total.
    assert "Region 3 – Midwest 2 1 1 1 4 0 5" in text
    assert "Region 4 – South Central & Mountain 2 1 0 0 3 1 3" in text
    assert "No region (jurisdiction not mapped) 1 0 0 0 1 1 1" in text
    assert "Stacy Schultz Region 3 4 1 Available" in text
    assert "Kyla Conlee Region 4 2 1 Available" in text
    for key in ["J", "A", "F"]:
        assert dataset[key].reference in text
    assert dataset["B"].reference not in text


def test_workload_page_is_linked_from_the_referral_list(supervisor_user):
    client = Client()
    client.force_login(supervisor_user)
    verify_session(client, supervisor_user)
    response = client.get("/admin/referrals/referral/")
    assert f'href="{WORKLOAD}"' in response.content.decode()


def test_workload_page_query_count_is_fixed(
    dataset, now, supervisor_user, django_assert_num_queries
):
    client = Client()
    client.force_login(supervisor_user)
    verify_session(client, supervisor_user)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(WORKLOAD).status_code == 200

    for i in range(40):
        code = ["MN", "TX", "CA", "NY", "GA"][i % 5]
        contacted = (i + 1) * H if i % 2 else None
        make(
            code,
            status="acknowledged" if contacted else "new",
            submitted=now - i * D,
            contacted_after=contacted,
            specialist=None if i % 7 == 0 else "region",
        )
    with django_assert_num_queries(len(queries)):
        assert client.get(WORKLOAD).status_code == 200


@pytest.mark.parametrize(
    ("median", "label"),
    [
        (timedelta(minutes=7), "7 min"),
        (timedelta(days=1, hours=2, minutes=5), "1 d 2 h 5 min"),
        (timedelta(days=2), "2 d 0 h 0 min"),
        (-2 * H, "-2 h 0 min"),
    ],
)
def test_median_label(median, label):
    assert workload.FirstContactTimes(median=median, count=1, days=30).median_label == label
