"""The referrer's status page (/status/<token>/): what it shows and never shows, its
headers, the friendly page for a link that does not work, and follow-up messages."""

import io
import logging
import re
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from referrals import services, status_links
from referrals.models import Notification, Referral, ReferralEvent, StatusLink
from referrals.status import forms as status_forms
from referrals.status import views
from regions.models import Jurisdiction
from rst_portal.log_filters import RedactStatusTokens
from tests.factories import ReferralFactory
from tests.helpers import browser_post, page_text

pytestmark = pytest.mark.usefixtures("reference_data")

MESSAGE = "He was moved to a placement in Ohio yesterday."

# Values that appear nowhere on a status page unless one of the case's fields leaked.
CASE = {
    "referrer_name": "Quentin Zarkovsky",
    "referrer_email": "quentin.zarkovsky@example.org",
    "referrer_phone": "612-555-0177",
    "agency": "Wabasha Youth Protection Unit",
    "county": "Wabasha",
    "child_initials": "QZ",
    "child_age": 13,
    "ncmec_case_number": "9876543",
    "summary": "Seen at the Greyhound station with an adult male named Victor.",
}


def status_path(token: str) -> str:
    return f"/status/{token}/"


def make_link(**referral_fields):
    referral = ReferralFactory(**{**CASE, **referral_fields})
    link, token = status_links.status_link_mint(referral=referral)
    return referral, link, token


def send_follow_up(client, token, text=MESSAGE):
    """GET the page and post its form as a browser would (CSRF and one-time token)."""
    page = client.get(status_path(token))
    assert page.status_code == 200
    posted = browser_post(page.content.decode(), {"message": text})
    return client.post(
        status_path(token), urlencode(posted), content_type="application/x-www-form-urlencoded"
    )


@pytest.fixture
def browser():
    return Client(enforce_csrf_checks=True)


# What the page shows.


def test_the_page_shows_the_status_and_who_to_contact(browser):
    referral, link, token = make_link()
    response = browser.get(status_path(token))
    assert response.status_code == 200
    text = page_text(response)
    assert referral.reference in text
    assert "Received" in text
    assert str(referral.region) in text
    specialist = referral.assigned_specialist
    for detail in (specialist.name, specialist.email, specialist.phone):
        assert detail in text


def test_the_page_shows_no_case_details(browser, specialist_user):
    referral, link, token = make_link(reference="RST-00000001")  # no "QZ" in it by chance
    services.referral_add_note(
        referral=referral, actor=specialist_user, text="Staff note: foster mother unhelpful."
    )
    status_links.status_link_follow_up(link=link, text=MESSAGE, action_token="1" * 32)
    services.referral_close(
        referral=referral, actor=specialist_user, outcome="connected", note="Closing: ZQX-77."
    )
    response = browser.get(status_path(token))
    # The page without its random form tokens, which could hold "QZ" by chance.
    html = re.sub(r'<input type="hidden"[^>]*>', "", response.content.decode())
    text = page_text(response)
    for field, value in CASE.items():
        if field != "child_age":  # "13" may be a minute; "age 13" is checked below
            assert str(value) not in html, field
    for absent in (
        f"age {CASE['child_age']}",
        referral.get_child_status_display(),
        referral.status_date.isoformat(),
        referral.status_date.strftime("%b %-d, %Y"),
        referral.jurisdiction.name,  # the case's state: the page says the region only
        "foster mother unhelpful",
        "ZQX-77",
        "Ohio",  # the follow-up's own text is not shown back either
    ):
        assert absent not in text, absent
    assert "Closed: Connected to resources" in text


@pytest.mark.parametrize(
    ("status", "outcome", "label"),
    [
        (Referral.Status.NEW, "", "Received"),
        (Referral.Status.ACKNOWLEDGED, "", "Your specialist has been in touch"),
        (Referral.Status.IN_PROGRESS, "", "In progress"),
        (Referral.Status.CLOSED, "out_of_scope", "Closed: Not within RST scope"),
        # Never "Duplicate of …": the other referral may be someone else's.
        (Referral.Status.CLOSED, "duplicate", "Closed: already being worked on"),
    ],
)
def test_the_status_in_plain_words(browser, status, outcome, label):
    closed_at = timezone.now() if outcome else None
    _, _, token = make_link(status=status, outcome=outcome, closed_at=closed_at)
    response = browser.get(status_path(token))
    assert re.search(r'id="referral-status">([^<]+)<', response.content.decode()).group(1) == label


