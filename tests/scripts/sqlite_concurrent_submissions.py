"""Submit 12 referrals at once on a SQLite file and print how many failed (for test_settings)."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rst_portal.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from referrals.models import Referral  # noqa: E402
from regions.reference import REFERENCE_FIXTURES  # noqa: E402
from tests.concurrency import submit_at_once  # noqa: E402

SUBMISSIONS = 12

call_command("migrate", verbosity=0)
call_command("loaddata", *REFERENCE_FIXTURES, verbosity=0)
errors = submit_at_once(SUBMISSIONS, code="MN")
print(f"failed={len(errors)} created={Referral.objects.count()}")
for error in errors[:3]:
    print(error)
