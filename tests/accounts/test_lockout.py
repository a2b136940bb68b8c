"""Lockout that holds (per account, per address), supervisor unlock, the client's address,
and the password reset's rate limit."""

import pytest
from axes.models import AccessAttempt
from django.core import mail
from django.test import Client, RequestFactory

from accounts.client_ip import UNKNOWN_ADDRESS, client_ip
from accounts.models import SecurityEvent
from tests.factories import UserFactory
from tests.helpers import as_user, page_text

pytestmark = pytest.mark.usefixtures("reference_data")

PASSWORD = "correct horse battery staple"
LOCKOUTS = "/admin/axes/accessattempt/"


def attempt(username, password, address):
    return Client(REMOTE_ADDR=address).post(
        "/accounts/login/", {"username": username, "password": password}
    )


def fail(username, address, times):
    """Wrong passwords; the one that reaches the limit is answered with the lockout (429)."""
    for _ in range(times):
        assert attempt(username, "wrong", address).status_code in (200, 429)


def test_an_account_locks_from_every_address(settings, specialist_user):
    # Failures spread over addresses still add up for the account.
    for n in range(settings.AXES_FAILURE_LIMIT):
        fail(specialist_user.username, f"198.51.100.{n + 1}", 1)
    locked = attempt(specialist_user.username, PASSWORD, "203.0.113.77")
    assert locked.status_code == 429
    assert "Too many failed logins" in page_text(locked)
    assert "ask the RST supervisor to unlock" in page_text(locked)
    # Another case of the same username is the same account.
    assert attempt(specialist_user.username.upper(), PASSWORD, "203.0.113.78").status_code == 429


def test_an_address_locks_across_accounts(settings, specialist_user):
    for n in range(settings.AXES_FAILURE_LIMIT):
        fail(f"nobody{n}", "198.51.100.9", 1)  # unknown usernames count too
    assert attempt(specialist_user.username, PASSWORD, "198.51.100.9").status_code == 429
    # The same account from another address is not affected by that address's lockout.
    assert attempt(specialist_user.username, PASSWORD, "198.51.100.10").status_code == 302


def test_a_supervisor_sees_and_clears_a_lockout(settings, supervisor_user, specialist_user):
    fail(specialist_user.username, "198.51.100.20", settings.AXES_FAILURE_LIMIT)
    assert attempt(specialist_user.username, PASSWORD, "198.51.100.21").status_code == 429
    supervisor = as_user(supervisor_user)
    listing = supervisor.get(LOCKOUTS)
    assert listing.status_code == 200
    assert specialist_user.username in page_text(listing)
    row = AccessAttempt.objects.filter(username=specialist_user.username).first()
    response = supervisor.post(
        LOCKOUTS, {"action": "unlock_usernames", "_selected_action": [row.pk]}
    )
    assert response.status_code == 302
    assert not AccessAttempt.objects.filter(username=specialist_user.username).exists()
    assert attempt(specialist_user.username, PASSWORD, "198.51.100.21").status_code == 302
    event = SecurityEvent.objects.get()
    assert (event.kind, event.actor, event.subject) == (
        "lockout_cleared",
        supervisor_user,
        specialist_user,
    )


def test_a_supervisor_clears_an_address(settings, supervisor_user, specialist_user):
    for n in range(settings.AXES_FAILURE_LIMIT):
        fail(f"guess{n}", "198.51.100.30", 1)
    row = AccessAttempt.objects.filter(ip_address="198.51.100.30").first()
    as_user(supervisor_user).post(
        LOCKOUTS, {"action": "unlock_addresses", "_selected_action": [row.pk]}
    )
    assert not AccessAttempt.objects.exists()
    assert attempt(specialist_user.username, PASSWORD, "198.51.100.30").status_code == 302
    assert SecurityEvent.objects.get().detail == "address 198.51.100.30, every username"


