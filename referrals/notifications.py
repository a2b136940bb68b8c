"""The outbox: notices owed about referrals, queued in the transaction that calls for them.

Why a ledger (`Notification`) beside the task table: a task row says how one attempt
went, while the supervisor needs one answer per e-mail owed — sent, failed (resend
it), or not sent and why — that survives retries, pruned task results and resends.
Both rows are written in the referral change's own transaction (the task table is in
the same database), so a committed change always has its e-mails queued and a
rolled-back one has none. The task that sends them is in referrals/tasks.py.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from accounts.roles import is_supervisor

from .models import Notification, Referral
from .tasks import dispatch

logger = logging.getLogger(__name__)

Notice = Notification.Kind

RESEND_NOT_FAILED = "Only a failed notice can be resent; this one is {status}."
HANDLED_NOT_FAILED = "Only a failed notice can be marked handled; this one is {status}."
HANDLED_ANOTHER_WAY = "Failed; {name} told them another way."
SUPERVISOR_ONLY = "Only an RST supervisor can resend a notice or mark it handled."
RECEIPT_LIMIT_REACHED = (
    "{limit} receipts were already sent to this address in the last hour "
    "(RST_RECEIPTS_PER_ADDRESS_PER_HOUR)."
)


def address_hash(address: str) -> str:
    """A keyed hash of the lower-cased address: counts receipts without storing it again."""
    return salted_hmac(
        "referrals.Notification.recipient_hash", address.strip().lower(), algorithm="sha256"
    ).hexdigest()


def _receipt_limit_reached(recipient_hash: str) -> str:
    """The reason no receipt may go to this address now, or "" if one may."""
    if connection.vendor == "postgresql":
        # Two submissions to one address at once would both count one short; take
        # turns per address (SQLite's write transactions already run one at a time).
        key = int.from_bytes(bytes.fromhex(recipient_hash[:16]), "big", signed=True)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])
    limit = settings.RST_RECEIPTS_PER_ADDRESS_PER_HOUR
    since = timezone.now() - timedelta(hours=1)
    if Notification.objects.receipts_to(recipient_hash, since=since).count() >= limit:
        return RECEIPT_LIMIT_REACHED.format(limit=limit)
    return ""


def notification_queue(*, referral: Referral, kind: str) -> Notification:
    """Record a notice about `referral` and queue the task that sends it.

    Call it inside the change's transaction: the notice commits or rolls back with it.
    """
    # A follow-up goes to whoever has the case, if anyone (else to intake).
    addressed = kind in Notification.SPECIALIST_KINDS or kind == Notice.FOLLOW_UP
    notification = Notification(
        referral=referral,
        kind=kind,
        priority=Notification.priority_for(urgency=referral.urgency, kind=kind),
        specialist=referral.assigned_specialist if addressed else None,
    )
    with transaction.atomic(savepoint=False):
        if kind == Notice.RECEIPT:
            notification.recipient_hash = address_hash(referral.referrer_email)
            reason = _receipt_limit_reached(notification.recipient_hash)
            if reason:
                notification.status = Notification.Status.SKIPPED
                notification.skip_reason = reason
                notification.save()
                logger.info("No receipt for %s: %s", referral.reference, reason)
                return notification
        dispatch(notification)
    return notification


def _lock_failed(notification: Notification, *, actor, refusal: str) -> Notification:
    if not is_supervisor(actor):
        raise ValidationError(SUPERVISOR_ONLY)
    notification = Notification.objects.select_for_update().get(pk=notification.pk)
    if notification.status != Notification.Status.FAILED:
        raise ValidationError(refusal.format(status=notification.get_status_display().lower()))
    return notification


@transaction.atomic
def notification_resend(*, notification: Notification, actor) -> Notification:
    """Give a failed notice a fresh set of attempts (supervisors, from the admin)."""
    notification = _lock_failed(notification, actor=actor, refusal=RESEND_NOT_FAILED)
    notification.status = Notification.Status.PENDING
    notification.attempts = 0
    notification.resends += 1
    notification.resent_at = timezone.now()
    notification.resent_by = actor
    dispatch(notification)
    return notification


@transaction.atomic
def notification_mark_handled(*, notification: Notification, actor) -> Notification:
    """Record that a supervisor told the person another way (it leaves the failed list)."""
    notification = _lock_failed(notification, actor=actor, refusal=HANDLED_NOT_FAILED)
    notification.status = Notification.Status.SKIPPED
    name = actor.get_full_name() or actor.get_username()
    notification.skip_reason = HANDLED_ANOTHER_WAY.format(name=name)[:200]
    notification.save()
    return notification
