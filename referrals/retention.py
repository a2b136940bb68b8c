"""Retention: closed referrals lose the child's and the referrer's details after a while.

RST_RETENTION_DAYS after a referral was closed, `referral_redact` empties the fields
below and the free text of its history, keeps what statistics need (region,
jurisdiction, dates, services, outcome, the kinds of events) and writes a "redacted"
event. `manage.py rst_purge_closed` runs it over every referral that is due; the task
worker runs that daily. Running it again changes nothing.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import Referral, ReferralEvent

# Emptied on the referral. child_age becomes NULL; the rest become "".
REDACTED_FIELDS = [
    "child_initials",
    "child_age",
    "county",
    "ncmec_case_number",
    "summary",
    "closing_note",
    "review_note",
    "referrer_name",
    "referrer_email",
    "referrer_phone",
]
# Events whose message is written by the system from the routing rule keep it (regions
# and specialists, no case details); every other message is a person's free text.
EVENT_KINDS_KEEPING_MESSAGE = {ReferralEvent.Kind.ROUTED}
REDACTED_MESSAGE = (
    "Child's details, referrer's contact details and notes removed after {days} days."
)


def redaction_due(*, now=None):
    """Closed referrals past the retention period and not yet redacted."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.RST_RETENTION_DAYS)
    return Referral.objects.filter(
        status=Referral.Status.CLOSED, closed_at__lt=cutoff, redacted_at__isnull=True
    ).order_by("closed_at", "pk")


@dataclass(frozen=True)
class PurgeResult:
    redacted: list[str]  # references
    events: int  # event messages emptied


@transaction.atomic
def referral_redact(*, referral: Referral, now=None) -> int | None:
    """Redact one referral if it is still due (re-checked under its lock); return the
    number of event messages emptied, or None when there was nothing to do."""
    now = now or timezone.now()
    referral = redaction_due(now=now).select_for_update().filter(pk=referral.pk).first()
    if referral is None:  # reopened, or redacted by another run, meanwhile
        return None
    for field in REDACTED_FIELDS:
        setattr(referral, field, None if field == "child_age" else "")
    referral.redacted_at = now
    referral.save(update_fields=[*REDACTED_FIELDS, "redacted_at", "updated_at"])
    events = (
        ReferralEvent.objects.filter(referral=referral)
        .exclude(kind__in=EVENT_KINDS_KEEPING_MESSAGE)
        .exclude(message="")
        .update(message="")
    )
    ReferralEvent.objects.create(
        referral=referral,
        kind=ReferralEvent.Kind.REDACTED,
        message=REDACTED_MESSAGE.format(days=settings.RST_RETENTION_DAYS),
        created_at=now,
        region_id=referral.region_id,
        specialist_id=referral.assigned_specialist_id,
    )
    return events


def referrals_purge(*, now=None) -> PurgeResult:
    """Redact every referral that is due, each in its own transaction."""
    now = now or timezone.now()
    redacted, events = [], 0
    for referral in redaction_due(now=now).only("pk", "reference").iterator(chunk_size=500):
        emptied = referral_redact(referral=referral, now=now)
        if emptied is not None:
            redacted.append(referral.reference)
            events += emptied
    return PurgeResult(redacted=redacted, events=events)
