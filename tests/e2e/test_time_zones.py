"""Times in a real browser: at 23:00 in New York it is already tomorrow in Guam and Puerto
Rico, and referrers there enter their own today's date and read their own times.

"Now" is fixed for the live server too: it runs in a thread of the test process, and the
portal reads the time through `django.utils.timezone.now` (tests/clock.py).
"""

import pytest
from playwright.sync_api import Browser, Page, expect

from referrals.models import Referral
from referrals.validators import STATUS_DATE_IN_FUTURE
from tests.clock import eastern, freeze

from .test_referral_form import watch_for_errors
from .test_referral_journey import fill_referral

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("reference_data")]

PHONE, DESKTOP = {"width": 390, "height": 844}, {"width": 1366, "height": 900}


def scrolls_sideways(page: Page) -> bool:
    return page.evaluate(
        "() => document.documentElement.scrollWidth > document.documentElement.clientWidth"
    )


def test_guam_and_puerto_rico_referrals_at_23_00_eastern(
    browser: Browser, live_server, monkeypatch
):
    # Tuesday 24 November 2026, 23:00 in New York: Wednesday 14:00 in Guam, Wednesday
    # 00:00 in Puerto Rico. The office is closed until Wednesday 09:00 Eastern.
    freeze(monkeypatch, eastern(2026, 11, 24, 23))
    errors = []
    # Two people, each in a browser of their own, load the (cached) form before either sends.
    contexts = [browser.new_context(viewport=PHONE), browser.new_context(viewport=DESKTOP)]
    guam, san_juan = pages = [context.new_page() for context in contexts]
    for page, code, initials in ((guam, "GU", "AB"), (san_juan, "PR", "CD")):
        watch_for_errors(page, errors)
        fill_referral(page, live_server.url)
        expect(page.locator("#after-hours")).to_contain_text("RST's office is closed now")
        expect(page.locator("#after-hours")).to_contain_text("1-800-THE-LOST (1-800-843-5678)")
        page.get_by_label("State or territory of the case").select_option(code)
        page.get_by_label("Child's initials").fill(initials)
        page.get_by_label("I work on this case").check()
        assert not scrolls_sideways(page)

    # Guam's tomorrow is refused on the field, with every answer kept...
    guam.get_by_label("Date missing or recovered").fill("2026-11-26")
    guam.get_by_role("button", name="Send referral").click()
    expect(guam.locator("#id_status_date_error")).to_contain_text(STATUS_DATE_IN_FUTURE)
    expect(guam.get_by_label("Child's initials")).to_have_value("AB")
    # ...and the notice, now in the chosen jurisdiction's zone, still sits by the button.
    expect(guam.locator("#after-hours")).to_contain_text(
        "the team is back Thursday 26 November at 12:00 AM ChST"
    )
    # Guam's today is accepted, though it is still the 24th in New York.
    guam.get_by_label("Date missing or recovered").fill("2026-11-25")
    guam.get_by_label("I work on this case").check()
    # Puerto Rico's today is the 25th as well.
    san_juan.get_by_label("Date missing or recovered").fill("2026-11-25")
    for page in pages:
        page.get_by_role("button", name="Send referral").click()
        expect(page.get_by_role("heading", name="Referral received")).to_be_visible()

    expect(guam.locator("#sent-at")).to_have_text("Sent Wednesday 25 November at 2:00 PM ChST.")
    expect(guam.locator("#first-contact")).to_contain_text(
        "within one business day, by Thursday 26 November at 8:00 AM ChST at the latest"
    )
    expect(guam.locator("#after-hours")).to_contain_text(
        "The team is back Thursday 26 November at 12:00 AM ChST; your referral's first "
        "contact is due by Thursday 26 November at 8:00 AM ChST."
    )
    expect(san_juan.locator("#sent-at")).to_have_text("Sent Wednesday 25 November at 12:00 AM AST.")
    expect(san_juan.locator("#after-hours")).to_contain_text(
        "The team is back Wednesday 25 November at 10:00 AM AST; your referral's first "
        "contact is due by Wednesday 25 November at 6:00 PM AST."
    )
    for page in pages:
        expect(page.locator("#after-hours")).to_contain_text("call 911 and NCMEC's 24-hour")
        assert not scrolls_sideways(page)

    saved = {r.jurisdiction_id: r.status_date.isoformat() for r in Referral.objects.all()}
    assert saved == {"GU": "2026-11-25", "PR": "2026-11-25"}
    for context in contexts:
        context.close()
    assert errors == []
