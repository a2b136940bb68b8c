"""The referral page's actions in Chromium on a slow line: each acts once when double-clicked,
refusals come back on their field at the referral's own address, the page fits a phone,
its focus rings can be seen, and axe-core finds nothing serious."""

import os
import re
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import Page, expect

from referrals import services
from referrals.models import Referral, ReferralEvent
from regions.models import ResourceSpecialist
from tests.contacts.factories import ServiceFactory
from tests.factories import ReferralFactory, SpecialistFactory

from .test_referral_journey import log_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("reference_data")]

AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 768}
# A round trip of at least 2 × 400 ms: long enough for a second click to land mid-request.
LATENCY_MS = 400
# Where the screenshots of the referral page go, to be looked at.
SCREENSHOTS = Path(os.environ.get("RST_SCREENSHOT_DIR", tempfile.gettempdir()))
LONG_URL = "https://example.org/" + "/".join(["case-notes-and-documents"] * 12) + "?id=" + "9" * 60


def slow_network(page: Page) -> None:
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": LATENCY_MS,
            "downloadThroughput": -1,
            "uploadThroughput": -1,
        },
    )


def success(page: Page):
    return page.locator(".alert-success")


def count(referral, kind: str) -> int:
    return ReferralEvent.objects.filter(referral=referral, kind=kind).count()


def test_double_clicking_every_action_acts_once(page: Page, live_server, specialist_user):
    resource = ServiceFactory(areas=["MN"])
    worked = ReferralFactory()  # Minnesota, Stacy's
    moved = ReferralFactory()
    colleagues = ReferralFactory(
        assigned_specialist=SpecialistFactory(region=specialist_user.resource_specialist.region)
    )
    log_in(page, live_server.url, specialist_user.username)
    slow_network(page)
    page.goto(live_server.url + worked.get_absolute_url())

    acknowledge = page.locator("#action-acknowledge")
    acknowledge.get_by_label("Phone").check()
    acknowledge.get_by_role("button", name="Acknowledge (first contact made)").dblclick()
    expect(success(page)).to_contain_text("first contact with the referrer is recorded")

    note = page.locator("#id_note_text")
    note.fill("Spoke with the caseworker; a plan call tomorrow.")
    save = page.get_by_role("button", name="Save note")
    save.dblclick()
    expect(success(page)).to_have_text("Note added.")

    page.get_by_text("Record a contact attempt").click()
    contact = page.locator("#action-contact")
    contact.get_by_label("E-mail").check()
    contact.get_by_label("Left a message").check()
    contact.get_by_role("button", name="Record contact").dblclick()
    expect(success(page)).to_have_text("Contact attempt recorded.")

    page.get_by_role("button", name="Move to in progress").dblclick()
    expect(success(page)).to_have_text("Moved to in progress.")

    page.get_by_text("Share resources from the directory").click()
    page.get_by_label(f"{resource.organization.name} – {resource.name}").check()
    page.get_by_role("button", name="Record as shared").dblclick()
    expect(success(page)).to_contain_text("Resources shared")

    page.get_by_text("Close the referral").click()
    page.get_by_label("Outcome").select_option("connected")
    page.get_by_label("Closing note").fill("Connected to the local advocacy center.")
    page.get_by_role("button", name="Close", exact=True).dblclick()
    expect(success(page)).to_have_text("Closed: Connected to resources.")

    page.goto(live_server.url + moved.get_absolute_url())
    page.get_by_text("Transfer to another state or territory").click()
    page.get_by_label("The case is now in").select_option("AZ")
    expect(page.locator("#transfer-destination")).to_contain_text(
        "Arizona (AZ) is in Region 4 – South Central & Mountain: the referral will leave your queue"
    )
    page.get_by_label("Why (for example: the child moved)").fill("Moved to Phoenix.")
    page.get_by_role("button", name="Transfer", exact=True).dblclick()
    expect(success(page)).to_contain_text("Transferred to Arizona (AZ)")
    expect(success(page)).to_contain_text("It is no longer in your queue.")
    assert page.url == live_server.url + "/queue/"

    page.goto(live_server.url + colleagues.get_absolute_url())
    page.get_by_role("button", name="Take over (assign to me)").dblclick()
    expect(success(page)).to_have_text("The referral is now assigned to you.")

    for kind in ("acknowledged", "note", "contact", "started", "resources", "closed"):
        assert count(worked, kind) == 1, kind
    assert count(moved, "transferred") == 1
    assert count(colleagues, "reassigned") == 1
    stacy = ResourceSpecialist.objects.get(user=specialist_user)
    assert Referral.objects.get(pk=colleagues.pk).assigned_specialist == stacy


