"""Exporting the partner directory: HSDS JSON (organizations / services / service_areas) and CSV."""

import csv
import io
import json
import uuid
from datetime import date

import pytest
from django.core.management import call_command

from contacts import exchange
from contacts.models import PartnerService
from tests.factories import UserFactory
from tests.helpers import as_user

from .factories import OrganizationFactory, ServiceFactory

pytestmark = pytest.mark.usefixtures("reference_data")

# The HSDS 3.0 fields the export promises, with their JSON types (None: may be null).
STRING, INTEGER, NULL = str, int, type(None)
SCHEMA = {
    "organizations": {
        "required": {"id": STRING, "name": STRING, "description": STRING},
        "optional": {"website": (STRING, NULL), "email": (STRING, NULL)},
    },
    "services": {
        "required": {"id": STRING, "organization_id": STRING, "name": STRING, "status": STRING},
        "optional": {
            "description": (STRING, NULL),
            "url": (STRING, NULL),
            "email": (STRING, NULL),
            "interpretation_services": (STRING, NULL),
            "application_process": (STRING, NULL),
            "eligibility_description": (STRING, NULL),
            "minimum_age": (INTEGER, NULL),
            "maximum_age": (INTEGER, NULL),
            "assured_date": (STRING, NULL),
        },
    },
    "service_areas": {
        "required": {"id": STRING, "service_id": STRING, "name": STRING},
        "optional": {"description": (STRING, NULL)},
    },
    "languages": {
        "required": {"id": STRING, "service_id": STRING, "name": STRING, "code": STRING},
        "optional": {},
    },
    "phones": {"required": {"id": STRING, "number": STRING}, "optional": {}},
    "taxonomy_terms": {
        "required": {"id": STRING, "code": STRING, "name": STRING, "description": STRING},
        "optional": {"taxonomy": (STRING, NULL)},
    },
    "attributes": {
        "required": {
            "id": STRING,
            "link_id": STRING,
            "link_type": STRING,
            "link_entity": STRING,
            "taxonomy_term_id": STRING,
        },
        "optional": {},
    },
}
HSDS_STATUSES = {"active", "inactive", "defunct", "temporarily closed"}


def schema_problems(document: dict) -> list[str]:
    problems = [f"missing table {table}" for table in SCHEMA if table not in document]
    for table, spec in SCHEMA.items():
        for i, row in enumerate(document.get(table, [])):
            for name, kind in spec["required"].items():
                if not isinstance(row.get(name), kind) or row.get(name) == "" and name == "id":
                    problems.append(f"{table}[{i}].{name}: {row.get(name)!r}")
            for name, kinds in spec["optional"].items():
                if name in row and not isinstance(row[name], kinds):
                    problems.append(f"{table}[{i}].{name}: {row[name]!r}")
            unknown = row.keys() - spec["required"].keys() - spec["optional"].keys()
            unknown -= {"organization_id", "service_id"}  # phones link to either
            problems += [f"{table}[{i}] has an unknown field {name}" for name in unknown]
            if "id" in row:
                try:
                    uuid.UUID(row["id"])
                except ValueError:
                    problems.append(f"{table}[{i}].id is not a UUID")
    return problems


def export() -> dict:
    out = io.StringIO()
    call_command("export_resources", "--format", "hsds", stdout=out)
    return json.loads(out.getvalue())


@pytest.fixture
def directory():
    call_command("import_resources", "fixtures/partner_resources.csv", stdout=io.StringIO())
    local = ServiceFactory(
        name="Hennepin youth clinic",
        organization=OrganizationFactory(name="North Star Network", email="info@ns.example.org"),
        areas=[("MN", "Hennepin County"), "WI"],
        topics=["medical", "legal"],
        languages=["en", "so"],
        minimum_age=12,
        maximum_age=21,
        interpretation="Interpreters on request",
        last_verified_on=date(2026, 1, 15),
        phone="612-555-0142",
    )
    return local


