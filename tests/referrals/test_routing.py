"""The routing rule: region by jurisdiction, then the least-loaded available specialist."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from referrals.models import Referral
from referrals.routing import route_jurisdiction, route_region
from regions.models import Jurisdiction, Region, ResourceSpecialist
from regions.reference import PROVISIONAL_REGIONS
from tests.factories import ReferralFactory, SpecialistFactory

pytestmark = pytest.mark.usefixtures("reference_data")

SPECIALIST_BY_REGION = {
    1: "Brittany Butler",
    2: "Teresa Musick",
    3: "Stacy Schultz",
    4: "Kyla Conlee",
    5: "Courtney Desilet",
}
EXPECTED = [
    (code, number)
    for number, (_name, codes) in sorted(PROVISIONAL_REGIONS.items())
    for code in codes.split()
]


def route(code):
    with transaction.atomic():
        return route_jurisdiction(jurisdiction=Jurisdiction.objects.get(code=code))


@pytest.mark.parametrize(("code", "region_number"), EXPECTED)
def test_each_jurisdiction_routes_to_its_regional_specialist(code, region_number):
    decision = route(code)
    assert decision.region.number == region_number
    assert decision.specialist.name == SPECIALIST_BY_REGION[region_number]
    assert decision.reason == (
        f"auto-routed: {code} → Region {region_number} → "
        f"{SPECIALIST_BY_REGION[region_number]} (0 open)"
    )


@pytest.mark.parametrize(("code", "region_number"), EXPECTED)
def test_each_jurisdiction_goes_to_supervisor_intake_when_its_specialist_is_away(
    code, region_number
):
    ResourceSpecialist.objects.filter(region__number=region_number).update(
        out_of_office_until=timezone.localdate()
    )
    decision = route(code)
    assert decision.is_supervisor_intake
    assert decision.region.number == region_number  # the region is kept
    assert "no Resource Specialist available" in decision.reason


def test_least_loaded_specialist_wins():
    region = Region.objects.get(number=3)
    stacy = ResourceSpecialist.objects.get(name="Stacy Schultz")
    second = SpecialistFactory(region=region, name="Second Specialist")
    ReferralFactory.create_batch(2, assigned_specialist=stacy)
    ReferralFactory(assigned_specialist=second)
    decision = route("MN")
    assert decision.specialist == second
    assert decision.reason.endswith("Second Specialist (1 open)")


def test_closed_referrals_do_not_count_as_load():
    region = Region.objects.get(number=3)
    stacy = ResourceSpecialist.objects.get(name="Stacy Schultz")
    second = SpecialistFactory(region=region)
    ReferralFactory.create_batch(
        3, assigned_specialist=stacy, status=Referral.Status.CLOSED, outcome="connected"
    )
    ReferralFactory(assigned_specialist=second)
    assert route("MN").specialist == stacy


def test_tie_goes_to_whoever_was_assigned_least_recently():
    region = Region.objects.get(number=3)
    stacy = ResourceSpecialist.objects.get(name="Stacy Schultz")
    second = SpecialistFactory(region=region)
    now = timezone.now()
    ResourceSpecialist.objects.filter(pk=stacy.pk).update(last_assigned_at=now)
    ResourceSpecialist.objects.filter(pk=second.pk).update(
        last_assigned_at=now - timedelta(hours=1)
    )
    assert route("WI").specialist == second
    ResourceSpecialist.objects.filter(pk=second.pk).update(
        last_assigned_at=now + timedelta(minutes=1)
    )
    assert route("WI").specialist == stacy


def test_never_assigned_counts_as_least_recent():
    region = Region.objects.get(number=3)
    ResourceSpecialist.objects.filter(region=region).update(last_assigned_at=timezone.now())
    newcomer = SpecialistFactory(region=region)
    assert route("IA").specialist == newcomer


def test_inactive_and_out_of_office_specialists_get_nothing():
    region = Region.objects.get(number=3)
    stacy = ResourceSpecialist.objects.get(name="Stacy Schultz")
    inactive = SpecialistFactory(region=region, is_active=False)
    away = SpecialistFactory(region=region, out_of_office_until=timezone.localdate())
    ReferralFactory.create_batch(5, assigned_specialist=stacy)
    assert route("MN").specialist == stacy
    assert inactive.pk and away.pk


def test_out_of_office_ends_the_day_after_the_date():
    stacy = ResourceSpecialist.objects.get(name="Stacy Schultz")
    stacy.out_of_office_until = timezone.localdate() - timedelta(days=1)
    stacy.save()
    assert route("MN").specialist == stacy


def test_jurisdiction_without_a_region_goes_to_supervisor_intake():
    Jurisdiction.objects.filter(code="GU").update(region=None)
    decision = route("GU")
    assert decision.region is None
    assert decision.specialist is None
    assert decision.reason == "supervisor intake: GU is not mapped to a region"


def test_region_without_available_specialists_keeps_the_region():
    ResourceSpecialist.objects.filter(region__number=3).update(is_active=False)
    with transaction.atomic():
        decision = route_region(region=Region.objects.get(number=3), origin="MN")
    assert decision.is_supervisor_intake
    assert decision.reason == ("supervisor intake: MN → Region 3: no Resource Specialist available")


@pytest.mark.django_db(
    transaction=True,
)
def test_routing_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError):
        route_jurisdiction(jurisdiction=Jurisdiction.objects.get(code="MN"))
