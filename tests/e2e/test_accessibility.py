"""Pages a caseworker or specialist uses pass axe-core's accessibility checks."""

from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import Page

from tests.factories import ReferralFactory
from tests.helpers import totp_device

from .test_referral_journey import fill_referral, give_second_factor

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("reference_data")]

AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # axe-core is injected as an inline script, which the site's CSP rightly blocks.
    return {**browser_context_args, "bypass_csp": True}


def violations(page: Page) -> list[str]:
    """Serious and critical axe-core findings on the current page."""
    page.add_script_tag(path=str(AXE))
    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_public_pages(page: Page, live_server):
    for path in ("/", "/refer/", "/specialists/?jurisdiction=MN", "/accounts/login/"):
        page.goto(live_server.url + path)
        assert violations(page) == [], path
    # The form as it comes back with errors.
    page.goto(live_server.url + "/refer/")
    page.get_by_role("button", name="Send referral").click()
    assert violations(page) == []
    # The confirmation.
    fill_referral(page, live_server.url)
    page.get_by_label("I work on this case").check()
    page.get_by_role("button", name="Send referral").click()
    page.wait_for_selector("#reference")
    assert violations(page) == []


def test_specialist_pages(page: Page, live_server, specialist_user):
    referral = ReferralFactory()
    totp_device(specialist_user)  # enrolled: the second step asks for a code
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label("Username").fill(specialist_user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    assert violations(page) == []  # the second step's page
    give_second_factor(page, specialist_user.username)
    assert violations(page) == []
    page.goto(live_server.url + referral.get_absolute_url())
    assert violations(page) == []