def test_the_button_waits_while_sending_and_works_again_after_back(
    page: Page, live_server, specialist_user
):
    referral = ReferralFactory()
    log_in(page, live_server.url, specialist_user.username)
    page.goto(live_server.url + referral.get_absolute_url())
    slow_network(page)
    page.get_by_text("Add a note").click()  # a new referral opens on "first contact"
    page.locator("#id_note_text").fill("Left a voicemail.")
    save = page.get_by_role("button", name="Save note")
    # Right after the click (the answer takes two round trips at least): button off.
    state = save.evaluate(
        "button => { button.click(); return [button.disabled, button.textContent]; }"
    )
    assert state == [True, "Saving…"]
    expect(success(page)).to_have_text("Note added.")
    page.go_back()
    again = page.locator("#action-note button[type=submit]")
    expect(again).to_be_enabled()
    expect(again).to_have_text("Save note")
    assert count(referral, "note") == 1


def test_a_note_too_long_is_counted_refused_and_kept(page: Page, live_server, specialist_user):
    referral = ReferralFactory()
    log_in(page, live_server.url, specialist_user.username)
    page.set_viewport_size(PHONE)
    page.goto(live_server.url + referral.get_absolute_url())
    page.get_by_text("Add a note").click()
    note = page.locator("#id_note_text")
    pasted = ("A long timeline pasted from the case file. " * 120).strip()  # 5,159
    note.fill(pasted)
    expect(page.locator("#id_note_text_count")).to_have_text(
        re.compile(r"^159 characters too many \(5,159 of 5,000\)")
    )
    page.get_by_role("button", name="Save note").click()

    # Back at the referral's own address, the error on the field, the text all there.
    assert page.url == live_server.url + referral.get_absolute_url()
    note = page.locator("#id_note_text")
    expect(note).to_be_focused()
    expect(page.locator("#id_note_text_error")).to_contain_text(
        "Keep this to 5,000 characters (it has 5,159)."
    )
    assert len(note.input_value()) == len(pasted)
    assert count(referral, "note") == 0
    # A reload is a plain GET of the referral (nothing asks to send the form again).
    response = page.reload()
    assert response.status == 200 and response.request.method == "GET"
    expect(page.locator("#id_note_text_error")).to_have_count(0)


def test_the_page_fits_a_phone_with_the_actions_first(page: Page, live_server, specialist_user):
    referral = ReferralFactory(summary="Placement notes at " + LONG_URL + " — " + "x" * 150)
    services.referral_add_note(referral=referral, actor=specialist_user, text=f"See {LONG_URL}")
    log_in(page, live_server.url, specialist_user.username)
    page.set_viewport_size(PHONE)
    page.goto(live_server.url + referral.get_absolute_url())
    expect(page.get_by_text(LONG_URL).first).to_be_visible()

    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"the page scrolls sideways: {widths}"
    acknowledge = page.get_by_role("button", name="Acknowledge (first contact made)")
    details = page.get_by_role("heading", name="The case")
    assert acknowledge.bounding_box()["y"] < details.bounding_box()["y"]
    assert acknowledge.bounding_box()["y"] < PHONE["height"]  # on the first screen
    page.screenshot(path=SCREENSHOTS / "referral_page_390.png", full_page=True)

    page.set_viewport_size(LAPTOP)
    page.goto(live_server.url + referral.get_absolute_url())
    # Wide screens: the details on the left, the actions beside them on the right.
    assert acknowledge.bounding_box()["x"] > details.bounding_box()["x"]
    page.screenshot(path=SCREENSHOTS / "referral_page_1366.png", full_page=True)


