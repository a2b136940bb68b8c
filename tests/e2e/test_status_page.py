"""The referrer's status page in a real browser: from the receipt e-mail's link to a
follow-up that the specialist sees as new information in the queue."""

import os
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from playwright.sync_api import Page, expect

from referrals import tasks
from referrals.models import Referral, ReferralEvent

from .test_referral_journey import fill_referral, log_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("reference_data")]

AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
MESSAGE = "She ran again last night; police in St. Paul have been told."
# Where the page's screenshots go for a person to look at (default: the test's tmp_path).
SCREENSHOT_DIR = os.environ.get("RST_SCREENSHOT_DIR")


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


def send_the_emails():
    """What the task worker does in production (`manage.py task_worker`)."""
    tasks.mail_pause.end()
    call_command("task_worker", "--batch", "--no-startup-delay", verbosity=0)


def test_referrer_follows_up_and_the_specialist_sees_new_information(
    page: Page, live_server, specialist_user, settings, tmp_path
):
    settings.SITE_URL = live_server.url  # the e-mails' links point at this server
    base = live_server.url
    fill_referral(page, base)
    page.get_by_label("I work on this case").check()
    page.get_by_role("button", name="Send referral").click()
    reference = page.locator("#reference").inner_text()
    expect(page.locator("#status-link")).to_be_visible()  # this browser's own link

    send_the_emails()
    [receipt] = [m for m in mail.outbox if m.to == ["jordan@example.org"]]
    [status_url] = re.findall(rf"{re.escape(base)}/status/[A-Za-z0-9_-]+/", receipt.body)
    token = status_url.rstrip("/").rsplit("/", 1)[-1]

    referers = []
    page.on("request", lambda request: referers.append(request.headers.get("referer") or ""))
    page.goto(status_url)
    expect(page.get_by_role("heading", name=f"Your referral {reference}")).to_be_visible()
    expect(page.locator("#referral-status")).to_have_text("Received")
    expect(page.get_by_text("Stacy Schultz")).to_be_visible()
    for case_detail in ("Jordan Caseworker", "Missing from placement", "612-555-0100", "JD"):
        expect(page.get_by_text(case_detail, exact=False)).to_have_count(0)
    assert violations(page) == []
    for width in (390, 1366):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(
            path=Path(SCREENSHOT_DIR or tmp_path) / f"status_{width}.png", full_page=True
        )
        # Nothing wider than the screen (no sideways scrolling on a phone).
        assert page.evaluate("document.documentElement.scrollWidth") <= width

    # Too short: said on the field, the text kept, nothing sent.
    page.get_by_label("Your message").fill("Ran again")
    page.get_by_role("button", name="Send message").click()
    expect(page.get_by_text("at least 10 characters")).to_be_visible()
    expect(page.get_by_label("Your message")).to_have_value("Ran again")
    assert violations(page) == []

    page.get_by_label("Your message").fill(MESSAGE)
    page.get_by_role("button", name="Send message").click()
    expect(page.get_by_text("Your message was sent to Stacy Schultz")).to_be_visible()
    expect(page.locator("#follow-up-times li")).to_have_count(1)
    # The token never left in a Referer: not to the page's own files, not on the POST.
    assert referers and not [r for r in referers if token in r]

    event = Referral.objects.get(reference=reference).events.get(kind=ReferralEvent.Kind.FOLLOW_UP)
    assert event.message == MESSAGE
    send_the_emails()
    [notice] = [m for m in mail.outbox if "new information" in m.subject]
    assert notice.to == ["SLSchultz@ncmec.org"] and "ran again" not in notice.body

    # The specialist sees it as new information until she opens the referral.
    log_in(page, base, specialist_user.username)
    row = page.get_by_role("row").filter(has_text=reference)
    expect(row.get_by_text("New information")).to_be_visible()
    row.get_by_role("link", name=reference).click()
    expect(page.get_by_text(MESSAGE)).to_be_visible()
    expect(page.locator("#status-link-panel").get_by_text("New information")).to_be_visible()
    page.locator("#status-link-panel").screenshot(
        path=Path(SCREENSHOT_DIR or tmp_path) / "status_link_panel.png"
    )
    page.goto(f"{base}/queue/")
    expect(page.get_by_role("row").filter(has_text=reference)).to_be_visible()
    expect(
        page.get_by_role("row").filter(has_text=reference).get_by_text("New information")
    ).to_have_count(0)


def test_a_withdrawn_link_shows_the_team_not_an_error(page: Page, live_server, specialist_user):
    base = live_server.url
    fill_referral(page, base)
    page.get_by_label("I work on this case").check()
    page.get_by_role("button", name="Send referral").click()
    status_url = page.locator("#status-link").get_attribute("href")

    log_in(page, base, specialist_user.username)
    reference = Referral.objects.get().reference
    page.goto(f"{base}/queue/{reference}/")
    page.get_by_role("button", name="Revoke all links").click()
    expect(
        page.get_by_text("Status links revoked: the referrer's links no longer work.")
    ).to_be_visible()

    # In a tab of its own: the page answers 410 Gone on purpose, which the browser logs
    # as an error (the check on `page` lets only a form's 400 through).
    referrer = page.context.new_page()
    response = referrer.goto(status_url)
    assert response.status == 410
    expect(referrer.get_by_role("heading", name="This link was withdrawn")).to_be_visible()
    expect(referrer.get_by_role("link", name=settings.RST_TEAM_EMAIL)).to_be_visible()
    assert violations(referrer) == []
