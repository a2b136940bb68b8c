"""Plain `pytest` brings its own test environment (pyproject.toml), and no more than that."""

import os
import subprocess
import sys

from django.conf import settings


def test_plain_pytest_needs_no_environment():
    # settings.py refuses to start without these when DEBUG is off (the default).
    environment = {
        k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "SITE_URL", "DEBUG")
    }
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-pno:cacheprovider", __file__],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 tests collected" in result.stdout


def test_only_the_browser_tests_allow_the_orm_beside_an_event_loop():
    # tests/e2e/conftest.py sets it while Playwright runs; nothing else may rely on it.
    assert "DJANGO_ALLOW_ASYNC_UNSAFE" not in os.environ
