"""Fill the benchmark database with a large queue and log a specialist in.

Referrals with the history they would have had (submitted, routed, then acknowledged,
started, closed as their status says, with notes and contact attempts along the way),
`closed_at` on the closed ones, their services, and each specialist's open-referral
count recounted afterwards (then checked: no drift). Written with PostgreSQL's COPY:
200,000 referrals and their ~900,000 events take well under a minute.

Prints one JSON line: the session cookie of Stacy Schultz (Region 3, signed in with a
second factor), a referral in her queue with 30 notes (for the referral page benchmark),
and how long seeding took.
"""

import argparse
import io
import json
import os
import random
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rst_portal.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import (  # noqa: E402
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user_model,
)
from django.contrib.auth.models import Group  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_otp import DEVICE_ID_SESSION_KEY  # noqa: E402
from django_otp.plugins.otp_totp.models import TOTPDevice  # noqa: E402

from referrals.counts import open_count_drift, open_counts_repair  # noqa: E402
from referrals.deadlines import first_contact_due  # noqa: E402
from referrals.models import Referral, ReferralEvent, Service, new_reference  # noqa: E402
from regions.models import Jurisdiction, ResourceSpecialist  # noqa: E402

DAYS = 90  # submissions spread over this many days before now
SAMPLE_NOTES = 30
STATUSES = ["new", "acknowledged", "in_progress", "closed"]
OUTCOMES = [choice for choice, _label in Referral.Outcome.choices]


class Table:
    """Rows for one table, written with COPY: every concrete column, in model order.

    Columns a row leaves out get the field's default (the same for every row), so a
    field added to the model later does not break the seed.
    """

    def __init__(self, model, *, ids=False):
        self.model = model
        self.fields = [
            f for f in model._meta.concrete_fields if not f.generated and (ids or not f.primary_key)
        ]
        self.defaults = {
            f.attname: (f.get_default() if f.has_default() or not f.null else None)
            for f in self.fields
        }
        self.buffer = io.StringIO()
        self.rows = 0

    def add(self, **values):
        get, defaults = values.get, self.defaults
        line = "\t".join([_copy_text(get(name, default)) for name, default in defaults.items()])
        self.buffer.write(line + "\n")
        self.rows += 1

    def copy(self, cursor):
        """COPY the rows in, with the table's plain indexes built afterwards (faster)."""
        name = self.model._meta.db_table
        table = connection.ops.quote_name(name)
        # Indexes behind constraints (primary key, unique) stay: they check the rows.
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname "
            "NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
            [name, name],
        )
        indexes = cursor.fetchall()
        for index, _definition in indexes:
            cursor.execute(f"DROP INDEX {connection.ops.quote_name(index)}")
        columns = ", ".join(connection.ops.quote_name(f.column) for f in self.fields)
        self.buffer.seek(0)
        cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN", self.buffer)
        for _index, definition in indexes:
            cursor.execute(definition)
        # Later inserts (the benchmark's own submissions) take ids after the copied ones.
        last = f"SELECT MAX(id) FROM {table}"  # noqa: S608 - the model's own table
        cursor.execute(f"SELECT setval(pg_get_serial_sequence(%s, 'id'), ({last}))", [name])


def _copy_text(value) -> str:
    kind = type(value)
    if kind is str:
        if "\\" in value or "\t" in value or "\n" in value:
            return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
        return value
    if kind is int:
        return str(value)
    if value is None:
        return r"\N"
    if kind is bool:
        return "t" if value else "f"
    if kind is list or kind is dict:  # JSON fields (an event's shared resources)
        return _copy_text(json.dumps(value))
    return value.isoformat()  # dates and times