def test_times_are_in_the_case_jurisdictions_zone(browser):
    _, _, token = make_link(jurisdiction=Jurisdiction.objects.get(code="GU"))
    text = page_text(browser.get(status_path(token)))
    assert "ChST" in text
    assert not re.search(r"\bE[SD]T\b", text)


def test_an_unassigned_referral_shows_the_team(browser, settings):
    _, _, token = make_link(assigned_specialist=None)
    text = page_text(browser.get(status_path(token)))
    assert settings.RST_TEAM_EMAIL in text and settings.RST_TEAM_PHONE in text


def test_headers_keep_the_page_private(browser):
    _, _, token = make_link()
    response = browser.get(status_path(token))
    assert "no-store" in response["Cache-Control"]
    assert "noindex" in response["X-Robots-Tag"]
    # No path, so never the token, in any Referer (no-referrer would break the form's CSRF).
    assert response["Referrer-Policy"] == "strict-origin"
    html = response.content.decode()
    assert '<meta name="robots" content="noindex, nofollow">' in html
    assert '<meta name="referrer" content="strict-origin">' in html


def test_nothing_on_the_page_comes_from_another_site(browser):
    _, _, token = make_link()
    html = browser.get(status_path(token)).content.decode()
    for url in re.findall(r'(?:src|href|action)="([^"]*)"', html):
        assert url.startswith(("/", "mailto:", "tel:", "#")) or url == "", url
    assert "//" not in "".join(re.findall(r'src="([^"]*)"', html))


def test_the_page_costs_the_same_whatever_the_history(browser, django_assert_num_queries):
    referral, link, token = make_link()
    browser.get(status_path(token))  # the first view notes the link's use
    with django_assert_num_queries(2) as first:
        browser.get(status_path(token))
    for n in range(5):
        status_links.status_link_follow_up(link=link, text=MESSAGE, action_token=f"{n:032d}")
    with django_assert_num_queries(len(first)):
        browser.get(status_path(token))


# A link that does not work.


def _expired(link):
    StatusLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(minutes=1))


def _revoked(link):
    StatusLink.objects.filter(pk=link.pk).update(revoked_at=timezone.now())


def _redacted(link):
    Referral.objects.filter(pk=link.referral_id).update(
        status="closed", outcome="connected", redacted_at=timezone.now()
    )


@pytest.mark.parametrize(
    ("spoil", "status", "heading"),
    [
        (_expired, 410, "This link has expired"),
        (_revoked, 410, "This link was withdrawn"),
        (_redacted, 410, "This referral's page is no longer available"),
    ],
)
def test_a_spoilt_link_gets_a_friendly_page(browser, settings, spoil, status, heading):
    referral, link, token = make_link()
    spoil(link)
    response = browser.get(status_path(token))
    assert response.status_code == status
    assert_friendly(response, settings, heading)
    assert referral.reference not in response.content.decode()
    # Nor does it take a message.
    assert Client().post(status_path(token), {"message": MESSAGE}).status_code == status
    assert not referral.events.filter(kind=ReferralEvent.Kind.FOLLOW_UP).exists()


@pytest.mark.parametrize("mangle", [lambda t: t[:-1] + ("x" if t[-1] != "x" else "y"), str.upper])
def test_a_tampered_link_gets_a_friendly_page(browser, settings, mangle):
    referral, _, token = make_link()
    response = browser.get(status_path(mangle(token)))
    assert response.status_code == 404
    assert_friendly(response, settings, "This link does not work")
    assert referral.reference not in response.content.decode()


@pytest.mark.parametrize("path", ["/status/%00/", "/status/" + "a" * 5000 + "/", "/status/..%2F/"])
def test_odd_addresses_get_the_friendly_page(browser, path):
    assert browser.get(path).status_code == 404


def assert_friendly(response, settings, heading):
    text = page_text(response)
    assert heading in text
    assert settings.RST_TEAM_EMAIL in text and settings.RST_TEAM_PHONE in text
    assert "no-store" in response["Cache-Control"]
    assert "noindex" in response["X-Robots-Tag"]
    assert response["Referrer-Policy"] == "no-referrer"
    assert "Server Error" not in text and "Traceback" not in text


