"""Real Chromium for end-to-end tests (Debian's package; Playwright cannot download one here)."""

import os

import pytest

CHROMIUM = os.environ.get("RST_CHROMIUM", "/usr/bin/chromium")


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
