"""No page scrolls sideways on a phone (390 px): the public pages, the referrer's status
page, and every staff page a specialist or the supervisor opens, with real data on them
(a long agency name, a long URL in a note)."""

import pytest
from django.urls import reverse
from playwright.sync_api import Page

from referrals import services, status_links
from tests.factories import ReferralFactory
from tests.helpers import totp_device

from .test_referral_journey import fill_referral, give_second_factor

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("reference_data")]

PASSWORD = "correct horse battery staple"
PHONE = {"width": 390, "height": 844}
LONG_URL = "https://example.org/" + "case-notes-and-documents/" * 12 + "?id=" + "9" * 60


def scrolls_sideways(page: Page) -> int:
    """How many pixels the page is wider than the screen (0: it fits)."""
    return page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


def log_in(page: Page, base_url: str, user):
    totp_device(user)
    page.goto(base_url + "/accounts/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    give_second_factor(page, user.username)


def wide_referral(actor):
    referral = ReferralFactory(
        agency="Hennepin County Human Services and Public Health Department, Child Protection"
    )
    services.referral_add_note(referral=referral, actor=actor, text=f"See {LONG_URL}")
    return referral


def test_public_pages_fit_a_phone(page: Page, live_server):
    page.set_viewport_size(PHONE)
    referral = ReferralFactory()
    _, token = status_links.status_link_mint(referral=referral)
    paths = [
        "/",
        "/refer/",
        "/specialists/?jurisdiction=GU",
        "/accounts/login/",
        reverse("referrals:status", kwargs={"token": token}),
    ]
    for path in paths:
        page.goto(live_server.url + path)
        assert scrolls_sideways(page) == 0, path
    page.goto(live_server.url + "/refer/")
    page.get_by_role("button", name="Send referral").click()  # back with every error
    assert scrolls_sideways(page) == 0, "the form with errors"
    fill_referral(page, live_server.url)
    page.get_by_label("I work on this case").check()
    page.get_by_role("button", name="Send referral").click()
    page.wait_for_selector("#reference")
    assert scrolls_sideways(page) == 0, "the confirmation"


def test_specialist_pages_fit_a_phone(page: Page, live_server, specialist_user):
    page.set_viewport_size(PHONE)
    referral = wide_referral(specialist_user)
    log_in(page, live_server.url, specialist_user)
    for path in (
        "/queue/",
        "/queue/?status=all",
        referral.get_absolute_url(),
        "/directory/",
        "/accounts/profile/",
        "/accounts/security/",
    ):
        page.goto(live_server.url + path)
        assert scrolls_sideways(page) == 0, path


def test_supervisor_pages_fit_a_phone(page: Page, live_server, supervisor_user):
    page.set_viewport_size(PHONE)
    referral = wide_referral(supervisor_user)
    log_in(page, live_server.url, supervisor_user)
    for path in (
        "/queue/",
        "/queue/?scope=all",
        referral.get_absolute_url(),
        "/accounts/profile/",
        "/admin/",
        "/admin/referrals/referral/",
        reverse("admin:referrals_referral_workload"),
        reverse("admin:referrals_referral_change", args=[referral.pk]),
        "/admin/referrals/possibleduplicate/",
        "/admin/referrals/dailydigest/",
    ):
        page.goto(live_server.url + path)
        assert scrolls_sideways(page) == 0, path
