"""Real Chromium for end-to-end tests (Debian's package; Playwright cannot download one here)."""

import os
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("RST_CHROMIUM", "/usr/bin/chromium")
E2E_TESTS = Path(__file__).parent


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Run the browser tests after every other test.

    From the first browser test to the end of the session, sync Playwright keeps an event
    loop running in the main thread, and Django refuses the ORM in such a thread. Run last,
    no other test runs beside that loop (pytest-django has already put the database tests
    first; the sort keeps its order otherwise).
    """
    items.sort(key=lambda item: item.path.is_relative_to(E2E_TESTS))


@pytest.fixture(scope="session")
def playwright(playwright):
    """Allow the ORM in the main thread for as long as Playwright's event loop runs there.

    Session-wide, like the loop: the test database may be created, and each test's rows
    are flushed, while it runs, before or after any function fixture. This override of
    pytest-playwright's fixture exists for the tests under tests/e2e only.
    """
    with pytest.MonkeyPatch.context() as environment:
        environment.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield playwright


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    # A missing browser must fail the run, not skip it: scripts/test installs it.
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture(scope="session", autouse=True)
def _plain_http_live_server():
    """The live server is session-wide and reads SECURE_SSL_REDIRECT when it starts."""
    from django.conf import settings

    settings.SECURE_SSL_REDIRECT = False
    settings.SECURE_HSTS_SECONDS = 0


@pytest.fixture(autouse=True)
def _no_browser_errors(page):
    """Fail on any console error or uncaught exception, CSP violations included."""
    errors = []
    # A form sent back with its errors answers 400 on purpose; the browser logs that.
    expected = "the server responded with a status of 400"

    def on_console(message):
        if message.type == "error" and expected not in message.text:
            errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield
    assert errors == []
