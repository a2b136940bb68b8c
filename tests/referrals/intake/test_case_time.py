"""The public side of business time and time zones: the promise in words, what a referrer
is told while the office is closed, times in the case's zone, and "today" where the case is.

Every test fixes "now" (tests/clock.py); the expected times are worked out by hand from
the office hours (09:00-17:00 Eastern on weekdays, federal holidays off).
"""

import re
import uuid

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client

from referrals.intake.forms import new_form_token
from referrals.models import Referral, Service
from referrals.services import referral_create
from referrals.validators import STATUS_DATE_IN_FUTURE
from regions.models import Jurisdiction
from tests.clock import eastern, freeze
from tests.helpers import page_text

pytestmark = pytest.mark.usefixtures("reference_data")

REFER = "/refer/"
HOTLINE = (
    "If a child is in immediate danger, call 911 and NCMEC's 24-hour hotline, "
    "1-800-THE-LOST (1-800-843-5678)."
)
CHILD_DETAILS = ["JD", "Hennepin", "1234567", "older adult", "2026-11-20", "15"]


@pytest.fixture(autouse=True)
def _tasks_inline(settings):
    """The receipt e-mail is sent at once, into mail.outbox."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.SITE_URL = "https://rst.example.org"


def new_process(settings):
    """As after a restart: settings change only with one, and it starts with an empty cache
    of the blank form (the cache is per process and release)."""
    settings.RST_RELEASE = f"test-{uuid.uuid4().hex}"


def read(response) -> str:
    """The page's text as read: no space left where a tag ended before punctuation."""
    return re.sub(r" ([,.;:)])", r"\1", page_text(response))


def send(form_data, **changes):
    """Send the form from a browser of its own; returns (client, response)."""
    client = Client()
    data = {**form_data, "submission_token": new_form_token(), **changes}
    return client, client.post(REFER, data)


def confirmation(form_data, **changes) -> str:
    client, response = send(form_data, **changes)
    assert response.status_code == 302, page_text(response)[:400]
    return read(client.get(response["Location"]))


def receipt():
    (message,) = [m for m in mail.outbox if m.to == ["jordan@example.org"]]
    return message


def assert_no_child_details(message):
    text = " ".join([message.subject, message.body])
    for detail in CHILD_DETAILS:
        assert not re.search(rf"\b{re.escape(detail)}\b", text), detail


# The promise, from the settings, on every page and in the receipt.


@pytest.mark.parametrize(
    ("routine_hours", "urgent_hours", "routine", "urgent"),
    [
        (8, 4, "within one business day", "within 4 business hours"),
        (16, 2, "within 2 business days", "within 2 business hours"),
    ],
)
def test_pages_and_the_receipt_promise_what_the_settings_say(
    client, form_data, settings, monkeypatch, routine_hours, urgent_hours, routine, urgent
):
    freeze(monkeypatch, eastern(2026, 11, 24, 10))
    settings.RST_FIRST_CONTACT_BUSINESS_HOURS = routine_hours
    settings.RST_URGENT_FIRST_CONTACT_BUSINESS_HOURS = urgent_hours
    new_process(settings)
    home = read(client.get("/"))
    assert f"The specialist contacts you {routine} ({urgent} for an urgent referral)" in home
    form = read(client.get(REFER))
    assert f"Urgent referrals are due for first contact {urgent}; routine {routine}." in form

    assert f"will contact you {routine}, by" in confirmation(form_data)
    assert f"will contact you {routine}: by" in receipt().body
    mail.outbox.clear()
    urgent_page = confirmation(form_data, urgency="urgent", child_initials="KL")
    assert f"will contact you {urgent} (urgent referral), by" in urgent_page
    assert f"will contact you {urgent}: by" in receipt().body


# While the office is closed: when the clock starts, and who to call meanwhile.

CLOSED = [
    pytest.param(
        eastern(2026, 11, 24, 20),
        "Wednesday 25 November at 9:00 AM EST",
        "Wednesday 25 November at 5:00 PM EST",
        "Wednesday 25 November at 1:00 PM EST",
        id="tuesday-evening",
    ),
    pytest.param(
        eastern(2026, 11, 21, 11),
        "Monday 23 November at 9:00 AM EST",
        "Monday 23 November at 5:00 PM EST",
        "Monday 23 November at 1:00 PM EST",
        id="saturday",
    ),
    pytest.param(
        eastern(2026, 11, 26, 11),
        "Friday 27 November at 9:00 AM EST",
        "Friday 27 November at 5:00 PM EST",
        "Friday 27 November at 1:00 PM EST",
        id="thanksgiving",
    ),
]


