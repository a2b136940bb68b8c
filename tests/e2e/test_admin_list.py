"""The supervisor's admin list in a real Chromium at 1,366 px, the workload overview on a
phone, and the profile page: columns on screen, axe-core clean, focus rings that show.

Screenshots for a person to look at: /tmp/h7_admin_1366.png, /tmp/h7_profile_390.png,
/tmp/h7_profile_1366.png, /tmp/h7_workload_390.png.
"""

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import StaffProfile
from referrals.models import Referral
from regions.models import Region
from tests.factories import ReferralFactory, SpecialistFactory

from .test_accessibility import violations
from .test_referral_journey import log_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("reference_data")]

SCREENSHOTS = Path("/tmp")  # noqa: S108 - for a person to look at after the run
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
COLUMNS = [
    "Reference",
    "Region",
    "Specialist",
    "Status",
    "First contact due",
    "Overdue",
    "Reviewed",
]

# WCAG contrast of the focused element's outline against the background behind it.
FOCUS_RING = """element => {
  const rgb = value => value.match(/[\\d.]+/g).slice(0, 4).map(Number);
  const luminance = ([r, g, b]) => {
    const [R, G, B] = [r, g, b].map(c => {
      c /= 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * R + 0.7152 * G + 0.0722 * B;
  };
  let behind = element.parentElement;
  let background = null;
  while (behind) {
    const colour = rgb(getComputedStyle(behind).backgroundColor);
    if (colour.length < 4 || colour[3] > 0) { background = colour; break; }
    behind = behind.parentElement;
  }
  background = background || [255, 255, 255];
  const style = getComputedStyle(element);
  const [a, b] = [luminance(rgb(style.outlineColor)), luminance(background)];
  return {
    focusVisible: element.matches(':focus-visible') || element.matches(':focus'),
    style: style.outlineStyle,
    width: parseFloat(style.outlineWidth),
    contrast: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05),
  };
}"""


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # axe-core is injected as an inline script, which the site's CSP rightly blocks.
    return {**browser_context_args, "bypass_csp": True}


@pytest.fixture
def referrals(supervisor_user):
    """A list as a supervisor meets it: overdue ones, an urgent one, every status, a long
    specialist name, one in supervisor intake."""
    now = timezone.now()
    region = Region.objects.get(number=5)
    long_name = SpecialistFactory(region=region, name="Alexandria Montgomery-Washington")
    made = [
        ReferralFactory(
            submitted_at=now - timedelta(hours=40 + i),
            first_contact_due_at=now - timedelta(hours=6 + i),
        )
        for i in range(3)
    ]
    made += [
        ReferralFactory(urgency=Referral.Urgency.URGENT),
        ReferralFactory(
            status=Referral.Status.ACKNOWLEDGED,
            urgency=Referral.Urgency.URGENT,
            first_contacted_at=now,
            assigned_specialist=long_name,
            reviewed_at=now,
            reviewed_by=supervisor_user,
        ),
        ReferralFactory(status=Referral.Status.IN_PROGRESS, first_contacted_at=now),
        ReferralFactory(assigned_specialist=None),
        ReferralFactory(
            status=Referral.Status.CLOSED,
            outcome=Referral.Outcome.CONNECTED,
            first_contacted_at=now,
            closed_at=now,
        ),
    ]
    return made


def no_horizontal_scroll(page: Page) -> bool:
    return page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


def focus_ring(page: Page, locator) -> dict:
    locator.focus()
    return locator.evaluate(FOCUS_RING)


def test_admin_list_at_1366_px(page: Page, live_server, supervisor_user, referrals):
    page.set_viewport_size(DESKTOP)
    log_in(page, live_server.url, supervisor_user.username)
    page.goto(f"{live_server.url}/admin/referrals/referral/")

    headers = page.locator("#result_list thead th:not(.action-checkbox-column)")
    expect(headers).to_have_text(COLUMNS, ignore_case=True)
    for index in range(len(COLUMNS)):
        box = headers.nth(index).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= DESKTOP["width"], COLUMNS[index]
    # Nothing scrolls sideways: not the page, not the table's own box.
    assert no_horizontal_scroll(page)
    assert page.evaluate(
        "(box => box.scrollWidth <= box.clientWidth)(document.querySelector('.results'))"
    )
    # Overdue first, each saying so; the rest say no.
    overdue_column = page.locator("#result_list tbody td.field-overdue_marker")
    expect(overdue_column).to_have_text(["Yes"] * 3 + ["No"] * (len(referrals) - 3))
    page.screenshot(path=SCREENSHOTS / "h7_admin_1366.png", full_page=True)
    assert violations(page) == []

    # Focus rings: the search box, the search button, a reference link, a breadcrumb link.
    for target in [
        page.get_by_label("Search referrals"),
        page.get_by_role("button", name="Search"),
        page.locator("#result_list tbody th a").first,
        page.locator("div.breadcrumbs a").first,
    ]:
        ring = focus_ring(page, target)
        assert ring["focusVisible"] and ring["style"] == "solid", ring
        assert ring["width"] >= 2 and ring["contrast"] >= 3, ring

    # One referral's page: overdue yes, with its due time and zone.
    page.locator("#result_list tbody th a").first.click()
    overdue = page.locator(".fieldBox.field-overdue_detail .readonly")
    expect(overdue).to_contain_text("Yes: first contact was due")
    expect(overdue).to_contain_text(timezone.localtime().strftime("%Z"))
    assert violations(page) == []


def test_workload_overview_fits_a_phone(page: Page, live_server, supervisor_user, referrals):
    page.set_viewport_size(PHONE)
    log_in(page, live_server.url, supervisor_user.username)
    page.goto(f"{live_server.url}/admin/referrals/referral/workload/")
    expect(page.get_by_role("heading", name="Overdue first contacts")).to_be_visible()
    assert no_horizontal_scroll(page)
    page.screenshot(path=SCREENSHOTS / "h7_workload_390.png", full_page=True)
    assert violations(page) == []


def test_profile_page_chooses_the_zone(page: Page, live_server, specialist_user):
    page.set_viewport_size(PHONE)
    log_in(page, live_server.url, specialist_user.username)
    page.get_by_role("button", name="Toggle navigation").click()
    page.get_by_role("link", name="Your settings").click()
    expect(page.get_by_role("heading", name="Your settings")).to_be_visible()
    assert no_horizontal_scroll(page)
    assert violations(page) == []
    ring = focus_ring(page, page.get_by_role("combobox", name="Time zone"))
    assert ring["width"] >= 2 and ring["contrast"] >= 3, ring

    page.get_by_role("combobox", name="Time zone").select_option("Pacific/Guam")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Times are now shown in Chamorro (Guam, Northern Mariana Islands) – Pacific/Guam."
    )
    expect(page.locator("#time-zone-now")).to_contain_text("ChST")
    assert StaffProfile.objects.get(user=specialist_user).time_zone == "Pacific/Guam"
    page.screenshot(path=SCREENSHOTS / "h7_profile_390.png", full_page=True)
    assert violations(page) == []

    page.set_viewport_size(DESKTOP)
    page.reload()
    page.screenshot(path=SCREENSHOTS / "h7_profile_1366.png", full_page=True)
    assert no_horizontal_scroll(page)
