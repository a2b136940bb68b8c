"""manage.py load_reference_data fills an empty database once and never undoes a change."""

from io import StringIO

import pytest
from django.core.management import call_command

from contacts.models import ProgramContact
from regions.management.commands.load_reference_data import reference_models
from regions.models import Jurisdiction, Region

pytestmark = pytest.mark.usefixtures("reference_data")


def load_reference_data() -> str:
    out = StringIO()
    call_command("load_reference_data", stdout=out)
    return out.getvalue()


def empty_the_reference_tables():
    for model in reversed(reference_models()):
        model.objects.all().delete()


def test_an_empty_database_gets_all_the_reference_data():
    empty_the_reference_tables()

    output = load_reference_data()

    assert Jurisdiction.objects.count() == 56
    assert Region.objects.count() == 5
    assert "Loaded the reference data: 5 regions, 56 jurisdictions" in output


def test_a_second_run_loads_nothing_and_says_so():
    empty_the_reference_tables()
    load_reference_data()

    output = load_reference_data()

    assert "Reference data already present (5 regions, 56 jurisdictions" in output
    assert "nothing loaded" in output
    assert Jurisdiction.objects.count() == 56


def test_the_supervisors_mapping_changes_are_kept():
    moved = Jurisdiction.objects.get(code="PR")
    west = Region.objects.get(number=5)
    moved.region = west
    moved.save()
    Region.objects.filter(number=1).update(name="Atlantic")
    ProgramContact.objects.all().first().delete()
    contacts = ProgramContact.objects.count()

    load_reference_data()

    assert Jurisdiction.objects.get(code="PR").region == west
    assert Region.objects.get(number=1).name == "Atlantic"
    assert ProgramContact.objects.count() == contacts
