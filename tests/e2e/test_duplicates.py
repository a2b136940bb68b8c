"""A second referral for the same child, in a real browser: the referrer is not told, the
specialist sees the warning on both referrals and confirms it."""

import pytest
from playwright.sync_api import Page, expect

from referrals.models import PossibleDuplicate, Referral
from tests.factories import ReferralFactory

from .test_referral_journey import fill_referral, log_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("reference_data")]


def test_a_second_referral_for_the_child_is_confirmed_as_a_duplicate(
    page: Page, live_server, specialist_user
):
    base = live_server.url
    # The first caseworker's referral, already in Stacy's queue (Minnesota, "JD", 16).
    kept = ReferralFactory(child_initials="JD", child_age=16, referrer_email="first@example.org")

    # A second caseworker refers the same child: nothing on the page says so.
    fill_referral(page, base)
    page.get_by_label("I work on this case").check()
    page.get_by_role("button", name="Send referral").click()
    reference = page.locator("#reference").inner_text().strip()
    expect(page.locator("body")).not_to_contain_text("uplicate")
    newer = Referral.objects.get(reference=reference)
    assert PossibleDuplicate.objects.filter(referral=newer, duplicate_of=kept).exists()

    log_in(page, base, specialist_user.username)
    page.goto(base + newer.get_absolute_url())
    panel = page.locator("#duplicates")
    expect(panel).to_contain_text(f"Possible duplicate of {kept.reference}")
    panel.get_by_role(
        "button", name=f"Confirm: close {newer.reference} as a duplicate of {kept.reference}"
    ).click()

    expect(page.get_by_text(f"{newer.reference} is closed as a duplicate of")).to_be_visible()
    expect(page.locator("#duplicates")).to_contain_text(
        f"Closed as a duplicate of {kept.reference}"
    )
    # The kept referral keeps the second caseworker in view.
    page.locator("#duplicates").get_by_role("link", name=kept.reference).click()
    panel = page.locator("#duplicates")
    expect(panel).to_contain_text(f"{newer.reference} was closed as a duplicate of this referral")
    expect(panel.get_by_role("link", name="jordan@example.org")).to_be_visible()
    newer.refresh_from_db()
    assert (newer.status, newer.outcome) == (Referral.Status.CLOSED, Referral.Outcome.DUPLICATE)
