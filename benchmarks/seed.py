"""Fill the benchmark database with a large queue and log a specialist in.

Prints one JSON line: the session cookie of Stacy Schultz (Region 3) and a
reference in her queue, for the page benchmarks.
"""

import argparse
import json
import os
import random
import sys
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rst_portal.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import (  # noqa: E402
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user_model,  # noqa: E402
)
from django.contrib.auth.models import Group  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.utils import timezone  # noqa: E402

from referrals.models import Referral, ReferralEvent, new_reference  # noqa: E402
from referrals.services import first_contact_due  # noqa: E402
from regions.models import Jurisdiction, ResourceSpecialist  # noqa: E402


def seed(count: int):
    jurisdictions = list(Jurisdiction.objects.select_related("region"))
    specialists = {s.region_id: s for s in ResourceSpecialist.objects.all()}
    now = timezone.now()
    rng = random.Random(42)  # noqa: S311 - test data
    statuses = ["new", "acknowledged", "in_progress", "closed"]
    batch = []
    for _ in range(count):
        jurisdiction = rng.choice(jurisdictions)
        status = rng.choice(statuses)
        submitted = now - timedelta(minutes=rng.randint(1, 60 * 24 * 90))
        # Drawn in the order they always were, so the same seed gives the same queue.
        agency = f"Agency {rng.randint(1, 500)}"
        child_age = rng.randint(0, 21)
        urgency = rng.choice(["routine", "routine", "urgent"])
        batch.append(
            Referral(
                reference=new_reference(),
                submission_token=uuid.uuid4().hex,
                referrer_name="Seed Referrer",
                referrer_role="child_welfare",
                agency=agency,
                referrer_email="seed@example.org",
                referrer_phone="612-555-0100",
                jurisdiction=jurisdiction,
                child_initials="AB",
                child_age=child_age,
                child_status="missing",
                status_date=timezone.localdate(submitted),  # never after the submission
                law_enforcement_involved="unknown",
                urgency=urgency,
                summary="Seeded referral for the benchmark.",
                consent_at=submitted,
                submitted_at=submitted,
                first_contact_due_at=first_contact_due(submitted_at=submitted, urgency=urgency),
                first_contacted_at=None if status == "new" else submitted + timedelta(hours=3),
                status=status,
                outcome="connected" if status == "closed" else "",
                region=jurisdiction.region,
                assigned_specialist=specialists.get(jurisdiction.region_id),
            )
        )
    Referral.objects.bulk_create(batch, batch_size=2000)
    sample = Referral.objects.filter(region__number=3).first()
    ReferralEvent.objects.bulk_create(
        ReferralEvent(referral=sample, kind="note", message=f"Seeded note {n}") for n in range(30)
    )
    return sample


def specialist_session():
    stacy = ResourceSpecialist.objects.get(name="Stacy Schultz")
    user, _ = get_user_model().objects.get_or_create(username="bench-stacy")
    user.groups.add(Group.objects.get(name="Resource Specialists"))
    stacy.user = user
    stacy.save(update_fields=["user"])
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=50_000)
    args = parser.parse_args()
    sample = seed(args.count)
    print(json.dumps({"cookie": specialist_session(), "reference": sample.reference}))
