"""A specialist shares directory resources on a referral, in a real browser."""

import pytest
from playwright.sync_api import Page, expect

from referrals.models import ReferralEvent
from tests.contacts.factories import ServiceFactory
from tests.factories import ReferralFactory

from .test_referral_journey import log_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("reference_data")]


def test_specialist_shares_a_national_and_a_state_resource(
    page: Page, live_server, specialist_user
):
    national = ServiceFactory(is_national=True, name="National hotline")
    local = ServiceFactory(areas=["MN"], name="Minnesota youth shelter")
    ServiceFactory(areas=["TX"], name="Texas only service")
    referral = ReferralFactory()  # Minnesota, Region 3

    log_in(page, live_server.url, specialist_user.username)
    page.goto(live_server.url + referral.get_absolute_url())
    page.get_by_text("Share resources from the directory").click()
    expect(page.get_by_label("Texas only service", exact=False)).to_have_count(0)
    page.get_by_label(local.name, exact=False).check()
    page.get_by_label(national.name, exact=False).check()
    page.get_by_role("button", name="Record as shared").click()

    expect(page.get_by_text("Resources shared: recorded in the history.")).to_be_visible()
    history = page.get_by_role("region", name="History")
    expect(history.get_by_text(f"{local.organization.name} – {local.name}").first).to_be_visible()
    event = referral.events.get(kind=ReferralEvent.Kind.RESOURCES_SHARED)
    assert {r["service"] for r in event.resources} == {local.name, national.name}
