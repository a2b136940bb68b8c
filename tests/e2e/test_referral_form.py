"""The public form in real browsers: two people at once, errors, a double click, contrast."""

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from referrals.models import Referral

from .test_referral_journey import fill_referral

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("reference_data")]


def watch_for_errors(page: Page, errors: list):
    """Collect console errors and uncaught exceptions (CSP violations included)."""
    allowed = "the server responded with a status of 400"
    page.on(
        "console",
        lambda m: errors.append(m.text) if m.type == "error" and allowed not in m.text else None,
    )
    page.on("pageerror", lambda error: errors.append(str(error)))


def test_two_people_load_the_form_then_both_send_it(browser: Browser, live_server):
    """Both browsers load the form before either sends it (a warm, shared form cache)."""
    errors = []
    contexts = [browser.new_context(), browser.new_context()]
    pages = [context.new_page() for context in contexts]
    for page, initials in zip(pages, ("AB", "CD"), strict=True):
        watch_for_errors(page, errors)
        fill_referral(page, live_server.url)
        page.get_by_label("Child's initials").fill(initials)
        page.get_by_label("I work on this case").check()
    references = []
    for page in pages:
        page.get_by_role("button", name="Send referral").click()
        expect(page.get_by_role("heading", name="Referral received")).to_be_visible()
        references.append(page.locator("#reference").inner_text())
    assert len(set(references)) == 2
    assert set(Referral.objects.values_list("reference", flat=True)) == set(references)
    for context in contexts:
        context.close()
    assert errors == []


def test_errors_are_summarised_and_each_link_moves_to_its_field(page: Page, live_server):
    page.goto(live_server.url + "/refer/")
    page.get_by_role("button", name="Send referral").click()
    expect(page).to_have_title(re.compile(r"^Error: Make a referral"))
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("heading", name="There is a problem")).to_be_visible()
    summary.get_by_role("link", name="Choose whether the child is missing").click()
    expect(page.get_by_label("Missing from care")).to_be_focused()
    summary.get_by_role("link", name="Enter your name.").click()
    expect(page.get_by_label("Your name")).to_be_focused()
    # Screen readers hear the group's error with the group.
    group = page.get_by_role("group", name="The child is")
    described = group.get_attribute("aria-describedby")
    assert "id_child_status_error" in described
    expect(page.locator("#id_child_status_error")).to_contain_text("Choose whether")


def test_a_double_click_sends_one_referral_and_shows_its_confirmation(page: Page, live_server):
    fill_referral(page, live_server.url)
    page.get_by_label("I work on this case").check()

    # Hold the answer a moment, as a slow network would, so the second click lands.
    def slow(route):
        page.wait_for_timeout(500)
        route.continue_()

    page.route("**/refer/", slow)
    page.get_by_role("button", name="Send referral").dblclick()
    expect(page.get_by_role("heading", name="Referral received")).to_be_visible()
    assert Referral.objects.count() == 1


def test_back_and_send_again_lands_on_the_first_confirmation(page: Page, live_server):
    fill_referral(page, live_server.url)
    page.get_by_label("I work on this case").check()
    page.get_by_role("button", name="Send referral").click()
    expect(page.get_by_role("heading", name="Referral received")).to_be_visible()
    reference = page.locator("#reference").inner_text()
    page.go_back()
    expect(page.get_by_role("button", name="Send referral")).to_be_enabled()
    # The form page is never cached, so it loads again: the person fills it in again.
    fill_referral(page, live_server.url)
    page.get_by_label("I work on this case").check()
    page.get_by_role("button", name="Send referral").click()
    expect(page.get_by_role("heading", name="Referral received")).to_be_visible()
    assert page.locator("#reference").inner_text() == reference
    assert Referral.objects.count() == 1


def _contrast(page: Page, colour: str) -> float:
    """Contrast ratio of a CSS colour against white."""
    return page.evaluate(
        """(colour) => {
            const [r, g, b] = colour.match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number)
              .map(v => v / 255).map(v => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
            const l = 0.2126 * r + 0.7152 * g + 0.0722 * b;
            return 1.05 / (l + 0.05);
        }""",
        colour,
    )


def test_radios_checkboxes_and_focus_can_be_seen(page: Page, live_server):
    page.goto(live_server.url + "/refer/")
    for label in ("Missing from care", "Case-based assistance developing", "I work on this case"):
        control = page.get_by_label(label)
        colour = control.evaluate("e => getComputedStyle(e).borderTopColor")
        assert _contrast(page, colour) >= 3, (label, colour)
    for control in (page.get_by_label("Your name"), page.get_by_label("Missing from care")):
        control.focus()
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Tab")
        style = control.evaluate(
            "e => { const s = getComputedStyle(e);"
            " return [s.outlineStyle, s.outlineWidth, s.outlineColor]; }"
        )
        assert style[0] != "none" and float(style[1].rstrip("px")) >= 2, style
        assert _contrast(page, style[2]) >= 3, style
