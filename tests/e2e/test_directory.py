"""The region map and the partner directory in a real Chromium: axe-core, keyboard focus, CSP."""

from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import Page

from tests.contacts.factories import ServiceFactory
from tests.helpers import as_user

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("reference_data")]

AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
AXE_URL = "/__test__/axe.min.js"


def violations(page: Page, base_url: str) -> list[str]:
    """Serious and critical axe-core findings, with the site's CSP in force.

    axe-core is served from the site's own origin (a routed URL), so script-src 'self'
    lets it run and any CSP violation of the page itself still fails the test.
    """
    page.route(
        base_url + AXE_URL,
        lambda route: route.fulfill(path=str(AXE), content_type="application/javascript"),
    )
    page.add_script_tag(url=base_url + AXE_URL)
    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def log_in(page: Page, base_url: str, user) -> None:
    """Carry a test client's logged-in (and, where required, verified) session into Chromium."""
    session = as_user(user).cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": base_url}]
    )


@pytest.mark.parametrize("width", [390, 1366])
def test_the_pages_with_the_map_pass_axe(page: Page, live_server, width):
    page.set_viewport_size({"width": width, "height": 900})
    for path in ("/specialists/?jurisdiction=MN", "/specialists/", "/"):
        page.goto(live_server.url + path)
        assert page.locator("a.rst-tile").count() == 56
        assert violations(page, live_server.url) == [], path


def test_tiles_take_keyboard_focus_visibly_and_lead_to_the_answer(page: Page, live_server):
    page.goto(live_server.url + "/specialists/")
    tile = page.locator('a.rst-tile[data-jurisdiction="MN"]')
    background = tile.locator(".rst-tile-bg")
    resting = background.evaluate("e => getComputedStyle(e).fill")
    page.locator('a.rst-tile[data-jurisdiction="ND"]').focus()
    page.keyboard.press("Tab")  # reading order: ND, then MN
    assert tile.evaluate("e => e === document.activeElement")
    focused = background.evaluate("e => [getComputedStyle(e).fill, getComputedStyle(e).stroke]")
    assert focused == ["rgb(255, 255, 255)", "rgb(0, 0, 0)"] != [resting, "none"]
    page.keyboard.press("Enter")
    page.wait_for_url("**/specialists/?jurisdiction=MN")
    assert page.get_by_role("heading", name="Minnesota is in Region 3 – Midwest").is_visible()


def test_the_skip_link_passes_the_map(page: Page, live_server):
    page.goto(live_server.url + "/specialists/")
    page.locator("#id_jurisdiction").focus()
    page.keyboard.press("Tab")  # the Show button
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip the map")
    assert skip.evaluate("e => e === document.activeElement")
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    # The next stop is after the map: the first link of the regions' list.
    assert page.evaluate("document.activeElement.closest('svg') === null")


@pytest.mark.parametrize("width", [390, 1366])
def test_the_directory_search_passes_axe(page: Page, live_server, specialist_user, width):
    ServiceFactory(
        name="Youth advocacy",
        areas=[("MN", "Hennepin County")],
        topics=["survivor-services", "housing"],
        languages=["en", "so"],
        minimum_age=12,
        maximum_age=24,
    )
    ServiceFactory(name="National line", is_national=True, topics=["hotline"], phone="988")
    log_in(page, live_server.url, specialist_user)
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(live_server.url + "/directory/?jurisdiction=MN")
    assert page.get_by_role("heading", name="2 services for Minnesota (MN)").is_visible()
    assert violations(page, live_server.url) == []
    page.get_by_label("Topic", exact=True).select_option("housing")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**topic=housing**")
    assert page.get_by_role("heading", name="1 service for Minnesota (MN)").is_visible()
    page.get_by_role("link", name="Youth advocacy").click()
    assert page.get_by_role("heading", name="Youth advocacy").is_visible()
    assert violations(page, live_server.url) == []
