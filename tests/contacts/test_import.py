"""Importing the partner directory from CSV: the command, the admin page, the checks."""

import csv
import io
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from contacts import exchange
from contacts.models import PartnerOrganization, PartnerService, ServiceArea
from contacts.services import directory_import
from tests.helpers import as_user, page_text

from .factories import ServiceFactory

pytestmark = pytest.mark.usefixtures("reference_data")

EXAMPLE = Path(settings.BASE_DIR) / "fixtures" / "partner_resources.csv"
HEADER = "organization,service,topics,areas,phone,website,languages,minimum_age,maximum_age"


def run(path, *args):
    out, err = io.StringIO(), io.StringIO()
    call_command("import_resources", str(path), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def snapshot():
    """Everything the directory holds, to compare before and after."""
    return sorted(
        (
            s.organization.name,
            s.name,
            str(s.uid),
            s.phone,
            s.website,
            s.is_national,
            tuple(sorted(t.topic for t in s.topics.all())),
            tuple(sorted(lang.language for lang in s.languages.all())),
            tuple(sorted((a.jurisdiction_id, a.county) for a in s.areas.all())),
        )
        for s in PartnerService.objects.select_related("organization").prefetch_related(
            "topics", "languages", "areas"
        )
    )


def write(tmp_path, text, name="directory.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# The example file.


def test_the_example_file_imports(tmp_path):
    out, err = run(EXAMPLE)
    rows = list(csv.DictReader(EXAMPLE.open(encoding="utf-8")))
    assert err == ""
    assert f"Imported {len(rows)} rows: {len(rows)} services created" in out
    assert PartnerService.objects.count() == len(rows)
    assert PartnerOrganization.objects.count() == len({row["organization"] for row in rows})
    hotline = PartnerService.objects.get(name="National Human Trafficking Hotline")
    assert hotline.organization.name == "Polaris Project"
    assert hotline.phone == "1-888-373-7888"
    assert hotline.website == "https://humantraffickinghotline.org"
    assert hotline.is_national
    assert {t.topic for t in hotline.topics.all()} == {"hotline", "survivor-services"}


def test_the_example_lists_only_public_contact_details():
    rows = list(csv.DictReader(EXAMPLE.open(encoding="utf-8")))
    assert len(rows) >= 10
    assert all(row["areas"] == "national" for row in rows)
    assert all(row["website"].startswith("https://") for row in rows)
    assert all(row.get("email", "") == "" for row in rows)  # no personal addresses


def test_importing_twice_creates_no_duplicates(tmp_path):
    run(EXAMPLE)
    before = snapshot()
    out, _ = run(EXAMPLE)
    assert snapshot() == before
    assert f"0 services created, 0 updated, {len(before)} unchanged" in out


def test_an_exported_file_imports_unchanged(tmp_path):
    run(EXAMPLE)
    ServiceFactory(
        name="=Formula-looking name",
        areas=[("MN", "Hennepin County"), "WI"],
        topics=["legal", "housing"],
        languages=["es", "hmn"],
        phone="+1 612 555 0100",
        minimum_age=12,
        maximum_age=24,
    )
    before = snapshot()
    exported = tmp_path / "export.csv"
    call_command("export_resources", "--output", str(exported))
    assert "'=Formula-looking name" in exported.read_text()  # not run by a spreadsheet
    out, _ = run(exported)
    assert snapshot() == before
    assert f"{len(before)} unchanged" in out


def test_a_row_is_matched_by_its_id_so_a_rename_updates_it(tmp_path):
    service = ServiceFactory(name="Old name", areas=["MN"])
    text = (
        "service_id,organization,service,topics,areas\n"
        f"{service.uid},{service.organization.name},New name,legal,MN; WI\n"
    )
    out, _ = run(write(tmp_path, text))
    assert "1 updated" in out
    service.refresh_from_db()
    assert service.name == "New name"
    assert set(service.areas.values_list("jurisdiction_id", flat=True)) == {"MN", "WI"}
    assert [t.topic for t in service.topics.all()] == ["legal"]
    assert PartnerService.objects.count() == 1


def test_names_match_whatever_the_capitalization(tmp_path):
    service = ServiceFactory(name="Youth Line", is_national=True, topics=["hotline"])
    name = service.organization.name.upper()
    text = f"organization,service,topics,areas\n{name},youth line,hotline,national\n"
    out, _ = run(write(tmp_path, text))
    assert PartnerService.objects.count() == 1
    assert "1 updated" in out  # the names take the file's capitalization


# A bad file.

BAD = f"""{HEADER}
Good Org,Good service,hotline,national,1-800-555-0100,https://good.example.org,en,,
Bad Org,Bad areas,hotline,MN; XX,,https://bad.example.org,,,
Bad Org,Bad topic and website,housing; spaceflight,WI,,www.no-scheme.example.org,,,
,No organization,legal,MN,612-555-0100,,,,
Bad Org,Bad ages,legal,MN,612-555-0100,,klingon,25,12
Bad Org,No contact,legal,MN,,,,,
Good Org,Good service,hotline,national,1-800-555-0100,,,,
"""


def test_a_bad_file_is_reported_by_row_and_column_and_nothing_is_written(tmp_path):
    ServiceFactory(name="Already listed")
    before = snapshot()
    with pytest.raises(CommandError, match="Nothing imported: 8 problems in the file"):
        run(write(tmp_path, BAD))
    assert snapshot() == before
    report = directory_import(data=BAD)
    assert [(e.row, e.column) for e in report.errors] == [
        (3, "areas"),
        (4, "topics"),
        (4, "website"),
        (5, "organization"),
        (6, "languages"),
        (6, "maximum_age"),
        (7, "phone"),
        (8, "service"),
    ]
    messages = [str(e) for e in report.errors]
    assert messages[0].startswith("row 3, column 'areas': Unknown state or territory 'XX'")
    assert "Unknown topic 'spaceflight'" in messages[1]
    assert messages[2] == f"row 4, column 'website': {exchange.BAD_URL}"
    assert messages[3] == f"row 5, column 'organization': {exchange.REQUIRED}"
    assert "Unknown language 'klingon'" in messages[4]
    assert messages[5] == f"row 6, column 'maximum_age': {exchange.AGES_REVERSED}"
    assert messages[6] == f"row 7, column 'phone': {exchange.NO_CONTACT}"
    assert messages[7] == f"row 8, column 'service': {exchange.DUPLICATE_SERVICE.format(row=2)}"
    assert not report.imported


def test_the_command_lists_every_problem(tmp_path, capsys):
    path = write(tmp_path, BAD)
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_resources", str(path), stderr=err)
    lines = err.getvalue().splitlines()
    assert len(lines) == 8
    assert lines[0].startswith("directory.csv: row 3, column 'areas':")


def test_skip_invalid_imports_the_good_rows_and_lists_the_bad(tmp_path):
    out, err = run(write(tmp_path, BAD), "--skip-invalid")
    assert "Imported 1 rows" in out and "skipped rows 3-8" in out
    assert "row 3, column 'areas'" in err
    assert list(PartnerService.objects.values_list("name", flat=True)) == ["Good service"]


def test_dry_run_writes_nothing(tmp_path):
    out, _ = run(EXAMPLE, "--dry-run")
    assert "Checked, nothing written" in out and "16 services created" in out
    assert PartnerService.objects.count() == 0


def test_if_empty_leaves_a_directory_with_services_alone(tmp_path):
    run(EXAMPLE, "--if-empty")
    hotline = PartnerService.objects.get(name="National Human Trafficking Hotline")
    hotline.phone = "1-888-373-7889"  # the supervisor's change
    hotline.save()
    out, _ = run(EXAMPLE, "--if-empty")
    assert "none imported" in out
    hotline.refresh_from_db()
    assert hotline.phone == "1-888-373-7889"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", (1, "", exchange.NO_HEADER)),
        ("organization,service,topics\n", (1, "areas", exchange.MISSING_COLUMN)),
        (
            "organization,service,topics,areas,webiste\n",
            (1, "webiste", exchange.UNKNOWN_COLUMN.format(columns=", ".join(exchange.COLUMNS))),
        ),
        ("organization,service,topics,areas,areas\n", (1, "areas", exchange.DUPLICATE_COLUMN)),
        (
            "organization,service,topics,areas\nA,B,legal,national,extra\n",
            (2, "", exchange.EXTRA_CELLS),
        ),
        (
            "organization,service,topics,areas,phone\nA,B,legal,national;MN,1\n",
            (2, "areas", exchange.NATIONAL_AND_AREAS),
        ),
        (
            "organization,service,topics,areas,phone,last_verified\nA,B,legal,MN,211,2999-01-01\n",
            (2, "last_verified", exchange.FUTURE_DATE),
        ),
        (
            "organization,service,topics,areas,phone,service_id\nA,B,legal,MN,211,not-a-uuid\n",
            (2, "service_id", exchange.BAD_UUID),
        ),
        (
            "organization,service,topics,areas,email\nA,B,legal,MN,not-an-address\n",
            (2, "email", exchange.BAD_EMAIL),
        ),
    ],
)
def test_file_level_and_cell_checks(text, expected):
    report = directory_import(data=text, skip_invalid=True)
    assert report.blocked == (expected[0] == 1)
    assert (report.errors[0].row, report.errors[0].column, report.errors[0].message) == expected
    assert PartnerService.objects.count() == 0


