"""Writes to the partner directory: the CSV import (the admin and `import_resources` call it)."""

from dataclasses import dataclass, field

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.template.defaultfilters import pluralize

from regions.models import Jurisdiction

from .exchange import NO_CONTACT, RowError, ServiceRow, read_csv
from .models import PartnerOrganization, PartnerService, ServiceArea, ServiceLanguage, ServiceTopic

ID_OF_ANOTHER_ORGANIZATION = (
    "This id belongs to the organization {name!r}, another organization already has this name."
)
ID_OF_ANOTHER_SERVICE = (
    "This id belongs to {current!r}; the row names {named!r}, another service already listed."
)
NAME_TAKEN_BY_ANOTHER_ID = "{name!r} is already listed with another id ({uid})."
ORGANIZATION_FIELDS = ["name", "description", "website", "phone", "email"]
# Model fields named differently in the CSV (contacts/exchange.py COLUMNS).
COLUMN_OF_FIELD = {
    "name": "service",
    "last_verified_on": "last_verified",
    "uid": "service_id",
    "organization_name": "organization",
    "organization_uid": "organization_id",
}


@dataclass
class ImportReport:
    """What an import did, or (blocked, or a dry run) would have done."""

    rows: int = 0  # rows written (or, in a dry run, that would be)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    organizations_created: int = 0
    errors: list[RowError] = field(default_factory=list)
    blocked: bool = False  # problems in the file, and not skipping them: nothing written
    dry_run: bool = False

    @property
    def imported(self) -> bool:
        """Whether the rows are in the database now."""
        return not (self.blocked or self.dry_run)

    @property
    def skipped_rows(self) -> list[int]:
        return sorted({error.row for error in self.errors})

    def summary(self) -> str:
        counts = (
            f"{self.created} services created, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.organizations_created} organizations created"
        )
        if self.blocked:
            count = len(self.errors)
            would = " would be" if self.dry_run else ""
            return f"Nothing{would} imported: {count} problem{pluralize(count)} in the file."
        skipped = f"; skipped rows {_ranges(self.skipped_rows)}" if self.errors else ""
        if self.dry_run:
            return f"Checked, nothing written: {self.rows} rows to import ({counts}){skipped}."
        return f"Imported {self.rows} rows: {counts}{skipped}."


def directory_import(
    *, data: bytes | str, skip_invalid: bool = False, dry_run: bool = False
) -> ImportReport:
    """Import a directory CSV (contacts/exchange.py): all of it, or nothing when a row is bad.

    Rows are matched to what is listed by service_id / organization_id when given, else by
    the organization's name and the service's name (case-insensitive), so importing the
    same file twice changes nothing. A matched service takes the row's values, topics,
    languages and areas; services not in the file are left as they are. With
    `skip_invalid`, the valid rows are imported and the bad ones reported.
    """
    codes = Jurisdiction.objects.values_list("code", flat=True)
    rows, errors = read_csv(data, jurisdiction_codes=codes)
    report = ImportReport(dry_run=dry_run)
    with transaction.atomic():
        plans, conflicts = _match(rows)
        errors += conflicts
        # A problem with the whole file (its columns, a broken record) is never skipped.
        if errors and (not skip_invalid or any(error.whole_file for error in errors)):
            report.errors, report.blocked = sorted(errors, key=_order), True
            return report
        bad_rows = {error.row for error in errors}
        saved: dict[str, PartnerOrganization] = {}  # organizations written so far, by name
        for plan in plans:
            if plan.row.row in bad_rows:
                continue
            try:
                with transaction.atomic():  # a savepoint: a refused row leaves no trace
                    organization, organization_created, outcome = _apply(plan, saved)
            except ValidationError as error:
                errors += _row_errors(plan.row.row, error)
                if plan.organization is not None:
                    plan.organization.refresh_from_db()  # undo what the row assigned in memory
                continue
            saved[plan.row.organization_key] = organization
            report.organizations_created += organization_created
            setattr(report, outcome, getattr(report, outcome) + 1)
            report.rows += 1
        report.errors = sorted(errors, key=_order)
        if errors and not skip_invalid:
            # The model refused a row the file checks passed: still all or nothing.
            transaction.set_rollback(True)
            return ImportReport(errors=report.errors, blocked=True, dry_run=dry_run)
        if dry_run:
            transaction.set_rollback(True)
    return report


def partner_service_set_vocabulary(
    *, service: PartnerService, topics: list[str], languages: list[str]
) -> bool:
    """Make the service's topics and languages exactly these (the admin's checkboxes)."""
    with transaction.atomic():
        changed = _replace(service, ServiceTopic, "topic", topics, created=False)
        return _replace(service, ServiceLanguage, "language", languages, created=False) or changed


def _column(field_name: str) -> str:
    return "" if field_name == NON_FIELD_ERRORS else COLUMN_OF_FIELD.get(field_name, field_name)


def _order(error: RowError):
    return (error.row, error.column)


def _row_errors(number: int, error: ValidationError) -> list[RowError]:
    """A model's refusal, in the file's terms (the column the field came from)."""
    if not hasattr(error, "error_dict"):
        return [RowError(number, "", message) for message in error.messages]
    return [
        RowError(number, _column(name), message)
        for name, messages in error.message_dict.items()
        for message in messages
    ]


