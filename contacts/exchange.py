"""The directory's exchange formats: the CSV (one row per service) in and out, HSDS JSON out.

Reading checks every row and collects every problem with its row number (the header is
row 1, as a spreadsheet shows it) and column name; contacts.services.directory_import
decides what to write. The CSV and the models share names where they can; HSDS_* below
say which HSDS field each one becomes.
"""

import csv
import datetime
import io
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.utils import timezone

from .models import (
    MAX_AGE,
    Language,
    PartnerOrganization,
    PartnerService,
    ServiceArea,
    Topic,
    validate_phone,
)

# In the order exported. Only organization, service, topics and areas must be present.
COLUMNS = [
    "organization",
    "service",
    "description",
    "topics",
    "areas",
    "languages",
    "interpretation",
    "minimum_age",
    "maximum_age",
    "eligibility",
    "how_to_refer",
    "phone",
    "website",
    "email",
    "status",
    "last_verified",
    "organization_description",
    "organization_website",
    "organization_phone",
    "organization_email",
    "service_id",
    "organization_id",
]
REQUIRED_COLUMNS = ["organization", "service", "topics", "areas"]
COLUMN_HELP = {
    "organization": "Required. The organization's name; its rows are matched by it.",
    "service": "Required. The service's name, unique within the organization.",
    "description": "What the service does.",
    "topics": "Required. One or more of: "
    + ", ".join(f"{value} ({label})" for value, label in Topic.choices)
    + "; separated by ';'.",
    "areas": "Required. 'national', or USPS codes separated by ';' (MN; WI), "
    "a county as 'MN: Hennepin County'.",
    "languages": "ISO codes or names separated by ';' (en; es).",
    "interpretation": "E.g. 'Interpreters for other languages'; matches every language.",
    "minimum_age, maximum_age": f"Whole years, 0 to {MAX_AGE}.",
    "eligibility": "Who may use it, beyond the ages.",
    "how_to_refer": "What a professional does to connect someone.",
    "phone, website, email": "The service's own; at least one of these or the organization's.",
    "status": "'active' (the default) or 'inactive' (kept, not shown in searches).",
    "last_verified": "When the details were last checked, YYYY-MM-DD.",
    "organization_description, organization_website, organization_phone, organization_email": (
        "Once per organization (its first row), or the same in each of its rows."
    ),
    "service_id, organization_id": "As exported; leave empty for new entries.",
}
NATIONAL = "national"
LIST_SEPARATOR = ";"
COUNTY_SEPARATOR = ":"
MAX_ROWS = 5000

# Messages (tests check for them).
NOT_UTF8 = "The file is not UTF-8 text. Save it from the spreadsheet as 'CSV UTF-8'."
NO_HEADER = "The file is empty: the first row must name the columns."
NOT_CSV = "Not readable as CSV here ({error}); nothing after this row was read."
MISSING_COLUMN = "This column is missing from the first row."
UNKNOWN_COLUMN = "Unknown column. The columns are: {columns}."
DUPLICATE_COLUMN = "This column appears twice in the first row."
TOO_MANY_ROWS = f"The file has more than {MAX_ROWS} rows; split it."
EXTRA_CELLS = "This row has more cells than the first row has columns."
REQUIRED = "Required."
TOO_LONG = "At most {limit} characters (this has {length})."
CONTROL_CHARACTERS = "Contains control characters."
BAD_URL = "Enter a full web address starting with https:// or http://."
BAD_EMAIL = "Enter a valid e-mail address."
BAD_TOPIC = "Unknown topic {value!r}. Topics: {choices}."
BAD_LANGUAGE = "Unknown language {value!r}. Languages (code or name): {choices}."
BAD_AREA = (
    "Unknown state or territory {value!r}: use USPS codes such as MN, or 'MN: Hennepin County' "
    "for one county, separated by ';'."
)
NATIONAL_AND_AREAS = "'national' cannot be combined with states or counties."
BAD_AGE = f"A whole number of years from 0 to {MAX_AGE}."
AGES_REVERSED = "The minimum age is above the maximum age."
BAD_STATUS = "Either 'active' or 'inactive'."
BAD_DATE = "A date as YYYY-MM-DD."
FUTURE_DATE = "The date is in the future."
BAD_UUID = "An id as exported (a UUID such as 3f1c…), or empty."
NO_CONTACT = "Give a phone, a website or an e-mail for the service or its organization."
DUPLICATE_SERVICE = "The same service as row {row}."
ORGANIZATION_DIFFERS = (
    "Differs from row {row} for the same organization: give the organization's details once "
    "or the same in every row."
)

