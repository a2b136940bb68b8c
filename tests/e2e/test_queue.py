"""The queue in Chromium on a phone (390 px), a tablet and a laptop (1,366 px), for a
specialist and the supervisor: nothing scrolls sideways, references stay whole, axe-core
finds nothing serious, focus rings and overdue links keep their contrast, counts filter."""

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from referrals.models import Service
from regions.models import Jurisdiction
from tests.factories import ReferralFactory

from .test_accessibility import violations
from .test_referral_journey import log_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("reference_data")]

PHONE = {"width": 390, "height": 844}
TABLET = {"width": 1024, "height": 768}
LAPTOP = {"width": 1366, "height": 768}
# Where the screenshots go for a person to look at (RST_SCREENSHOT_DIR), else the test's
# own temporary directory.
SCREENSHOT_DIR = os.environ.get("RST_SCREENSHOT_DIR")


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # axe-core is injected as an inline script, which the site's CSP rightly blocks.
    return {**browser_context_args, "bypass_csp": True}


def a_busy_queue():
    """Referrals as a Monday morning finds them: overdue ones, urgent ones, long agency
    names, every service asked for, news from a referrer, one in each of three regions."""
    now = timezone.now()
    services = list(Service.objects.all())
    texas, california = (Jurisdiction.objects.get(code=code) for code in ("TX", "CA"))
    made = [
        ReferralFactory(
            urgency="urgent",
            first_contact_due_at=now - timedelta(days=3),
            agency="Hennepin County Human Services and Public Health Department, Child Protection",
            child_status="missing",
            child_age=15,
        ),
        ReferralFactory(first_contact_due_at=now - timedelta(hours=2), child_status="at_risk"),
        ReferralFactory(
            urgency="urgent",
            first_contact_due_at=now + timedelta(minutes=40),
            has_new_information=True,
        ),
        ReferralFactory(first_contact_due_at=now + timedelta(days=1), child_status="recovered"),
        ReferralFactory(status="acknowledged", first_contacted_at=now - timedelta(hours=5)),
        ReferralFactory(status="in_progress", first_contacted_at=now - timedelta(days=4)),
        ReferralFactory(jurisdiction=texas, first_contact_due_at=now - timedelta(hours=30)),
        ReferralFactory(
            jurisdiction=california,
            assigned_specialist=None,
            urgency="urgent",
            first_contact_due_at=now + timedelta(hours=3),
        ),
    ]
    for n, referral in enumerate(made):
        referral.services.set(services if n % 2 == 0 else services[1:3])
    return made


def screenshot(page: Page, name: str, tmp_path: Path) -> None:
    folder = Path(SCREENSHOT_DIR) if SCREENSHOT_DIR else tmp_path
    page.screenshot(path=str(folder / name), full_page=True)


def scrolls_sideways(page: Page) -> bool:
    return page.evaluate(
        "document.documentElement.scrollWidth > document.documentElement.clientWidth"
    )


def references_on_one_line(page: Page) -> list[str]:
    """The visible references that wrap onto a second line (none should)."""
    return page.evaluate(
        """[...document.querySelectorAll('.rst-ref')]
             .filter(a => a.offsetParent !== null && a.getClientRects().length !== 1)
             .map(a => a.textContent)"""
    )


# Contrast, from computed styles (WCAG 2 relative luminance).
CONTRAST_JS = """
(function () {
  function rgb(text) {
    const hex = text.trim().match(/^#([0-9a-f]{6})$/i);
    if (hex) return [0, 2, 4].map(i => parseInt(hex[1].slice(i, i + 2), 16));
    return text.match(/[\\d.]+/g).slice(0, 3).map(Number);
  }
  function luminance(c) {
    const [r, g, b] = rgb(c).map(v => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  }
  window.rstContrast = function (a, b) {
    const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05);
  };
  window.rstRowBackground = function (el) {
    const cell = el.closest('td');
    const tint = cell && getComputedStyle(cell).getPropertyValue('--bs-table-bg-type').trim();
    if (tint) return tint;
    const card = el.closest('.card');
    return card ? getComputedStyle(card).backgroundColor : 'rgb(255, 255, 255)';
  };
})();
"""


def overdue_link_contrast(page: Page) -> list[float]:
    page.evaluate(CONTRAST_JS)
    return page.evaluate(
        """[...document.querySelectorAll('.rst-overdue .rst-ref')]
             .filter(a => a.offsetParent !== null)
             .map(a => rstContrast(getComputedStyle(a).color, rstRowBackground(a)))"""
    )


