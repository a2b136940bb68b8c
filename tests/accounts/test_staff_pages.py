"""Every page that is not public on purpose is a staff page: login, second factor, no cache.

The URL conf is walked as the isolation tests do, so a view added later is covered.
"""

import pytest
from django.test import Client

from accounts.pages import PUBLIC, SIGN_IN_STEP, STAFF
from tests.factories import ReferralFactory
from tests.helpers import as_user, totp_device

from .urlconf import site_urls

pytestmark = pytest.mark.usefixtures("reference_data")

PUBLIC_PAGES = {
    "/",
    "/specialists/",
    "/specialists.json",
    "/healthz",
    "/refer/",
    "/refer/submitted/RST-0000000A/",
    "/status/set-password/",  # the referrer's status page; any token answers (404 if unknown)
    "/accounts/login/",
    "/accounts/logout/",
    "/accounts/password_reset/",
    "/accounts/password_reset/done/",
    "/accounts/reset/MQ/set-password/",
    "/accounts/reset/done/",
    "/admin/login/",
}
LOGIN_PAGES = ("/accounts/login/?next=", "/admin/login/?next=")


def urls(access):
    return [path for path, kind in site_urls() if kind == access]


def test_the_public_pages_are_exactly_these():
    assert set(urls(PUBLIC)) == PUBLIC_PAGES
    assert len(urls(STAFF)) > 100  # the admin's pages, the queue, the security page …


def test_anonymous_visitors_are_sent_to_log_in_from_every_staff_url():
    client = Client()
    for path in urls(STAFF):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith(LOGIN_PAGES), path


def test_a_password_only_session_reaches_no_staff_url(supervisor_user, specialist_user):
    ReferralFactory()
    # Never enrolled: sent to set up a second factor.
    client = as_user(supervisor_user, verified=False)
    for path in urls(STAFF):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/accounts/security/enrol/?next="), path
    # Enrolled: sent to give it.
    totp_device(specialist_user)
    client = as_user(specialist_user, verified=False)
    for path in urls(STAFF):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/accounts/security/verify/?next="), path


def test_every_staff_and_sign_in_page_is_never_cached(supervisor_user):
    client = as_user(supervisor_user)
    for path in urls(STAFF) + urls(SIGN_IN_STEP):
        response = client.get(path)
        cache_control = response.get("Cache-Control", "")
        assert "no-store" in cache_control and "private" in cache_control, (path, cache_control)
    assert "no-store" not in Client().get("/specialists/").get("Cache-Control", "")


def test_the_queue_and_a_referral_page_are_never_cached(specialist_user):
    referral = ReferralFactory()
    client = as_user(specialist_user)
    for path in ["/queue/", referral.get_absolute_url()]:
        response = client.get(path)
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"]
        assert "private" in response["Cache-Control"]


def test_without_rst_require_2fa_a_password_is_enough(settings, specialist_user):
    # scripts/serve (DEBUG on): the demo logins go without a second factor.
    settings.RST_REQUIRE_2FA = False
    client = as_user(specialist_user, verified=False)
    assert client.get("/queue/").status_code == 200
