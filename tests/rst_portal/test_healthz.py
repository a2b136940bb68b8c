"""/healthz, as a load balancer or a monitor sees it: database, cache and task worker."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connections
from django.utils import timezone
from django_tasks import task
from django_tasks_db.models import DBTaskResult

pytestmark = pytest.mark.django_db

ALL_OK = {"status": "ok", "database": "ok", "cache": "ok", "worker": "ok"}
# Nothing listens here: a Redis server that is down.
REDIS_DOWN = "redis://127.0.0.1:6390/0"


@task()
def probe_task():
    """Stands in for a notification e-mail waiting for the worker."""
    return "sent"


def enqueue_waiting(*, due_for=None, run_after=None, enqueued_ago=timedelta(0)):
    """A READY task in the database queue, as the portal enqueues notifications."""
    if run_after is not None:
        result = probe_task.using(run_after=run_after).enqueue()
    else:
        result = probe_task.enqueue()
    DBTaskResult.objects.filter(pk=result.id).update(
        enqueued_at=timezone.now() - (due_for if due_for is not None else enqueued_ago)
    )
    return result


@pytest.fixture
def task_database(settings):
    """The production task backend (the task table in the same database)."""
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }


def test_healthz_touches_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == ALL_OK
    # A probe must never be answered from a cache between it and the portal.
    assert "no-cache" in response["Cache-Control"]


def test_healthz_reports_a_database_failure(client):
    connection = connections["default"]

    def refuse(*args, **kwargs):
        raise connection.Database.OperationalError("connection refused")

    # Every query fails the way a dropped database connection does (through Django's
    # own error wrapping), not through a stand-in for the view's import.
    original = connection.create_cursor
    connection.create_cursor = refuse
    try:
        response = client.get("/healthz")
    finally:
        connection.create_cursor = original
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["failed"] == ["database"]
    assert body["database"] == "unavailable"
    assert body["cache"] == "ok"
    assert body["worker"].startswith("not checked")
    assert "connection refused" not in response.content.decode()  # no internals leak


def test_cache_unavailable_answers_503_naming_the_cache(client, settings):
    # pytest-django's settings fixture sends setting_changed, which resets
    # django.core.cache.caches: the default cache is now a Redis nobody runs.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_DOWN,
        }
    }
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "error",
        "failed": ["cache"],
        "database": "ok",
        "cache": "unavailable",
        "worker": "ok",
    }


def test_a_cache_that_forgets_what_it_was_given_is_unhealthy(client, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["cache"]


# Transactional: db_worker closes connections that are inside a transaction, as the
# test's own would be.
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("task_database")
def test_silent_worker_answers_503_until_a_worker_takes_the_task(client, settings):
    settings.RST_HEALTH_WORKER_MAX_DELAY_SECONDS = 300
    enqueue_waiting(due_for=timedelta(minutes=10))

    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["worker"]
    assert body["database"] == "ok" and body["cache"] == "ok"
    assert body["worker"].startswith("silent: the oldest due task has waited 6")
    assert "(limit 300 s)" in body["worker"]

    # A worker comes back and runs what is due: healthy again.
    call_command("db_worker", batch=True, verbosity=0)
    assert DBTaskResult.objects.ready().count() == 0
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == ALL_OK


@pytest.mark.usefixtures("task_database")
def test_a_retry_whose_time_has_long_passed_counts_as_waiting(client):
    # A retry scheduled with back-off is due from its run_after, not from when it was
    # enqueued: enqueued an hour ago for 40 minutes later, it has waited 20 minutes.
    enqueue_waiting(
        run_after=timezone.now() - timedelta(minutes=20), enqueued_ago=timedelta(hours=1)
    )
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["worker"].startswith("silent: the oldest due task has waited 12")


@pytest.mark.usefixtures("task_database")
def test_a_queue_with_nothing_overdue_is_healthy(client, settings):
    settings.RST_HEALTH_WORKER_MAX_DELAY_SECONDS = 300
    # Just enqueued: the worker has not had its chance yet.
    enqueue_waiting(due_for=timedelta(seconds=30))
    # Long enqueued, but scheduled for later (a retry with back-off).
    enqueue_waiting(run_after=timezone.now() + timedelta(hours=1), enqueued_ago=timedelta(days=1))
    # Old, but already done.
    done = enqueue_waiting(due_for=timedelta(days=2))
    DBTaskResult.objects.filter(pk=done.id).update(status="SUCCESSFUL")

    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == ALL_OK


@pytest.mark.usefixtures("task_database")
def test_the_worker_limit_is_a_setting(client, settings):
    enqueue_waiting(due_for=timedelta(seconds=90))
    assert client.get("/healthz").status_code == 200  # default limit: 300 s

    settings.RST_HEALTH_WORKER_MAX_DELAY_SECONDS = 60
    response = client.get("/healthz")
    assert response.status_code == 503
    assert "(limit 60 s)" in response.json()["worker"]


def test_healthz_is_exempt_from_the_https_redirect(client, settings):
    # As in production; the project's own SECURE_REDIRECT_EXEMPT is what is tested.
    settings.SECURE_SSL_REDIRECT = True

    home = client.get("/")
    assert home.status_code == 301
    assert home["Location"] == "https://testserver/"
    assert client.get("/refer/").status_code == 301

    response = client.get("/healthz")  # plain HTTP, as a load balancer probes
    assert response.status_code == 200
    assert response.json() == ALL_OK
    # Only the exact path is exempt.
    assert client.get("/healthzx").status_code == 301


def test_a_failure_reaches_a_plain_http_probe_as_503_not_a_redirect(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_DOWN,
        }
    }
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["cache"]


def test_healthz_only_answers_reads(client):
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405
