"""Data for the queue's query-plan tests (PostgreSQL): enough referrals, in two regions
and every status, that reading them all instead of an index would show in the plan."""

import random
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from referrals.models import Referral
from regions.models import Jurisdiction, ResourceSpecialist
from tests.factories import ReferralFactory


def seed_queue_for_plans(*, seed: int, count: int = 3000) -> None:
    """`count` referrals, a fifth in Minnesota (Region 3), the rest in Texas (Region 4),
    most closed; then ANALYZE, so the planner knows the table's shape."""
    mn, tx = (Jurisdiction.objects.select_related("region").get(code=c) for c in ("MN", "TX"))
    specialists = {s.region_id: s for s in ResourceSpecialist.objects.all()}
    now = timezone.now()
    rng = random.Random(seed)
    batch = []
    for n in range(count):
        jurisdiction = mn if n % 5 == 0 else tx
        status = rng.choice(["new", "acknowledged", "in_progress", "closed", "closed", "closed"])
        referral = ReferralFactory.build(
            jurisdiction=jurisdiction,
            region=jurisdiction.region,
            assigned_specialist=specialists[jurisdiction.region_id],
            status=status,
            outcome="connected" if status == "closed" else "",
            submitted_at=now - timedelta(minutes=n),
        )
        referral.first_contact_due_at = referral.submitted_at + timedelta(hours=24)
        batch.append(referral)
    Referral.objects.bulk_create(batch, batch_size=1000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE referrals_referral")
