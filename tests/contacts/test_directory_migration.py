"""contacts 0002: an organization's old free-text services become one service of it."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("contacts", "0001_initial")]
AFTER = [("contacts", "0002_directory")]


@pytest.mark.django_db(transaction=True)
def test_old_partner_rows_become_services_and_come_back(reference_data):
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    Organization = old.get_model("contacts", "PartnerOrganization")
    Jurisdiction = old.get_model("regions", "Jurisdiction")
    organization = Organization.objects.create(
        name="Safe Harbor Youth", description="Shelter", services="Emergency housing"
    )
    organization.areas_served.set(Jurisdiction.objects.filter(code__in=["MN", "WI"]))
    Organization.objects.create(name="National Line", description="", services="", is_national=True)

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    Service = new.get_model("contacts", "PartnerService")
    shelter = Service.objects.get(organization__name="Safe Harbor Youth")
    assert (shelter.name, shelter.description, shelter.is_national) == (
        "Services",
        "Emergency housing",
        False,
    )
    assert sorted(shelter.areas.values_list("jurisdiction_id", flat=True)) == ["MN", "WI"]
    assert Service.objects.get(organization__name="National Line").is_national
    uids = new.get_model("contacts", "PartnerOrganization").objects.values_list("uid", flat=True)
    assert len(set(uids)) == 2 and None not in uids

    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    back = old.get_model("contacts", "PartnerOrganization").objects.get(name="Safe Harbor Youth")
    assert back.services == "Services: Emergency housing"
    assert sorted(back.areas_served.values_list("code", flat=True)) == ["MN", "WI"]

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