def test_the_hsds_export_has_the_fields_named_and_they_link_up(directory):
    document = export()
    assert schema_problems(document) == []
    organization_ids = {o["id"] for o in document["organizations"]}
    service_ids = {s["id"] for s in document["services"]}
    assert all(s["organization_id"] in organization_ids for s in document["services"])
    assert all(a["service_id"] in service_ids for a in document["service_areas"])
    assert all(lang["service_id"] in service_ids for lang in document["languages"])
    terms = {t["id"] for t in document["taxonomy_terms"]}
    assert all(
        a["taxonomy_term_id"] in terms and a["link_id"] in service_ids
        for a in document["attributes"]
    )
    assert {s["status"] for s in document["services"]} <= HSDS_STATUSES
    assert len(document["services"]) == PartnerService.objects.count()


def test_a_local_service_in_hsds(directory):
    document = export()
    service = next(s for s in document["services"] if s["id"] == str(directory.uid))
    assert service["organization_id"] == str(directory.organization.uid)
    assert service["minimum_age"] == 12 and service["maximum_age"] == 21
    assert service["assured_date"] == "2026-01-15"
    assert service["interpretation_services"] == "Interpreters on request"
    assert service["application_process"] == directory.how_to_refer
    areas = [a["name"] for a in document["service_areas"] if a["service_id"] == service["id"]]
    assert sorted(areas) == ["Hennepin County, Minnesota", "Wisconsin"]
    codes = [lang["code"] for lang in document["languages"] if lang["service_id"] == service["id"]]
    assert sorted(codes) == ["en", "so"]
    phones = [p["number"] for p in document["phones"] if p.get("service_id") == service["id"]]
    assert phones == ["612-555-0142"]
    topics = {
        term["code"]
        for term in document["taxonomy_terms"]
        for attribute in document["attributes"]
        if attribute["link_id"] == service["id"] and attribute["taxonomy_term_id"] == term["id"]
    }
    assert topics == {"medical", "legal"}


def test_a_national_service_serves_the_united_states(directory):
    document = export()
    hotline = next(
        s for s in document["services"] if s["name"] == "National Human Trafficking Hotline"
    )
    areas = [a["name"] for a in document["service_areas"] if a["service_id"] == hotline["id"]]
    assert areas == ["United States"]
    assert hotline["url"] == "https://humantraffickinghotline.org"


def test_ids_are_stable_from_one_export_to_the_next(directory):
    assert export() == export()


def test_the_csv_export_has_the_import_columns(directory):
    out = io.StringIO()
    call_command("export_resources", stdout=out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert list(rows[0].keys()) == exchange.COLUMNS
    clinic = next(row for row in rows if row["service"] == "Hennepin youth clinic")
    assert clinic["areas"] == "MN: Hennepin County; WI"
    assert clinic["languages"] == "en; so"
    assert clinic["service_id"] == str(directory.uid)


# The admin's export links.


def test_supervisors_download_both_exports(supervisor_user, directory):
    client = as_user(supervisor_user)
    changelist = client.get("/admin/contacts/partnerorganization/")
    assert "Export HSDS JSON" in changelist.content.decode()
    response = client.get("/admin/contacts/partnerorganization/export.json")
    assert response["Content-Type"].startswith("application/json")
    assert "attachment" in response["Content-Disposition"]
    assert schema_problems(json.loads(response.content)) == []
    response = client.get("/admin/contacts/partnerorganization/export.csv")
    text = response.content.decode("utf-8-sig")
    assert text.startswith(",".join(exchange.COLUMNS))


def test_exports_are_for_supervisors_only(specialist_user, directory):
    specialist_user.is_staff = True
    specialist_user.save()
    for user in (specialist_user, UserFactory(is_staff=True)):
        client = as_user(user)
        for url in ("export.json", "export.csv"):
            response = client.get(f"/admin/contacts/partnerorganization/{url}")
            assert response.status_code in (302, 403), url