def seed(count: int, rng: random.Random):
    """Write `count` referrals with their histories; return the sample's id."""
    started = time.monotonic()
    now = timezone.now()
    jurisdictions = list(Jurisdiction.objects.select_related("region"))
    specialists = {s.region_id: s for s in ResourceSpecialist.objects.order_by("pk")}
    services = list(Service.objects.values_list("pk", flat=True))
    referrals, events, chosen = (
        Table(Referral, ids=True),
        Table(ReferralEvent),
        Table(Referral.services.through),
    )
    start_id = (Referral.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    references = set()
    sample = None
    for referral_id in range(start_id, start_id + count):
        jurisdiction = rng.choice(jurisdictions)
        region = jurisdiction.region
        specialist = specialists.get(region.pk) if region else None
        status = rng.choice(STATUSES)
        submitted = now - timedelta(minutes=rng.randint(1, 60 * 24 * DAYS))
        urgency = rng.choice(["routine", "routine", "urgent"])
        reference = new_reference()
        while reference in references:
            reference = new_reference()
        references.add(reference)
        contacted = closed = None
        if status != "new":
            contacted = min(now, submitted + timedelta(minutes=rng.randint(20, 60 * 30)))
        if status == "closed":
            closed = min(now, contacted + timedelta(hours=rng.randint(2, 24 * 30)))
        outcome = rng.choice(OUTCOMES) if status == "closed" else ""
        where = f"{jurisdiction.code} → {region.label}" if region else jurisdiction.code
        reason = (
            f"auto-routed: {where} → {specialist.name} ({rng.randint(0, 40)} open)"
            if specialist
            else f"supervisor intake: {jurisdiction.code} is not mapped to a region"
        )
        referrals.add(
            id=referral_id,
            reference=reference,
            submission_token=uuid.uuid4().hex,
            referrer_name="Seed Referrer",
            referrer_role="child_welfare",
            agency=f"Agency {rng.randint(1, 500)}",
            referrer_email="seed@example.org",
            referrer_phone="612-555-0100",
            jurisdiction_id=jurisdiction.pk,
            county="",
            child_initials="".join(rng.choices("ABCDEFGHJKLMNPRSTW", k=3)),
            child_age=rng.randint(0, 21),
            child_status="missing",
            status_date=timezone.localdate(submitted),  # never after the submission
            ncmec_case_number="",
            law_enforcement_involved="unknown",
            urgency=urgency,
            summary="Seeded referral for the benchmark.",
            consent_at=submitted,
            submitted_at=submitted,
            first_contact_due_at=first_contact_due(submitted_at=submitted, urgency=urgency),
            first_contacted_at=contacted,
            closed_at=closed,
            updated_at=closed or contacted or submitted,
            status=status,
            outcome=outcome,
            closing_note="Seeded closing note." if closed else "",
            region_id=region.pk if region else None,
            assigned_specialist_id=specialist.pk if specialist else None,
            assigned_at=submitted if specialist else None,
            routing_reason=reason,
        )
        for service in rng.sample(services, rng.randint(1, 2)):
            chosen.add(referral_id=referral_id, service_id=service)

        where = {
            "referral_id": referral_id,
            "region_id": region.pk if region else None,
            "specialist_id": specialist.pk if specialist else None,
        }

        events.add(**where, kind="submitted", created_at=submitted)
        events.add(**where, kind="routed", created_at=submitted, message=reason)
        if contacted:
            events.add(**where, kind="acknowledged", created_at=contacted)
            if rng.random() < 0.5:
                events.add(
                    **where,
                    kind="contact",
                    created_at=contacted,
                    contact_method="phone",
                    contact_date=timezone.localdate(contacted),
                    message="Called the caseworker.",
                )
        if status in ("in_progress", "closed"):
            events.add(**where, kind="started", created_at=contacted + timedelta(minutes=5))
        if status != "new" and rng.random() < 0.3:
            events.add(
                **where,
                kind="note",
                created_at=contacted + timedelta(minutes=30),
                message="Seeded note.",
            )
        if closed:
            events.add(
                **where,
                kind="closed",
                created_at=closed,
                message=f"{outcome}: Seeded closing note.",
            )
        # The referral page benchmark's referral: open, in Region 3, 30 notes.
        if sample is None and status == "new" and region and region.number == 3:
            sample = referral_id
            for n in range(SAMPLE_NOTES):
                events.add(
                    **where,
                    kind="note",
                    created_at=submitted + timedelta(minutes=n + 1),
                    message=f"Seeded note {n}",
                )
    generated = time.monotonic()
    with transaction.atomic(), connection.cursor() as cursor:
        # Check the foreign keys row by row as they arrive, not at commit: an index
        # cannot be built on a table with checks still pending.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for table in (referrals, chosen, events):
            table.copy(cursor)
    print(
        f"rows made in {generated - started:.1f} s, copied in {time.monotonic() - generated:.1f} s",
        file=sys.stderr,
    )
    # As every service keeps it: each specialist's open referrals (routing's load).
    open_counts_repair()
    if open_count_drift():
        raise SystemExit("Seeding left the open-referral counts wrong.")
    return sample, referrals.rows, events.rows


def specialist_session():
    stacy = ResourceSpecialist.objects.get(name="Stacy Schultz")
    user, _ = get_user_model().objects.get_or_create(username="bench-stacy")
    user.groups.add(Group.objects.get(name="Resource Specialists"))
    stacy.user = user
    stacy.save(update_fields=["user"])
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    # Signed in with a second factor, as every staff login is in production.
    device, _ = TOTPDevice.objects.get_or_create(
        user=user, name="benchmark", defaults={"confirmed": True}
    )
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.create()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=200_000)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("The benchmark seed writes with PostgreSQL's COPY.")
    started = time.monotonic()
    sample_id, referral_rows, event_rows = seed(args.count, random.Random(42))  # noqa: S311
    seconds = round(time.monotonic() - started, 1)
    print(
        json.dumps(
            {
                "cookie": specialist_session(),
                "reference": Referral.objects.get(pk=sample_id).reference,
                "referrals": referral_rows,
                "events": event_rows,
                "seed_seconds": seconds,
            }
        )
    )