# Where each CSV column (or model field) goes in HSDS 3.0.
HSDS_NAMESPACE = uuid.UUID("6f0b5d8e-2f4c-4d6e-9a53-5f3d2b7c1e90")
TOPIC_TAXONOMY = "RST directory topics"


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    message: str
    # A problem with the file as a whole (its columns, its encoding): no row can be trusted.
    whole_file: bool = False

    def __str__(self):
        where = f"row {self.row}, column '{self.column}'" if self.column else f"row {self.row}"
        return f"{where}: {self.message}"


@dataclass
class ServiceRow:
    """One valid row: an organization's details (shared by its rows) and one of its services."""

    row: int
    organization: dict
    service: dict
    topics: list[str]
    languages: list[str] | None  # None: the file has no languages column
    areas: list[tuple[str, str]]  # (jurisdiction code, county or "")
    service_uid: uuid.UUID | None = None
    errors: list[RowError] = field(default_factory=list)

    @property
    def organization_key(self) -> str:
        return self.organization["name"].casefold()

    @property
    def service_key(self) -> tuple[str, str]:
        return (self.organization_key, self.service["name"].casefold())


def read_csv(data: bytes | str, *, jurisdiction_codes: Iterable[str]) -> tuple[list, list]:
    """Parse and check a directory CSV: (valid rows, errors). Writes nothing.

    Every row is checked, so one pass reports every problem in the file.
    """
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            return [], [RowError(1, "", NOT_UTF8, whole_file=True)]
    data = data.removeprefix("\ufeff")
    records = csv.reader(io.StringIO(data, newline=""))
    try:
        header = next(records, None)
    except csv.Error as error:
        return [], [RowError(1, "", NOT_CSV.format(error=error), whole_file=True)]
    if not header or not any(cell.strip() for cell in header):
        return [], [RowError(1, "", NO_HEADER, whole_file=True)]
    columns = [cell.strip().lower() for cell in header]
    errors = _header_errors(columns)
    if errors:
        return [], errors

    codes = {code.upper() for code in jurisdiction_codes}
    rows, first_of = [], {}
    organizations: dict[str, ServiceRow] = {}
    number = 1
    while True:
        number += 1
        try:
            cells = next(records, None)
        except csv.Error as error:
            # The reader cannot go on past a broken record: report it and stop.
            errors.append(RowError(number, "", NOT_CSV.format(error=error), whole_file=True))
            break
        if cells is None:
            break
        if number > MAX_ROWS + 1:
            errors.append(RowError(number, "", TOO_MANY_ROWS, whole_file=True))
            break
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(columns) and any(cell.strip() for cell in cells[len(columns) :]):
            errors.append(RowError(number, "", EXTRA_CELLS))
            continue
        values = {column: cells[i] if i < len(cells) else "" for i, column in enumerate(columns)}
        parsed = _parse_row(number, values, codes)
        if not parsed.errors:
            _check_against_earlier_rows(parsed, first_of, organizations)
        errors += parsed.errors
        if not parsed.errors:
            rows.append(parsed)
    return rows, errors


def _header_errors(columns: list[str]) -> list[RowError]:
    errors = []
    seen = set()
    for column in columns:
        if not column:
            continue
        if column not in COLUMNS:
            message = UNKNOWN_COLUMN.format(columns=", ".join(COLUMNS))
            errors.append(RowError(1, column, message, whole_file=True))
        elif column in seen:
            errors.append(RowError(1, column, DUPLICATE_COLUMN, whole_file=True))
        seen.add(column)
    errors += [
        RowError(1, c, MISSING_COLUMN, whole_file=True) for c in REQUIRED_COLUMNS if c not in seen
    ]
    return errors


