"""Submit many referrals at the same moment from threads (for the concurrency tests)."""

import threading
import time
import uuid

from django.db import connection

from referrals.models import Service
from referrals.services import referral_create
from regions.models import Jurisdiction


def submit_at_once(count: int, *, code: str = "MN") -> list[str]:
    """Create `count` referrals in `code` from `count` threads released together.

    Returns the errors the submissions raised (empty when every one landed).
    """
    jurisdiction = Jurisdiction.objects.select_related("region").get(code=code)
    services = list(Service.objects.filter(number=1))
    barrier = threading.Barrier(count)
    errors = []

    def submit():
        try:
            barrier.wait(timeout=10)
            referral_create(
                submission_token=uuid.uuid4().hex,
                services=services,
                referrer_name="Load Test",
                referrer_role="child_welfare",
                agency="Agency",
                referrer_email="load@example.org",
                referrer_phone="612-555-0100",
                jurisdiction=jurisdiction,
                county="",
                child_initials="AB",
                child_age=15,
                child_status="missing",
                status_date="2026-11-20",
                ncmec_case_number="",
                law_enforcement_involved="unknown",
                urgency="routine",
                summary="Concurrent submission for the concurrency tests.",
            )
        except Exception as error:  # noqa: BLE001 - returned to the test
            errors.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


def waiting_for_locks() -> int:
    """How many PostgreSQL sessions wait for a lock right now."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted")
        return cursor.fetchone()[0]


def wait_until_waiting(count: int, *, what: str = "the request") -> None:
    """Wait (10 s at most) until `count` sessions queue at a lock the test holds."""
    deadline = time.monotonic() + 10
    while waiting_for_locks() < count:
        assert time.monotonic() < deadline, f"{what} never reached the lock"
        time.sleep(0.02)