# Contrast of focus rings (axe-core does not check them).
FOCUS_RING = """() => {
  const rgb = (text) => {
    const parts = text.match(/rgba?\\(([^)]+)\\)/)[1].split(",").map(parseFloat);
    return {r: parts[0], g: parts[1], b: parts[2], a: parts.length > 3 ? parts[3] : 1};
  };
  const luminance = (c) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  };
  const contrast = (a, b) => {
    const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  };
  // What the ring is drawn on: the nearest opaque background around the element.
  const around = (element) => {
    for (let e = element.parentElement; e; e = e.parentElement) {
      const colour = rgb(getComputedStyle(e).backgroundColor);
      if (colour.a > 0.5) return colour;
    }
    return {r: 255, g: 255, b: 255, a: 1};
  };
  const element = document.activeElement;
  const style = getComputedStyle(element);
  const seen = element.dataset.rstFocusSeen === "1";
  element.dataset.rstFocusSeen = "1";
  return {
    seen: seen,
    element: element.tagName + (element.id ? "#" + element.id : "") +
      " " + (element.textContent || element.name || "").trim().slice(0, 30),
    tag: element.tagName,
    style: style.outlineStyle,
    width: parseFloat(style.outlineWidth),
    contrast: contrast(rgb(style.outlineColor), around(element)),
  };
}"""


def test_every_focus_ring_on_the_referral_page_has_3_to_1(page: Page, live_server, specialist_user):
    ServiceFactory(areas=["MN"])
    referral = ReferralFactory()
    log_in(page, live_server.url, specialist_user.username)
    page.set_viewport_size(LAPTOP)
    page.goto(live_server.url + referral.get_absolute_url())
    page.evaluate("() => document.querySelectorAll('details').forEach((d) => { d.open = true; })")
    page.locator("body").focus()
    rings = []
    for _ in range(250):  # once round the page (a date and time input takes several stops)
        page.keyboard.press("Tab")
        ring = page.evaluate(FOCUS_RING)
        if ring["tag"] == "BODY":
            break
        if not ring["seen"]:
            rings.append(ring)
    tags = {ring["tag"] for ring in rings}
    assert {"INPUT", "SELECT", "TEXTAREA", "BUTTON", "SUMMARY", "A"} <= tags, tags
    assert any("Transfer" in ring["element"] for ring in rings)
    weak = [r for r in rings if r["style"] == "none" or r["width"] < 2 or r["contrast"] < 3]
    assert weak == [], weak


# axe-core, run through the DevTools protocol: the page's CSP stays on.


def axe_violations(page: Page) -> list[str]:
    page.evaluate(AXE.read_text())
    results = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("viewport", [PHONE, LAPTOP], ids=["390px", "1366px"])
def test_the_referral_page_is_axe_clean(page: Page, live_server, specialist_user, viewport):
    referral = ReferralFactory(first_contact_due_at=timezone.now() - timedelta(hours=1))
    services.referral_add_note(referral=referral, actor=specialist_user, text=f"See {LONG_URL}")
    log_in(page, live_server.url, specialist_user.username)
    page.set_viewport_size(viewport)
    page.goto(live_server.url + referral.get_absolute_url())
    page.evaluate("() => document.querySelectorAll('details').forEach((d) => { d.open = true; })")
    assert axe_violations(page) == []
    # As it comes back with an error on a field.
    page.locator("#id_note_text").fill("x" * 5001)
    page.get_by_role("button", name="Save note").click()
    expect(page.locator("#id_note_text_error")).to_be_visible()
    assert axe_violations(page) == []