def focus_ring(page: Page) -> dict:
    """The focus ring of the first overdue row's reference, reached with the keyboard."""
    page.evaluate(CONTRAST_JS)
    link = page.locator(".rst-overdue .rst-ref:visible").first
    # Focus the control before it, then Tab: the ring a keyboard user sees.
    page.evaluate(
        """link => {
             const all = [...document.querySelectorAll('a, button, input, select')]
               .filter(e => e.offsetParent !== null);
             all[all.indexOf(link) - 1].focus();
           }""",
        link.element_handle(),
    )
    page.keyboard.press("Tab")
    return page.evaluate(
        """() => {
             const a = document.activeElement, style = getComputedStyle(a);
             return {
               reference: a.textContent,
               visible: a.matches(':focus-visible'),
               width: parseFloat(style.outlineWidth),
               style: style.outlineStyle,
               contrast: rstContrast(style.outlineColor, rstRowBackground(a)),
             };
           }"""
    )


@pytest.mark.parametrize("role", ["specialist", "supervisor"])
def test_the_queue_fits_a_phone_and_a_laptop(
    role, page: Page, live_server, specialist_user, supervisor_user, tmp_path
):
    referrals = a_busy_queue()
    user = specialist_user if role == "specialist" else supervisor_user
    log_in(page, live_server.url, user.username)
    overdue_reference = referrals[0].reference

    for name, viewport in (("390", PHONE), ("1024", TABLET), ("1366", LAPTOP)):
        page.set_viewport_size(viewport)
        page.goto(f"{live_server.url}/queue/")
        expect(page.get_by_role("link", name=overdue_reference)).to_be_visible()
        screenshot(page, f"h4_queue_{name}_{role}.png", tmp_path)

        assert not scrolls_sideways(page), (role, name)
        assert references_on_one_line(page) == [], (role, name)
        assert violations(page) == [], (role, name)
        assert all(ratio >= 4.5 for ratio in overdue_link_contrast(page)), (role, name)
        ring = focus_ring(page)
        assert ring["visible"] and ring["style"] != "none", ring
        assert ring["width"] >= 2 and ring["contrast"] >= 3, ring

    # On the phone: a card each. On top, the reference with its status beside it, then
    # the time left; the rest (urgency, child, services, agency) below.
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/queue/")
    expect(page.get_by_role("table")).to_be_hidden()
    card = page.get_by_role("list", name="Referrals").get_by_role("listitem").first
    reference = card.get_by_role("link", name=overdue_reference).bounding_box()
    status = card.get_by_text("New", exact=True).bounding_box()
    time_left = card.locator(".rst-time-left").bounding_box()
    child = card.get_by_text("Missing, age 15").bounding_box()
    assert abs(reference["y"] + reference["height"] - status["y"] - status["height"]) < 8
    assert reference["y"] < time_left["y"] < child["y"]
    expect(card.locator(".rst-time-left")).to_contain_text("overdue")
    # On the laptop: a table, region and specialist columns only in the all-regions view.
    page.set_viewport_size(LAPTOP)
    page.goto(f"{live_server.url}/queue/")
    headers = page.get_by_role("columnheader").all_inner_texts()
    if role == "supervisor":
        assert headers[-2:] == ["Region", "Specialist"]
    else:
        assert "Region" not in headers and "Specialist" not in headers


def test_the_overdue_count_lists_the_overdue_referrals(page: Page, live_server, specialist_user):
    referrals = a_busy_queue()
    log_in(page, live_server.url, specialist_user.username)
    page.set_viewport_size(LAPTOP)
    page.goto(f"{live_server.url}/queue/")
    page.get_by_role("link", name="Overdue 2").click()
    expect(page).to_have_url(f"{live_server.url}/queue/?overdue=on")
    rows = page.get_by_role("table").get_by_role("row")
    expect(rows).to_have_count(3)  # the header and the two overdue Minnesota referrals
    for referral in referrals[:2]:
        # "overdue by 2 h", or just "overdue" outside office hours (no business time yet).
        expect(rows.filter(has_text=referral.reference)).to_contain_text("overdue")
    expect(page.get_by_label("Overdue only")).to_be_checked()
    expect(page.get_by_role("link", name="Overdue 2")).to_have_attribute("aria-current", "page")