def _check_against_earlier_rows(parsed: ServiceRow, first_of: dict, organizations: dict):
    if parsed.service_key in first_of:
        row = first_of[parsed.service_key]
        parsed.errors.append(RowError(parsed.row, "service", DUPLICATE_SERVICE.format(row=row)))
        return
    first = organizations.get(parsed.organization_key)
    if first is not None:
        for name, value in parsed.organization.items():
            if name == "name" or not value:
                continue
            if not first.organization[name]:
                first.organization[name] = value  # the first row left it empty
            elif value != first.organization[name]:
                column = ORGANIZATION_COLUMNS[name]
                message = ORGANIZATION_DIFFERS.format(row=first.row)
                parsed.errors.append(RowError(parsed.row, column, message))
        if parsed.errors:
            return
        # One organization, one set of details: shared by all its rows.
        parsed.organization = first.organization
    else:
        organizations[parsed.organization_key] = parsed
    first_of[parsed.service_key] = parsed.row


# Service fields named differently from their columns.
SERVICE_COLUMNS = {"name": "service", "is_national": "areas", "last_verified_on": "last_verified"}
# Organization fields and the columns they come from.
ORGANIZATION_COLUMNS = {
    "name": "organization",
    "description": "organization_description",
    "website": "organization_website",
    "phone": "organization_phone",
    "email": "organization_email",
    "uid": "organization_id",
}


class _Row:
    """Cell readers for one row; each records its own errors under the column's name."""

    def __init__(self, number: int, values: dict):
        self.number, self.values, self.errors = number, values, []

    def error(self, column, message):
        self.errors.append(RowError(self.number, column, message))

    def text(self, column, *, model=None, field_name=None, required=False, multiline=False):
        value = _from_spreadsheet(self.values.get(column, "") or "").strip()
        value = value.replace("\r\n", "\n").replace("\r", "\n")
        if not multiline:
            value = " ".join(value.split())
        if any(ord(c) < 32 and c not in "\n\t" for c in value):
            self.error(column, CONTROL_CHARACTERS)
            return ""
        if required and not value:
            self.error(column, REQUIRED)
        limit = model._meta.get_field(field_name or column).max_length if model else None
        if limit and len(value) > limit:
            self.error(column, TOO_LONG.format(limit=limit, length=len(value)))
        return value

    def validated(self, column, validator, message, **kwargs):
        value = self.text(column, **kwargs)
        if value:
            try:
                validator(value)
            except ValidationError:
                self.error(column, message)
        return value

    def url(self, column, **kwargs):
        return self.validated(column, URLValidator(schemes=["http", "https"]), BAD_URL, **kwargs)

    def email(self, column, **kwargs):
        return self.validated(column, validate_email, BAD_EMAIL, **kwargs)

    def phone(self, column, **kwargs):
        return self.validated(column, validate_phone, validate_phone.message, **kwargs)

    def choices(self, column, choices, message) -> list[str]:
        by_name = {}
        for value, label in choices:
            by_name[value.casefold()] = value
            by_name[label.casefold()] = value
        chosen = []
        for token in _split_list(self.text(column)):
            value = by_name.get(token.casefold())
            if value is None:
                listing = ", ".join(f"{value} ({label})" for value, label in choices)
                self.error(column, message.format(value=token, choices=listing))
            elif value not in chosen:
                chosen.append(value)
        return chosen

    def age(self, column):
        value = self.text(column)
        if not value:
            return None
        if not value.isdigit() or int(value) > MAX_AGE:
            self.error(column, BAD_AGE)
            return None
        return int(value)

    def uid(self, column):
        value = self.text(column)
        if not value:
            return None
        try:
            return uuid.UUID(value)
        except ValueError:
            self.error(column, BAD_UUID)
            return None

    def date(self, column):
        value = self.text(column)
        if not value:
            return None
        try:
            day = datetime.date.fromisoformat(value)
        except ValueError:
            self.error(column, BAD_DATE)
            return None
        if day > timezone.localdate():
            self.error(column, FUTURE_DATE)
        return day

    def areas(self, column, codes) -> list[tuple[str, str]]:
        tokens = _split_list(self.text(column, required=True))
        if any(token.casefold() == NATIONAL for token in tokens):
            if len(tokens) > 1:
                self.error(column, NATIONAL_AND_AREAS)
            return []
        limit = ServiceArea._meta.get_field("county").max_length
        areas = []
        for token in tokens:
            code, _, county = token.partition(COUNTY_SEPARATOR)
            code, county = code.strip().upper(), " ".join(county.split())
            if code not in codes:
                self.error(column, BAD_AREA.format(value=token))
            elif len(county) > limit:
                self.error(column, TOO_LONG.format(limit=limit, length=len(county)))
            elif (code, county) not in areas:
                areas.append((code, county))
        return areas