@pytest.mark.parametrize(("now", "back", "due", "urgent_due"), CLOSED)
def test_the_form_says_when_the_clock_starts_while_the_office_is_closed(
    client, monkeypatch, now, back, due, urgent_due
):
    freeze(monkeypatch, now)
    response = client.get(REFER)
    text = read(response)
    assert "RST's office is closed now" in text
    assert "Office hours are 9:00 AM to 5:00 PM EST, Monday to Friday, except federal" in text
    assert (
        f"the team is back {back}, and first contact is then due by {due} "
        f"({urgent_due} if urgent)." in text
    )
    assert HOTLINE in text
    # Beside the button that sends the form, after the last question.
    html = response.content.decode()
    assert html.index('name="consent"') < html.index('id="after-hours"')
    assert html.index('id="after-hours"') < html.index(">Send referral</button>")


def test_the_office_closed_notice_is_for_the_moment_of_each_visit_never_cached(
    monkeypatch, django_assert_num_queries
):
    """The blank form's fields are cached and shared; the notice is worked out per visit."""
    freeze(monkeypatch, eastern(2026, 11, 24, 10))  # Tuesday morning: open
    assert "office is closed" not in read(Client().get(REFER))
    freeze(monkeypatch, eastern(2026, 11, 24, 17))  # closing time
    with django_assert_num_queries(0):  # the fields come from the cache
        evening = read(Client().get(REFER))
    assert "the team is back Wednesday 25 November at 9:00 AM EST" in evening
    freeze(monkeypatch, eastern(2026, 11, 25, 9))  # open again
    with django_assert_num_queries(0):
        morning = Client().get(REFER)
    assert "office is closed" not in read(morning)
    assert 'id="after-hours"' not in morning.content.decode()


def test_the_forms_notice_is_in_the_chosen_jurisdictions_zone(monkeypatch, form_data):
    freeze(monkeypatch, eastern(2026, 11, 24, 20))  # Tuesday evening in the office
    guam = read(Client().get(REFER + "?jurisdiction=GU"))
    # Wednesday 09:00 Eastern is Thursday midnight in Guam.
    assert (
        "the team is back Thursday 26 November at 12:00 AM ChST, and first contact is then "
        "due by Thursday 26 November at 8:00 AM ChST (Thursday 26 November at 4:00 AM ChST "
        "if urgent)." in guam
    )
    # Sent back with an error: the answers' jurisdiction decides.
    _client, response = send(form_data, jurisdiction="PR", consent="")
    assert response.status_code == 400
    assert "the team is back Wednesday 25 November at 10:00 AM AST" in read(response)


def test_a_referral_sent_while_the_office_is_closed_is_told_when_its_clock_starts(
    form_data, monkeypatch
):
    freeze(monkeypatch, eastern(2026, 11, 21, 2))  # Saturday 02:00 Eastern, 01:00 in Minnesota
    page = confirmation(form_data)
    told = (
        "The team is back Monday 23 November at 8:00 AM CST; your referral's first contact "
        "is due by Monday 23 November at 4:00 PM CST."
    )
    assert "You sent this referral while RST's office was closed" in page
    assert told in page
    assert HOTLINE in page
    assert "Sent Saturday 21 November at 1:00 AM CST." in page

    body = receipt().body
    assert (
        "You sent it while RST's office was closed (office hours: 9:00 AM to 5:00 PM EST, "
        "Monday to Friday, except federal holidays)." in body
    )
    assert told in " ".join(body.split())
    assert "call 911 and NCMEC's 24-hour hotline, 1-800-THE-LOST (1-800-843-5678)." in body
    assert_no_child_details(receipt())


def test_a_referral_sent_during_office_hours_gets_no_closed_notice(form_data, monkeypatch):
    freeze(monkeypatch, eastern(2026, 11, 24, 16, 59))
    page = confirmation(form_data)
    assert "office was closed" not in page and "The team is back" not in page
    assert HOTLINE in page  # for immediate danger, always
    assert "office was closed" not in receipt().body


# Times in the case's zone, with its abbreviation.

ZONES = [
    pytest.param(
        "MN",
        "Tuesday 24 November at 9:00 AM CST",
        "Wednesday 25 November at 9:00 AM CST",
        id="minnesota-central",
    ),
    pytest.param(
        "GU",
        "Wednesday 25 November at 1:00 AM ChST",
        "Thursday 26 November at 1:00 AM ChST",
        id="guam-chamorro",
    ),
    pytest.param(
        "PR",
        "Tuesday 24 November at 11:00 AM AST",
        "Wednesday 25 November at 11:00 AM AST",
        id="puerto-rico-atlantic",
    ),
]


