"""The fixtures hold the facts from the source documents and load idempotently."""

import json

import pytest
import us
from django.conf import settings
from django.core.management import call_command

from contacts.models import ProgramContact
from referrals.models import Service
from regions.models import Jurisdiction, Region, ResourceSpecialist
from regions.reference import PROVISIONAL_REGIONS, REFERENCE_FIXTURES, jurisdiction_fixture

pytestmark = pytest.mark.usefixtures("reference_data")


def test_jurisdiction_fixture_is_generated_from_the_us_package():
    on_disk = json.loads((settings.BASE_DIR / "fixtures" / "jurisdictions.json").read_text())
    assert on_disk == jurisdiction_fixture()


def test_all_56_jurisdictions_are_loaded_each_in_one_region():
    assert Jurisdiction.objects.count() == 56
    assert not Jurisdiction.objects.filter(region__isnull=True).exists()
    expected = {s.abbr for s in us.states.STATES_AND_TERRITORIES}
    assert set(Jurisdiction.objects.values_list("code", flat=True)) == expected
    mapped = [code for _, codes in PROVISIONAL_REGIONS.values() for code in codes.split()]
    assert len(mapped) == len(set(mapped)) == 56


def test_kinds_and_names_come_from_the_package():
    assert Jurisdiction.objects.get(code="DC").kind == "district"
    assert Jurisdiction.objects.get(code="MP").name == "Northern Mariana Islands"
    assert set(Jurisdiction.objects.filter(kind="territory").values_list("code", flat=True)) == {
        "GU",
        "MP",
        "PR",
        "AS",
        "VI",
    }


def test_specialists_and_services_match_the_documents():
    assert list(
        ResourceSpecialist.objects.order_by("region__number").values_list(
            "region__number", "name", "email", "phone"
        )
    ) == [
        (1, "Brittany Butler", "BButler@ncmec.org", "571.228.3552"),
        (2, "Teresa Musick", "TDMusick@ncmec.org", "571.645.6988"),
        (3, "Stacy Schultz", "SLSchultz@ncmec.org", "612.757.6586"),
        (4, "Kyla Conlee", "KBConlee@ncmec.org", "571.243.7123"),
        (5, "Courtney Desilet", "CMDesilet@ncmec.org", "571.645.6233"),
    ]
    assert Service.objects.count() == 6
    assert Service.objects.get(number=5).name == "Training and help with protocol development"


def test_loading_the_fixtures_twice_changes_nothing():
    def snapshot():
        return (
            list(Region.objects.values_list()),
            list(Jurisdiction.objects.values_list()),
            list(ResourceSpecialist.objects.values_list()),
            list(Service.objects.values_list()),
            list(ProgramContact.objects.values_list()),
        )

    before = snapshot()
    call_command("loaddata", *REFERENCE_FIXTURES, verbosity=0)
    assert snapshot() == before
