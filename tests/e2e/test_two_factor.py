"""Second factors in a real Chromium: an authenticator app, and a passkey made and used
through Chromium's virtual authenticator (Chrome DevTools Protocol). axe-core checks
the login, enrolment and verification pages."""

import pyotp
import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential
from playwright.sync_api import Page, expect

from tests.helpers import totp_code

from .test_accessibility import violations
from .test_referral_journey import PASSWORD

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("reference_data")]


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # axe-core is injected as an inline script, which the site's CSP rightly blocks.
    return {**browser_context_args, "bypass_csp": True}


def password_step(page: Page, base: str, username: str):
    page.goto(f"{base}/accounts/login/?next=/queue/")
    assert violations(page) == []
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def log_out(page: Page):
    page.get_by_role("button", name="Log out").click()


def test_enrol_an_authenticator_app_then_log_in_with_it(page: Page, live_server, specialist_user):
    base = live_server.url
    password_step(page, base, specialist_user.username)
    expect(page.get_by_role("heading", name="Set up your second factor")).to_be_visible()
    assert violations(page) == []
    app = pyotp.TOTP(page.locator("#totp-secret").inner_text().replace(" ", ""))
    page.get_by_role("textbox", name="Code").fill(app.now())
    page.get_by_role("button", name="Confirm the app").click()
    expect(page.get_by_role("heading", name="Your backup codes")).to_be_visible()
    assert page.locator("#backup-codes li").count() == 10
    assert violations(page) == []
    page.get_by_role("link", name="I have saved them: continue").click()
    expect(page.get_by_role("heading", name="Region 3 – Midwest")).to_be_visible()

    log_out(page)
    password_step(page, base, specialist_user.username)
    expect(page.get_by_role("heading", name="Confirm it is you")).to_be_visible()
    assert violations(page) == []
    page.get_by_role("textbox", name="Code").fill("000000")
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text("That code is not right")).to_be_visible()
    assert violations(page) == []  # the page with its error
    page.wait_for_timeout(1100)  # a wrong code makes the next try wait a second
    code = totp_code(TOTPDevice.objects.get(user=specialist_user))
    page.get_by_role("textbox", name="Code").fill(code)
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="Region 3 – Midwest")).to_be_visible()


@pytest.fixture
def virtual_authenticator(page: Page, live_server, settings):
    """A passkey-capable authenticator in this Chromium page (CDP), on the live server's origin."""
    settings.OTP_WEBAUTHN_RP_ID = "localhost"
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = [live_server.url]
    assert live_server.url.startswith("http://localhost:")
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    authenticator = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    yield cdp, authenticator["authenticatorId"]
    cdp.send("WebAuthn.removeVirtualAuthenticator", authenticator)


def test_enrol_a_passkey_then_log_in_with_it(
    page: Page, live_server, specialist_user, virtual_authenticator
):
    cdp, authenticator_id = virtual_authenticator
    base = live_server.url
    password_step(page, base, specialist_user.username)
    expect(page.get_by_role("heading", name="Set up your second factor")).to_be_visible()
    page.get_by_role("button", name="Create a passkey").click()
    expect(page.get_by_role("heading", name="Your backup codes")).to_be_visible()
    credential = WebAuthnCredential.objects.get(user=specialist_user)
    assert credential.confirmed
    assert (
        len(
            cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})[
                "credentials"
            ]
        )
        == 1
    )
    page.get_by_role("link", name="I have saved them: continue").click()
    expect(page.get_by_role("heading", name="Region 3 – Midwest")).to_be_visible()

    log_out(page)
    password_step(page, base, specialist_user.username)
    expect(page.get_by_role("heading", name="Confirm it is you")).to_be_visible()
    assert violations(page) == []
    page.get_by_role("button", name="Use my passkey").click()
    expect(page.get_by_role("heading", name="Region 3 – Midwest")).to_be_visible()
    credential.refresh_from_db()
    assert credential.last_used_at is not None