@dataclass
class _Plan:
    row: ServiceRow
    organization: PartnerOrganization | None
    service: PartnerService | None


def _match(rows: list[ServiceRow]) -> tuple[list[_Plan], list[RowError]]:
    """Find what each row updates; rows that point at two different entries are errors."""
    organizations = list(PartnerOrganization.objects.select_for_update())
    org_by_uid = {o.uid: o for o in organizations}
    org_by_name = {o.name.casefold(): o for o in organizations}
    services = list(PartnerService.objects.select_for_update())
    service_by_uid = {s.uid: s for s in services}
    service_by_name = {(s.organization_id, s.name.casefold()): s for s in services}

    plans, errors = [], []
    for row in rows:
        details = row.organization
        by_uid, by_name = org_by_uid.get(details["uid"]), org_by_name.get(row.organization_key)
        if by_uid and by_name and by_uid != by_name:
            message = ID_OF_ANOTHER_ORGANIZATION.format(name=by_uid.name)
            errors.append(RowError(row.row, "organization_id", message))
            continue
        if by_name and details["uid"] and not by_uid:
            message = NAME_TAKEN_BY_ANOTHER_ID.format(name=by_name.name, uid=by_name.uid)
            errors.append(RowError(row.row, "organization_id", message))
            continue
        organization = by_uid or by_name
        service = None
        named = service_by_name.get((organization.pk, row.service_key[1])) if organization else None
        if row.service_uid:
            service = service_by_uid.get(row.service_uid)
            if service and named and named != service:
                message = ID_OF_ANOTHER_SERVICE.format(current=str(service), named=str(named))
                errors.append(RowError(row.row, "service_id", message))
                continue
            if named and not service:
                message = NAME_TAKEN_BY_ANOTHER_ID.format(name=str(named), uid=named.uid)
                errors.append(RowError(row.row, "service_id", message))
                continue
        service = service or named
        if not _reachable(row, organization, service):
            errors.append(RowError(row.row, "phone", NO_CONTACT))
            continue
        plans.append(_Plan(row=row, organization=organization, service=service))
    return plans, errors


def _reachable(row: ServiceRow, organization, service) -> bool:
    """Whether the service will have a phone, a website or an e-mail (its own or its
    organization's), counting what is listed for the columns the file leaves out."""
    for name in ("phone", "website", "email"):
        if row.service.get(name, getattr(service, name, "")):
            return True
        if row.organization.get(name, getattr(organization, name, "")):
            return True
    return False


def _apply(plan: _Plan, saved: dict) -> tuple[PartnerOrganization, bool, str]:
    """Write one row: (its organization, whether that was created, created/updated/unchanged)."""
    row = plan.row
    details = {k: v for k, v in row.organization.items() if k in ORGANIZATION_FIELDS}
    organization = saved.get(row.organization_key)
    organization_created = False
    if organization is None:
        organization = plan.organization
        if organization is None:
            organization = PartnerOrganization(**details)
            if row.organization["uid"]:
                organization.uid = row.organization["uid"]
            organization_created = True
            _save(organization, prefix="organization_")
        elif _assign(organization, details):
            _save(organization, prefix="organization_")

    service = plan.service
    created = service is None
    if created:
        service = PartnerService(organization=organization, **row.service)
        if row.service_uid:
            service.uid = row.service_uid
    changed = created or _assign(service, {"organization": organization, **row.service})
    if changed:
        _save(service)
    changed |= _replace(service, ServiceTopic, "topic", row.topics, created=created)
    if row.languages is not None:
        changed |= _replace(service, ServiceLanguage, "language", row.languages, created=created)
    changed |= _replace_areas(service, row.areas, created=created)
    outcome = "created" if created else "updated" if changed else "unchanged"
    return organization, organization_created, outcome


def _save(instance, *, prefix=""):
    try:
        instance.full_clean()
    except ValidationError as error:
        if prefix and hasattr(error, "error_dict"):
            error = ValidationError({f"{prefix}{k}": v for k, v in error.error_dict.items()})
        raise error from None
    instance.save()


def _assign(instance, values: dict) -> bool:
    changed = False
    for name, value in values.items():
        if getattr(instance, name) != value:
            setattr(instance, name, value)
            changed = True
    return changed


def _replace(service, model, attribute: str, wanted: list[str], *, created: bool) -> bool:
    """Make the service's topic (or language) rows exactly `wanted`; True if anything changed."""
    rows = model.objects.filter(service=service)
    have = set() if created else set(rows.values_list(attribute, flat=True))
    if have == set(wanted):
        return False
    rows.exclude(**{f"{attribute}__in": wanted}).delete()
    model.objects.bulk_create(
        model(service=service, **{attribute: value}) for value in wanted if value not in have
    )
    return True


def _replace_areas(service, wanted: list[tuple[str, str]], *, created: bool) -> bool:
    have = set() if created else set(service.areas.values_list("jurisdiction_id", "county"))
    if have == set(wanted):
        return False
    for code, county in have - set(wanted):
        service.areas.filter(jurisdiction_id=code, county=county).delete()
    ServiceArea.objects.bulk_create(
        ServiceArea(service=service, jurisdiction_id=code, county=county)
        for code, county in wanted
        if (code, county) not in have
    )
    return True


def _ranges(numbers: list[int]) -> str:
    """[2, 3, 4, 7] as '2-4, 7'."""
    spans = []
    for n in numbers:
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)