def _split_list(value: str) -> list[str]:
    tokens = value.replace(",", LIST_SEPARATOR).split(LIST_SEPARATOR)
    return [token.strip() for token in tokens if token.strip()]


def _parse_row(number: int, values: dict, codes: set[str]) -> ServiceRow:
    row = _Row(number, values)
    org, svc = PartnerOrganization, PartnerService
    organization = {
        "name": row.text("organization", model=org, field_name="name", required=True),
        "description": row.text("organization_description", multiline=True),
        "website": row.url("organization_website", model=org, field_name="website"),
        "phone": row.phone("organization_phone", model=org, field_name="phone"),
        "email": row.email("organization_email", model=org, field_name="email"),
        "uid": row.uid("organization_id"),
    }
    status = row.text("status").lower() or PartnerService.Status.ACTIVE
    if status not in PartnerService.Status.values:
        row.error("status", BAD_STATUS)
    service = {
        "name": row.text("service", model=svc, field_name="name", required=True),
        "description": row.text("description", multiline=True),
        "is_national": False,
        "phone": row.phone("phone", model=svc),
        "website": row.url("website", model=svc),
        "email": row.email("email", model=svc),
        "how_to_refer": row.text("how_to_refer", multiline=True),
        "minimum_age": row.age("minimum_age"),
        "maximum_age": row.age("maximum_age"),
        "eligibility": row.text("eligibility", multiline=True),
        "interpretation": row.text("interpretation", model=svc),
        "status": status,
        "last_verified_on": row.date("last_verified"),
    }
    low, high = service["minimum_age"], service["maximum_age"]
    if low is not None and high is not None and low > high:
        row.error("maximum_age", AGES_REVERSED)
    topics = row.choices("topics", Topic.choices, BAD_TOPIC)
    if not topics and not any(e.column == "topics" for e in row.errors):
        row.error("topics", REQUIRED)
    languages = row.choices("languages", Language.choices, BAD_LANGUAGE)
    areas = row.areas("areas", codes)
    service["is_national"] = not areas and not any(e.column == "areas" for e in row.errors)
    # A column left out of the file leaves its field as it is (name and id excepted).
    return ServiceRow(
        row=number,
        organization={
            k: v
            for k, v in organization.items()
            if k in ("name", "uid") or ORGANIZATION_COLUMNS[k] in values
        },
        service={k: v for k, v in service.items() if SERVICE_COLUMNS.get(k, k) in values},
        topics=topics,
        languages=languages if "languages" in values else None,
        areas=areas,
        service_uid=row.uid("service_id"),
        errors=row.errors,
    )


def _spreadsheet_safe(value: str) -> str:
    # A cell starting like a formula would be run by the spreadsheet (CSV injection).
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def _from_spreadsheet(value: str) -> str:
    """Undo _spreadsheet_safe, so an exported file imports unchanged."""
    return value[1:] if value[:1] == "'" and value[1:2] in ("=", "+", "-", "@") else value


def csv_row(service: PartnerService) -> dict[str, str]:
    """A service as a CSV row; `service` comes from selectors.directory_for_export()."""
    organization = service.organization
    areas = [
        f"{a.jurisdiction_id}{COUNTY_SEPARATOR} {a.county}" if a.county else a.jurisdiction_id
        for a in service.areas.all()
    ]
    return {
        "organization": organization.name,
        "service": service.name,
        "description": service.description,
        "topics": f"{LIST_SEPARATOR} ".join(t.topic for t in service.topics.all()),
        "areas": NATIONAL if service.is_national else f"{LIST_SEPARATOR} ".join(areas),
        "languages": f"{LIST_SEPARATOR} ".join(lang.language for lang in service.languages.all()),
        "interpretation": service.interpretation,
        "minimum_age": "" if service.minimum_age is None else str(service.minimum_age),
        "maximum_age": "" if service.maximum_age is None else str(service.maximum_age),
        "eligibility": service.eligibility,
        "how_to_refer": service.how_to_refer,
        "phone": service.phone,
        "website": service.website,
        "email": service.email,
        "status": service.status,
        "last_verified": service.last_verified_on.isoformat() if service.last_verified_on else "",
        "organization_description": organization.description,
        "organization_website": organization.website,
        "organization_phone": organization.phone,
        "organization_email": organization.email,
        "service_id": str(service.uid),
        "organization_id": str(organization.uid),
    }