def test_too_many_views_from_one_address_are_refused_kindly(browser, settings):
    settings.RST_STATUS_PAGE_RATE_LIMIT = "3/m"
    _, _, token = make_link()
    for _ in range(3):
        assert browser.get(status_path(token)).status_code == 200
    response = browser.get(status_path(token))
    assert response.status_code == 429
    assert_friendly(response, settings, "Please wait a few minutes")
    # Wrong guesses count too: trying links in bulk soon hits the wall.
    assert browser.get(status_path("x" * 43)).status_code == 429


# Follow-ups.


def test_a_follow_up_is_sent_and_thanked(browser):
    referral, link, token = make_link()
    response = send_follow_up(browser, token)
    assert response.status_code == 302 and response["Location"] == status_path(token)
    page = browser.get(status_path(token))
    text = page_text(page)
    assert f"Your message was sent to {referral.assigned_specialist.name}" in text
    assert "Messages you have sent" in text
    event = referral.events.get(kind=ReferralEvent.Kind.FOLLOW_UP)
    assert event.message == MESSAGE and event.actor is None
    assert Referral.objects.get(pk=referral.pk).has_new_information
    assert referral.notifications.filter(kind=Notification.Kind.FOLLOW_UP).count() == 1


def test_a_follow_up_on_a_closed_referral_goes_to_the_supervisor(browser):
    referral, _, token = make_link(
        status=Referral.Status.CLOSED, outcome="connected", closed_at=timezone.now()
    )
    page = browser.get(status_path(token))
    assert "This referral is closed. Your message goes to the RST supervisor" in page_text(page)
    send_follow_up(browser, token)
    assert "Your message was sent to the RST supervisor" in page_text(
        browser.get(status_path(token))
    )
    assert Referral.objects.get(pk=referral.pk).status == Referral.Status.CLOSED
    assert referral.notifications.get().kind == Notification.Kind.FOLLOW_UP_CLOSED


def test_the_form_needs_its_csrf_token(browser):
    referral, _, token = make_link()
    browser.get(status_path(token))
    page = browser.get(status_path(token)).content.decode()
    posted = [
        (n, v) for n, v in browser_post(page, {"message": MESSAGE}) if n != "csrfmiddlewaretoken"
    ]
    response = browser.post(
        status_path(token), urlencode(posted), content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 403
    assert not referral.events.filter(kind=ReferralEvent.Kind.FOLLOW_UP).exists()


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("Thanks", status_links.FOLLOW_UP_TOO_SHORT),
        ("", status_links.FOLLOW_UP_TOO_SHORT),
        ("z" * 2001, status_links.FOLLOW_UP_TOO_LONG.format(length=2001)),
    ],
)
def test_a_message_too_short_or_too_long_comes_back_with_its_text(browser, text, error):
    referral, _, token = make_link()
    response = send_follow_up(browser, token, text=text)
    assert response.status_code == 400
    assert error in page_text(response)
    if text:
        assert text in response.content.decode()
    assert 'aria-invalid="true"' in response.content.decode()
    assert not referral.events.filter(kind=ReferralEvent.Kind.FOLLOW_UP).exists()
    assert not referral.notifications.exists()


def test_the_same_form_sent_twice_sends_one_message(browser):
    referral, _, token = make_link()
    page = browser.get(status_path(token)).content.decode()
    body = urlencode(browser_post(page, {"message": MESSAGE}))
    for _ in range(2):
        response = browser.post(
            status_path(token), body, content_type="application/x-www-form-urlencoded"
        )
        assert response.status_code == 302
    assert views.SENT_ALREADY in page_text(browser.get(status_path(token)))
    assert referral.events.filter(kind=ReferralEvent.Kind.FOLLOW_UP).count() == 1
    assert referral.notifications.count() == 1


def test_too_many_follow_ups_through_one_link_are_refused(browser, settings):
    settings.RST_FOLLOW_UP_RATE_LIMIT = "2/h"
    referral, _, token = make_link()
    for _ in range(2):
        assert send_follow_up(browser, token).status_code == 302
    response = send_follow_up(browser, token, text="A third message, sent too soon.")
    assert response.status_code == 429
    assert views.TOO_MANY_FOLLOW_UPS in page_text(response)
    assert "A third message, sent too soon." in response.content.decode()
    assert referral.events.filter(kind=ReferralEvent.Kind.FOLLOW_UP).count() == 2
    # Per link: another referral's referrer is not held up.
    _, _, other = make_link(reference="RST-00000000")
    assert send_follow_up(browser, other).status_code == 302