def test_a_broken_file_is_reported_not_a_crash():
    text = (
        'organization,service,topics,areas,phone\nC,D,legal,MN,211\nA,"'
        + "x" * 200_000
        + '",legal,MN,211\n'
    )
    report = directory_import(data=text, skip_invalid=True)
    assert report.blocked
    assert (report.errors[0].row, report.errors[0].column) == (3, "")
    assert "field larger than field limit" in report.errors[0].message
    nul = directory_import(data="organization,service,topics,areas\nA,B\x00,legal,MN\n")
    assert [(e.row, e.column, e.message) for e in nul.errors] == [
        (2, "service", exchange.CONTROL_CHARACTERS)
    ]
    assert PartnerService.objects.count() == 0


def test_a_header_problem_blocks_even_with_skip_invalid(tmp_path):
    with pytest.raises(CommandError):
        run(
            write(tmp_path, "organization,service,topics,areas,webiste\nA,B,legal,MN,x\n"),
            "--skip-invalid",
        )
    assert PartnerService.objects.count() == 0


def test_a_file_that_is_not_utf8_is_refused(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("organization,service,topics,areas\nCaf\xe9,B,legal,MN\n".encode("latin-1"))
    with pytest.raises(CommandError):
        run(path)
    assert directory_import(data=path.read_bytes()).errors[0].message == exchange.NOT_UTF8


def test_a_spreadsheets_utf8_file_with_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "excel.csv"
    text = "organization,service,topics,areas,website\nCafé Jeunesse,Drop-in,mentoring,MN,https://cafe.example.org\n"
    path.write_bytes("\ufeff".encode() + text.encode())
    run(path)
    assert PartnerOrganization.objects.get().name == "Café Jeunesse"


def test_counties_and_values_given_by_name(tmp_path):
    text = (
        "organization,service,topics,areas,languages,phone\n"
        '"Org","Clinic","Legal help; Medical care","mn: Hennepin   County; MN: Ramsey County; wi",'
        '"Spanish; hmn",612-555-0100\n'
    )
    run(write(tmp_path, text))
    service = PartnerService.objects.get()
    assert sorted(ServiceArea.objects.values_list("jurisdiction_id", "county")) == [
        ("MN", "Hennepin County"),
        ("MN", "Ramsey County"),
        ("WI", ""),
    ]
    assert {t.topic for t in service.topics.all()} == {"legal", "medical"}
    assert {lang.language for lang in service.languages.all()} == {"es", "hmn"}
    assert not service.is_national


def test_an_organizations_details_may_be_given_once(tmp_path):
    text = (
        "organization,service,topics,areas,organization_website\n"
        "Org,First,legal,MN,https://org.example.org\n"
        "Org,Second,legal,WI,\n"
    )
    run(write(tmp_path, text))
    assert PartnerOrganization.objects.get().website == "https://org.example.org"
    assert PartnerService.objects.count() == 2


def test_an_organizations_details_must_agree_across_its_rows():
    text = (
        "organization,service,topics,areas,organization_phone\n"
        "Org,First,legal,MN,612-555-0100\n"
        "Org,Second,legal,WI,612-555-0199\n"
    )
    report = directory_import(data=text)
    assert [(e.row, e.column) for e in report.errors] == [(3, "organization_phone")]
    assert "Differs from row 2 for the same organization" in report.errors[0].message
    assert PartnerService.objects.count() == 0


def test_columns_left_out_of_the_file_are_left_as_they_are(tmp_path):
    service = ServiceFactory(
        name="Clinic", areas=["MN"], languages=["es"], phone="612-555-0100", minimum_age=12
    )
    website = service.organization.website
    text = f"organization,service,topics,areas\n{service.organization.name},Clinic,legal,MN\n"
    out, _ = run(write(tmp_path, text))
    assert "1 updated" in out  # the topics
    service.refresh_from_db()
    assert service.phone == "612-555-0100" and service.minimum_age == 12
    assert [lang.language for lang in service.languages.all()] == ["es"]
    assert service.organization.website == website
    # A column given empty does clear the field.
    text = (
        f"organization,service,topics,areas,phone\n{service.organization.name},Clinic,legal,MN,\n"
    )
    run(write(tmp_path, text))
    service.refresh_from_db()
    assert service.phone == ""


def test_a_row_nobody_could_reach_is_refused(tmp_path):
    report = directory_import(data="organization,service,topics,areas\nOrg,Line,hotline,national\n")
    assert [(e.row, e.column, e.message) for e in report.errors] == [
        (2, "phone", exchange.NO_CONTACT)
    ]


def test_an_id_and_a_name_pointing_at_two_services_is_refused(tmp_path):
    one = ServiceFactory(name="One")
    two = ServiceFactory(name="Two", organization=one.organization)
    text = (
        "service_id,organization,service,topics,areas,phone\n"
        f"{one.uid},{one.organization.name},Two,legal,MN,211\n"
    )
    with pytest.raises(CommandError):
        run(write(tmp_path, text))
    report = directory_import(data=text)
    assert report.errors[0].column == "service_id"
    assert {s.name for s in PartnerService.objects.all()} == {one.name, two.name}


# The admin's import page.

IMPORT = "/admin/contacts/partnerorganization/import/"


def upload(client, text: str, name="directory.csv", **options):
    file = io.BytesIO(text.encode())
    file.name = name
    return client.post(IMPORT, {"file": file, **options})


def test_admin_import_page(supervisor_user):
    client = as_user(supervisor_user)
    assert client.get(IMPORT).status_code == 200
    refused = upload(client, BAD)
    assert refused.status_code == 400
    text = page_text(refused)
    assert "Nothing imported: 8 problems in the file." in text
    assert "3 areas Unknown state or territory 'XX'" in text
    assert PartnerService.objects.count() == 0
    done = upload(client, EXAMPLE.read_text(encoding="utf-8"))
    assert done.status_code == 200
    assert "Imported 16 rows: 16 services created" in page_text(done)
    assert "16 unchanged" in page_text(upload(client, EXAMPLE.read_text(encoding="utf-8")))
    assert "Choose a .csv file." in page_text(upload(client, "x", name="directory.xlsx"))


def test_admin_import_is_for_supervisors_only(specialist_user):
    specialist_user.is_staff = True
    specialist_user.save()
    client = as_user(specialist_user)
    assert client.get(IMPORT).status_code == 403
    assert upload(client, EXAMPLE.read_text(encoding="utf-8")).status_code == 403
    assert PartnerService.objects.count() == 0