def write_csv(services: Iterable[PartnerService], out) -> None:
    """Write the services to the text stream `out`, in the columns read_csv() reads."""
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for service in services:
        writer.writerow({k: _spreadsheet_safe(v) for k, v in csv_row(service).items()})


def _child_id(parent: uuid.UUID, *parts) -> str:
    """A stable id for a row HSDS needs but the directory has no uid for."""
    return str(uuid.uuid5(parent, ":".join(str(p) for p in parts)))


def topic_term_id(topic: str) -> str:
    return _child_id(HSDS_NAMESPACE, "topic", topic)


def hsds_document(services: Iterable[PartnerService]) -> dict:
    """The directory in Open Referral HSDS 3.0 tables, as one JSON-ready document.

    `services` come from selectors.directory_for_export(). Ids are the exchange uids
    (stable across exports); phones, areas, languages and topics get ids derived from them.
    """
    services = list(services)
    organizations = {s.organization.uid: s.organization for s in services}
    document = {
        "organizations": [
            {
                "id": str(o.uid),
                "name": o.name,
                "description": o.description,
                "website": o.website or None,
                "email": o.email or None,
            }
            for o in sorted(organizations.values(), key=lambda o: o.name.casefold())
        ],
        "services": [],
        "service_areas": [],
        "languages": [],
        "phones": [
            {"id": _child_id(o.uid, "phone"), "organization_id": str(o.uid), "number": o.phone}
            for o in organizations.values()
            if o.phone
        ],
        "taxonomy_terms": [
            {
                "id": topic_term_id(topic.value),
                "code": topic.value,
                "name": topic.label,
                "description": topic.label,
                "taxonomy": TOPIC_TAXONOMY,
            }
            for topic in Topic
        ],
        "attributes": [],
    }
    for s in services:
        service_id = str(s.uid)
        document["services"].append(
            {
                "id": service_id,
                "organization_id": str(s.organization.uid),
                "name": s.name,
                "description": s.description,
                "url": s.website or None,
                "email": s.email or None,
                "status": s.status,
                "interpretation_services": s.interpretation or None,
                "application_process": s.how_to_refer or None,
                "eligibility_description": s.eligibility or None,
                "minimum_age": s.minimum_age,
                "maximum_age": s.maximum_age,
                "assured_date": s.last_verified_on.isoformat() if s.last_verified_on else None,
            }
        )
        if s.is_national:
            document["service_areas"].append(
                {
                    "id": _child_id(s.uid, "area", "US"),
                    "service_id": service_id,
                    "name": "United States",
                    "description": "Nationwide",
                }
            )
        for area in s.areas.all():
            document["service_areas"].append(
                {
                    "id": _child_id(s.uid, "area", area.jurisdiction_id, area.county),
                    "service_id": service_id,
                    "name": str(area),
                    "description": f"{area.jurisdiction.name} ({area.jurisdiction_id})"
                    + (f", {area.county}" if area.county else ""),
                }
            )
        document["languages"] += [
            {
                "id": _child_id(s.uid, "language", lang.language),
                "service_id": service_id,
                "name": lang.get_language_display(),
                "code": lang.language,
            }
            for lang in s.languages.all()
        ]
        if s.phone:
            document["phones"].append(
                {"id": _child_id(s.uid, "phone"), "service_id": service_id, "number": s.phone}
            )
        document["attributes"] += [
            {
                "id": _child_id(s.uid, "topic", t.topic),
                "link_id": service_id,
                "link_type": "service",
                "link_entity": "service",
                "taxonomy_term_id": topic_term_id(t.topic),
            }
            for t in s.topics.all()
        ]
    return document