@pytest.mark.parametrize(
    ("forge", "error"),
    [
        (lambda token, other: "not-a-signed-token", status_forms.TOKEN_INVALID),
        (lambda token, other: status_forms.new_follow_up_token(other), status_forms.TOKEN_INVALID),
    ],
)
def test_a_forged_form_token_is_refused_and_the_text_kept(browser, forge, error):
    referral, link, token = make_link()
    _, other, _ = make_link(reference="RST-11111111")
    page = browser.get(status_path(token)).content.decode()
    posted = [
        (name, forge(link, other) if name == "form_token" else value)
        for name, value in browser_post(page, {"message": MESSAGE})
    ]
    response = browser.post(
        status_path(token), urlencode(posted), content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400
    assert error in page_text(response)
    assert MESSAGE in response.content.decode()
    assert not referral.events.filter(kind=ReferralEvent.Kind.FOLLOW_UP).exists()
    # The page came back with a fresh token: sending again works.
    again = browser_post(response.content.decode(), {"message": MESSAGE})
    response = browser.post(
        status_path(token), urlencode(again), content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 302


def test_a_link_revoked_while_the_page_is_open_sends_nothing(browser, settings, specialist_user):
    referral, _, token = make_link()
    page = browser.get(status_path(token)).content.decode()
    status_links.status_links_revoke(referral=referral, actor=specialist_user)
    response = browser.post(
        status_path(token),
        urlencode(browser_post(page, {"message": MESSAGE})),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 410
    assert_friendly(response, settings, "This link was withdrawn")
    assert not referral.events.filter(kind=ReferralEvent.Kind.FOLLOW_UP).exists()


# The link on the confirmation page and in the receipt.


def test_the_confirmation_page_shows_a_link_to_its_own_browser_only(client, form_data):
    response = client.post("/refer/", form_data, follow=True)
    match = re.search(
        r'id="status-link"[^>]*href="http://testserver(/status/[^"]+/)"', response.content.decode()
    )
    assert match, "no status link on the confirmation page"
    assert client.get(match.group(1)).status_code == 200
    referral = Referral.objects.get()
    # Shown once: the token leaves the session (the session store keeps no raw token).
    token = match.group(1).split("/")[2]
    assert token not in str(dict(client.session))
    again = client.get(f"/refer/submitted/{referral.reference}/").content.decode()
    assert token not in again
    assert "status-link-elsewhere" in again
    # Another browser sees neither the confirmation nor its link.
    assert Client().get(f"/refer/submitted/{referral.reference}/").status_code == 404


def test_the_receipt_carries_a_working_link(client, form_data, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.SITE_URL = "http://testserver"
    client.post("/refer/", form_data)
    [receipt] = [m for m in mail.outbox if m.to == [form_data["referrer_email"]]]
    [path] = re.findall(r"http://testserver(/status/[A-Za-z0-9_-]+/)", receipt.body)
    response = Client().get(path)
    assert response.status_code == 200
    assert Referral.objects.get().reference in page_text(response)


def test_no_log_line_carries_a_working_token(browser):
    """Django logs the path of every refused request ("Bad Request: /status/…/"): the
    configured console handler writes it with the token replaced."""
    [console] = [
        handler
        for handler in logging.getLogger().handlers
        if any(isinstance(f, RedactStatusTokens) for f in handler.filters)
    ]
    written = io.StringIO()
    copy = logging.StreamHandler(written)
    for log_filter in console.filters:
        copy.addFilter(log_filter)
    logging.getLogger().addHandler(copy)
    try:
        _, _, token = make_link()
        assert send_follow_up(browser, token, text="Short").status_code == 400
        assert browser.get(status_path(token[:-1] + "x")).status_code == 404
    finally:
        logging.getLogger().removeHandler(copy)
    lines = written.getvalue()
    assert "/status/[token]" in lines
    assert token not in lines
    assert token[:-1] not in lines