@pytest.mark.parametrize(("code", "sent", "due"), ZONES)
def test_the_confirmation_and_receipt_show_times_in_the_cases_zone(
    form_data, monkeypatch, code, sent, due
):
    freeze(monkeypatch, eastern(2026, 11, 24, 10))  # Tuesday 10:00 Eastern: open
    page = confirmation(form_data, jurisdiction=code)
    assert f"Sent {sent}." in page
    assert f"within one business day, by {due} at the latest" in page
    assert "EST" not in page.replace("9:00 AM to 5:00 PM EST", "")  # only the office hours
    body = " ".join(receipt().body.split())
    assert f"received your referral {Referral.objects.get().reference} on {sent}." in body
    assert f"within one business day: by {due} at the latest" in body
    assert_no_child_details(receipt())


def test_the_already_sent_message_gives_the_time_in_the_cases_zone(form_data, monkeypatch):
    freeze(monkeypatch, eastern(2026, 11, 24, 10))
    client = Client()
    first = client.post(REFER, {**form_data, "jurisdiction": "GU"})
    again = client.post(
        REFER, {**form_data, "jurisdiction": "GU", "submission_token": new_form_token()}
    )
    assert again["Location"] == first["Location"]
    page = read(client.get(again["Location"]))
    assert "You already sent a referral with these answers at 1:00 AM ChST" in page


# "Today" is the case's: the status date may be today where the case is.


def test_a_guam_referrer_may_enter_guams_today_at_23_00_eastern(form_data, monkeypatch):
    # Tuesday 24 November 23:00 in New York is Wednesday 25 November 14:00 in Guam.
    freeze(monkeypatch, eastern(2026, 11, 24, 23))
    _client, accepted = send(form_data, jurisdiction="GU", status_date="2026-11-25")
    assert accepted.status_code == 302
    assert Referral.objects.get().status_date.isoformat() == "2026-11-25"

    for code, day in [("GU", "2026-11-26"), ("MN", "2026-11-25")]:
        _client, refused = send(form_data, jurisdiction=code, status_date=day, child_initials="KL")
        assert refused.status_code == 400
        assert refused.context["form"].errors["status_date"] == [STATUS_DATE_IN_FUTURE]
    assert Referral.objects.count() == 1


def test_american_samoa_is_still_on_yesterday(form_data, monkeypatch):
    # Wednesday 25 November 00:30 in New York is Tuesday 24 November 18:30 in Pago Pago.
    freeze(monkeypatch, eastern(2026, 11, 25, 0, 30))
    _client, refused = send(form_data, jurisdiction="AS", status_date="2026-11-25")
    assert refused.context["form"].errors["status_date"] == [STATUS_DATE_IN_FUTURE]
    _client, accepted = send(form_data, jurisdiction="AS", status_date="2026-11-24")
    assert accepted.status_code == 302


def answers(code: str, day: str) -> dict:
    return {
        "submission_token": uuid.uuid4().hex,
        "referrer_name": "Jordan Caseworker",
        "referrer_role": Referral.ReferrerRole.CHILD_WELFARE,
        "agency": "Agency",
        "referrer_email": "jordan@example.org",
        "referrer_phone": "612-555-0100",
        "jurisdiction": Jurisdiction.objects.get(code=code),
        "child_initials": "JD",
        "child_age": 15,
        "child_status": Referral.ChildStatus.MISSING,
        "status_date": day,
        "law_enforcement_involved": Referral.LawEnforcement.UNKNOWN,
        "services": list(Service.objects.filter(number=2)),
        "urgency": Referral.Urgency.ROUTINE,
        "summary": "Youth missing from placement; needs a recovery plan.",
    }


@pytest.mark.parametrize(
    ("code", "day", "accepted"),
    [("GU", "2026-11-25", True), ("GU", "2026-11-26", False), ("MN", "2026-11-25", False)],
)
def test_referral_create_agrees_with_the_form_on_today(monkeypatch, code, day, accepted):
    freeze(monkeypatch, eastern(2026, 11, 24, 23))
    details = answers(code, day)
    if accepted:
        _referral, created = referral_create(**details)
        assert created
    else:
        with pytest.raises(ValidationError) as refusal:
            referral_create(**details)
        assert refusal.value.message_dict == {"status_date": [STATUS_DATE_IN_FUTURE]}
        assert Referral.objects.count() == 0
