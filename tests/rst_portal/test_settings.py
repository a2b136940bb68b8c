"""Settings come from the environment and are safe for production."""

import os
import subprocess
import sys

from django.conf import settings


def run_manage(*args, **env):
    environment = {
        k: v
        for k, v in os.environ.items()
        if k not in ("SECRET_KEY", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE", "SITE_URL")
    }
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_missing_secret_key_with_debug_off_is_a_startup_error():
    result = run_manage("check", DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_missing_site_url_with_debug_off_is_a_startup_error():
    result = run_manage("check", DEBUG="false", SECRET_KEY="x" * 60)
    assert result.returncode != 0
    assert "SITE_URL is not set" in result.stderr


def test_debug_on_runs_without_a_secret_key():
    assert run_manage("check", DEBUG="true").returncode == 0


def test_check_deploy_is_clean_with_production_settings():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="false",
        SECRET_KEY="x" * 20 + "production-like-secret-key-with-enough-entropy-1234567890",
        ALLOWED_HOSTS="rst.example.org",
        SITE_URL="https://rst.example.org",
        CACHE_URL="redis://127.0.0.1:6379/0",
        DATABASE_URL="sqlite:////tmp/rst-check-deploy.sqlite3",
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_check_deploy_refuses_a_process_local_cache_in_production():
    result = run_manage(
        "check",
        "--deploy",
        DEBUG="false",
        SECRET_KEY="x" * 20 + "production-like-secret-key-with-enough-entropy-1234567890",
        ALLOWED_HOSTS="rst.example.org",
        SITE_URL="https://rst.example.org",
        CACHE_URL="locmemcache://",
    )
    assert result.returncode != 0
    assert "django_ratelimit.E003" in result.stderr


def test_simultaneous_submissions_on_the_sqlite_default_all_land(tmp_path):
    # The test database is in memory; this needs a real file, as `scripts/serve` uses.
    result = subprocess.run(
        [sys.executable, "tests/scripts/sqlite_concurrent_submissions.py"],
        cwd=settings.BASE_DIR,
        env={
            **os.environ,
            "DEBUG": "true",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'portal.sqlite3'}",
        },
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    assert "failed=0 created=12" in result.stdout, result.stdout
