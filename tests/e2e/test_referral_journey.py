"""A referral's journey in a real browser: submitted, found in the queue, worked, closed."""

import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from referrals.models import Referral
from tests.helpers import totp_code, totp_device

pytestmark = [
    pytest.mark.django_db(
        transaction=True,
    ),
    pytest.mark.usefixtures("reference_data"),
]

PASSWORD = "correct horse battery staple"


def fill_referral(page: Page, base_url: str):
    page.goto(f"{base_url}/refer/")
    page.get_by_label("Your name").fill("Jordan Caseworker")
    page.get_by_label("Child welfare professional").check()
    page.get_by_label("Agency or organization").fill("Hennepin County Child Protection")
    page.get_by_label("E-mail", exact=True).fill("jordan@example.org")
    page.get_by_label("Phone", exact=True).fill("612-555-0100")
    page.get_by_label("State or territory of the case").select_option("MN")
    page.get_by_label("Child's initials").fill("JD")
    page.get_by_label("Child's age").fill("15")
    page.get_by_label("Missing from care").check()
    page.get_by_label("Date missing or recovered").fill("2026-11-20")
    page.get_by_label("Unknown").check()
    page.get_by_label("Case-based assistance developing").check()
    page.get_by_label("Summary of the case").fill(
        "Missing from placement since Friday; needs a plan."
    )


def log_in(page: Page, base_url: str, username: str):
    totp_device(get_user_model().objects.get(username=username))  # the user has enrolled
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    give_second_factor(page, username)


def give_second_factor(page: Page, username: str):
    """The code from the user's authenticator app, on the page that asks for it."""
    device = totp_device(get_user_model().objects.get(username=username))
    expect(page.get_by_role("heading", name="Confirm it is you")).to_be_visible()
    page.get_by_role("textbox", name="Code").fill(totp_code(device))
    page.get_by_role("button", name="Verify").click()


def test_submit_then_specialist_acknowledges_notes_and_closes(
    page: Page, live_server, specialist_user
):
    base = live_server.url
    fill_referral(page, base)
    # Forgetting consent keeps everything typed and says what is missing.
    page.get_by_role("button", name="Send referral").click()
    expect(page.locator("#error-summary")).to_be_focused()
    expect(page.get_by_role("link", name="Tick the box to confirm")).to_be_visible()
    expect(page.get_by_label("Agency or organization")).to_have_value(
        "Hennepin County Child Protection"
    )
    page.get_by_label("I work on this case").check()
    page.get_by_role("button", name="Send referral").click()

    expect(page.get_by_role("heading", name="Referral received")).to_be_visible()
    reference = page.locator("#reference").inner_text()
    assert re.fullmatch(r"RST-[0-9A-Z]{8}", reference)
    expect(page.get_by_text("Stacy Schultz")).to_be_visible()
    expect(page.get_by_text("within one business day")).to_be_visible()

    log_in(page, base, specialist_user.username)
    expect(page.get_by_role("heading", name="Region 3 – Midwest")).to_be_visible()
    page.get_by_role("link", name=reference).click()
    routing = page.get_by_text("auto-routed: MN → Region 3 → Stacy Schultz (0 open)")
    expect(routing.first).to_be_visible()

    # First contact: how it was made (when defaults to now).
    page.locator("#action-acknowledge").get_by_label("Phone").check()
    page.get_by_role("button", name="Acknowledge (first contact made)").click()
    expect(page.get_by_text("first contact with the referrer is recorded")).to_be_visible()

    page.get_by_label("Note*", exact=True).fill("Spoke with the caseworker; plan call tomorrow.")
    page.get_by_role("button", name="Save note").click()
    expect(page.get_by_text("Spoke with the caseworker; plan call tomorrow.")).to_be_visible()

    page.get_by_text("Close the referral").click()
    page.get_by_label("Outcome").select_option("recovery_plan")
    page.get_by_label("Closing note").fill("Recovery plan agreed with the team.")
    page.get_by_role("button", name="Close", exact=True).click()
    expect(page.get_by_text("Closed: Recovery plan supported.")).to_be_visible()

    referral = Referral.objects.get(reference=reference)
    assert referral.status == "closed"
    assert list(referral.events.values_list("kind", flat=True)) == [
        "submitted",
        "routed",
        "acknowledged",
        "note",
        "closed",
    ]


def test_supervisor_reassigns_reviews_and_sees_the_workload(
    page: Page, live_server, supervisor_user
):
    base = live_server.url
    fill_referral(page, base)
    page.get_by_label("I work on this case").check()
    page.get_by_role("button", name="Send referral").click()
    reference = page.locator("#reference").inner_text()

    totp_device(supervisor_user)  # the supervisor has enrolled an authenticator app
    page.goto(f"{base}/admin/")
    page.get_by_label("Username").fill(supervisor_user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    give_second_factor(page, supervisor_user.username)
    page.get_by_role("link", name="Referrals").first.click()
    page.get_by_role("textbox").first.fill(reference)
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=reference).click()

    page.get_by_role("button", name="Reassign…").click()
    page.get_by_label("Assign to").select_option(label="Kyla Conlee (0 open)")
    page.get_by_label("Note (optional)").fill("Kyla covers this county's tribal liaison.")
    page.get_by_role("button", name="Reassign").click()
    expect(page.get_by_text("Reassigned 1 referral to Kyla Conlee.")).to_be_visible()

    page.get_by_role("button", name="Mark assignment reviewed…").click()
    page.get_by_label("Review note (optional)").fill("Checked with Stacy.")
    page.get_by_role("button", name="Mark reviewed").click()
    expect(page.get_by_text("Marked 1 referral reviewed.")).to_be_visible()

    page.goto(f"{base}/admin/referrals/referral/workload/")
    expect(page.get_by_role("heading", name="Workload overview")).to_be_visible()
    kyla = page.locator("#workload-specialists tr", has_text="Kyla Conlee")
    expect(kyla).to_contain_text("1")

    referral = Referral.objects.get(reference=reference)
    assert referral.assigned_specialist.name == "Kyla Conlee"
    assert referral.reviewed_by == supervisor_user
    assert list(referral.events.values_list("kind", flat=True)) == [
        "submitted",
        "routed",
        "reassigned",
        "reviewed",
    ]
