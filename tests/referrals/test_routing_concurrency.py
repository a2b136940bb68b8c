"""Concurrent submissions spread across a region's specialists (PostgreSQL row locks)."""

from collections import Counter

import pytest
from django.db import connection

from referrals.counts import open_count_drift
from referrals.models import Referral
from regions.models import Region, ResourceSpecialist
from tests.concurrency import submit_at_once
from tests.factories import SpecialistFactory

SUBMISSIONS = 12


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite serialises writers and has no row locks; CI runs this on PostgreSQL "
    "(RST_REQUIRE_POSTGRES=1 makes a non-PostgreSQL CI run fail).",
)
@pytest.mark.django_db(
    transaction=True,
)
def test_concurrent_submissions_are_balanced_between_two_specialists(reference_data):
    region = Region.objects.get(number=3)
    second = SpecialistFactory(region=region, name="Second Specialist")
    stacy = ResourceSpecialist.objects.get(name="Stacy Schultz")
    errors = submit_at_once(SUBMISSIONS, code="MN")

    assert errors == []
    load = Counter(Referral.objects.values_list("assigned_specialist", flat=True))
    assert load == {stacy.pk: SUBMISSIONS // 2, second.pk: SUBMISSIONS // 2}
    # The kept counts routing reads saw every one of them.
    assert open_count_drift() == []
