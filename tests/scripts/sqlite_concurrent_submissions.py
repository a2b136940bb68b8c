"""Submit 12 referrals at once on a SQLite file and print how many failed (for test_settings)."""

import os
import sys
import threading
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rst_portal.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from referrals.models import Referral, Service  # noqa: E402
from referrals.services import referral_create  # noqa: E402
from regions.models import Jurisdiction  # noqa: E402

SUBMISSIONS = 12

call_command("migrate", verbosity=0)
call_command(
    "loaddata",
    "regions",
    "jurisdictions",
    "specialists",
    "services",
    "program_contacts",
    verbosity=0,
)
minnesota = Jurisdiction.objects.select_related("region").get(code="MN")
services = list(Service.objects.filter(number=1))
barrier = threading.Barrier(SUBMISSIONS)
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
            jurisdiction=minnesota,
            county="",
            child_initials="AB",
            child_age=15,
            child_status="missing",
            status_date="2026-11-20",
            ncmec_case_number="",
            law_enforcement_involved="unknown",
            urgency="routine",
            summary="Concurrent submission on SQLite.",
        )
    except Exception as error:  # noqa: BLE001 - counted and printed
        errors.append(repr(error))
    finally:
        connection.close()


threads = [threading.Thread(target=submit) for _ in range(SUBMISSIONS)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join(timeout=60)
print(f"failed={len(errors)} created={Referral.objects.count()}")
for error in errors[:3]:
    print(error)