def test_lockouts_are_not_for_specialists_and_cannot_be_deleted_by_hand(
    settings, specialist_user, supervisor_user
):
    fail("someone", "198.51.100.40", 1)
    row = AccessAttempt.objects.get()
    assert as_user(specialist_user).get(LOCKOUTS).status_code in (302, 403)
    supervisor = as_user(supervisor_user)
    assert supervisor.post(f"{LOCKOUTS}{row.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AccessAttempt.objects.exists()


# The client's address.

FORWARDED = [
    None,
    "",
    "203.0.113.5",
    "203.0.113.5, 10.0.0.1",
    "unknown",
    "garbage, , ,",
    "[2001:db8::1]:443, 198.51.100.1",
    "2001:db8::1",
    "for=192.0.2.60;proto=http",
    "300.1.1.1",
    "0.0.0.0",  # noqa: S104 - a header value, not a bind address
    "203.0.113.5," * 500,
    "\x00\xff",
]


@pytest.mark.parametrize("proxies", [0, 1, 2])
@pytest.mark.parametrize("header", FORWARDED)
def test_no_forwarding_header_makes_a_500(settings, proxies, header, specialist_user, form_data):
    settings.RST_TRUSTED_PROXIES = proxies
    extra = {"REMOTE_ADDR": "127.0.0.1"}
    if header is not None:
        extra["HTTP_X_FORWARDED_FOR"] = header
    client = Client(**extra)
    assert client.post("/accounts/login/", {"username": "x", "password": "y"}).status_code == 200
    assert client.post("/refer/", form_data).status_code in (302, 400)
    assert client.post("/accounts/password_reset/", {"email": "a@b.org"}).status_code == 302


def _ip(settings, proxies, forwarded=None, remote="10.0.0.2"):
    settings.RST_TRUSTED_PROXIES = proxies
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_ip(RequestFactory().get("/", **meta))


def test_the_client_address_with_and_without_trusted_proxies(settings):
    # No proxy trusted: the connection's address, whatever the header says.
    assert _ip(settings, 0, "203.0.113.5") == "10.0.0.2"
    # One proxy: the address it appended (the header's last); what the client wrote
    # before it is ignored.
    assert _ip(settings, 1, "203.0.113.5") == "203.0.113.5"
    assert _ip(settings, 1, "6.6.6.6, 203.0.113.5") == "203.0.113.5"
    # Two proxies: the second from the right.
    assert _ip(settings, 2, "6.6.6.6, 203.0.113.5, 10.0.0.1") == "203.0.113.5"
    # A missing or unusable header: the connection's address.
    assert _ip(settings, 1, None) == "10.0.0.2"
    assert _ip(settings, 1, "nonsense") == "10.0.0.2"
    assert _ip(settings, 2, "203.0.113.5") == "10.0.0.2"
    assert _ip(settings, 0, None, remote="") == UNKNOWN_ADDRESS


def test_the_rate_limit_and_the_lockout_count_the_same_address(settings, specialist_user):
    settings.RST_TRUSTED_PROXIES = 1
    for n in range(settings.AXES_FAILURE_LIMIT):
        Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9").post(
            "/accounts/login/", {"username": f"guess{n}", "password": "no"}
        )
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.9"}
    # Another client behind the same proxy is not locked out by that one.
    other = Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.10")
    response = other.post(
        "/accounts/login/", {"username": specialist_user.username, "password": PASSWORD}
    )
    assert response.status_code == 302


# Password reset.


def _reset(email, address="198.51.100.50"):
    return Client(REMOTE_ADDR=address).post("/accounts/password_reset/", {"email": email})


def test_password_reset_is_limited_per_account_and_answers_the_same(settings):
    settings.RST_PASSWORD_RESET_RATE_LIMIT = "3/h"
    UserFactory(email="stacy@example.org")
    answers = [_reset("stacy@example.org", f"198.51.100.{n}") for n in range(1, 6)]
    assert [a.status_code for a in answers] == [302] * 5
    assert {a["Location"] for a in answers} == {"/accounts/password_reset/done/"}
    assert len(mail.outbox) == 3  # from five addresses, one inbox gets three


def test_password_reset_is_limited_per_address(settings):
    settings.RST_PASSWORD_RESET_RATE_LIMIT = "3/h"
    for n in range(5):
        UserFactory(email=f"staff{n}@example.org")
    answers = [_reset(f"staff{n}@example.org") for n in range(5)]
    assert {a["Location"] for a in answers} == {"/accounts/password_reset/done/"}
    assert len(mail.outbox) == 3
    # Unknown addresses answer the same, and count too.
    assert _reset("nobody@example.org")["Location"] == "/accounts/password_reset/done/"
