"""Deadline reminders: "due soon" to the specialist, "overdue" to the supervisors, a daily digest.

What is due, and recording it once:

- due soon: a new referral whose first contact is due within RST_DUE_SOON_BUSINESS_HOURS of
  business time (referrals/deadlines.py) e-mails its assigned specialist, once per
  assignment (a specialist it is reassigned to gets their own reminder);
- overdue: a new referral past its due time e-mails the supervisors and the team mailbox,
  once per referral;
- the daily digest: on working days from RST_DIGEST_AT (office time) the supervisors get
  the overdue and supervisor-intake referrals, once per day.

A reminder is an event on the referral (DUE_SOON, ESCALATED) and a notice in the outbox
(referrals/notifications.py), written in one transaction under the referral's row lock;
the event carries a unique key (`action_token`), so a tick run twice, or by two workers
at once, records and sends it once. The digest's key is its day (`DailyDigest.day`).

Scheduling needs no other service: `reminders_tick` is a task that queues its successor
TICK_EVERY later. The long-running worker (manage.py task_worker) starts the chain and
restarts it if it ever breaks; `manage.py send_reminders` runs one round for cron or a
systemd timer instead. The chain stays single: under a lock, a tick queues its successor
only if no other tick is waiting.

Reminders carry the reference, region, due time and a link: never the child's details,
the summary or the referrer's.
"""

import logging
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django_tasks import task
from django_tasks_db.models import DBTaskResult

from .deadlines import add_business_hours, is_working_day, office_zone, time_left
from .models import DailyDigest, Notification, Referral, ReferralEvent, overdue_q
from .notifications import notification_queue
from .selectors import Scope
from .tasks import (
    NoRecipient,
    SendFailure,
    classify,
    mail_pause,
    next_attempt_after,
    next_attempt_text,
    supervisor_addresses,
)

logger = logging.getLogger(__name__)

# How often the worker looks for reminders to send.
TICK_EVERY = timedelta(minutes=5)
# A referral already overdue for longer than this when the reminders first see it (the
# portal was just upgraded, or no worker ran for days) is left to the daily digest rather
# than e-mailed on its own: no flood of old escalations.
ESCALATION_CATCH_UP = timedelta(days=3)
# Referrals reminded per kind per tick; any more wait for the next tick.
BATCH_SIZE = 200
# Referrals listed per section of the digest; the counts are always complete.
DIGEST_LIST_LIMIT = 50
# The tick runs after every waiting e-mail; the digest with the staff notices.
TICK_PRIORITY = -10
DIGEST_PRIORITY = Notification.STAFF_PRIORITY_BONUS
# Finished ticks are deleted after this (one every five minutes would pile up).
TICK_RESULTS_KEPT = timedelta(days=1)
# PostgreSQL advisory lock taken while deciding whether to queue a tick.
_SCHEDULE_LOCK = zlib.crc32(b"referrals.reminders.schedule")

MAX_ERROR_LENGTH = DailyDigest._meta.get_field("last_error").max_length
DUE_SOON_MESSAGE = "Reminder e-mailed to {name}: first contact {left}."
ESCALATED_MESSAGE = (
    "First contact not recorded by the due time: e-mailed the RST supervisors and the team mailbox."
)


class DigestNotSent(Exception):
    """One attempt at the daily digest failed. The message never holds an e-mail address."""


# What is due.


def due_soon_referrals(*, now: datetime) -> QuerySet:
    """New, assigned referrals due within RST_DUE_SOON_BUSINESS_HOURS whose current
    assignment has had no reminder yet."""
    hours = settings.RST_DUE_SOON_BUSINESS_HOURS
    if hours <= 0:
        return Referral.objects.none()
    reminded = ReferralEvent.objects.filter(
        referral=OuterRef("pk"),
        kind=ReferralEvent.Kind.DUE_SOON,
        specialist=OuterRef("assigned_specialist"),
        created_at__gte=Coalesce(OuterRef("assigned_at"), OuterRef("submitted_at")),
    )
    return Referral.objects.filter(
        status=Referral.Status.NEW,
        assigned_specialist__isnull=False,
        first_contact_due_at__gt=now,
        # The due time is at most `hours` of business time away.
        first_contact_due_at__lte=add_business_hours(now, hours),
    ).exclude(Exists(reminded))


def overdue_unescalated_referrals(*, now: datetime) -> QuerySet:
    """Overdue referrals the supervisors have not been told about (recently overdue only)."""
    escalated = ReferralEvent.objects.filter(
        referral=OuterRef("pk"), kind=ReferralEvent.Kind.ESCALATED
    )
    return Referral.objects.filter(
        overdue_q(now=now), first_contact_due_at__gte=now - ESCALATION_CATCH_UP
    ).exclude(Exists(escalated))


# Recording each reminder once.


def _lock_if_free(referral_id: int) -> Referral | None:
    """The referral under its row lock, or None if another transaction holds it (another
    worker reminding it, or someone acting on it): the next tick looks again."""
    return (
        Referral.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("assigned_specialist")
        .filter(pk=referral_id)
        .first()
    )


def _record_once(referral: Referral, kind: str, *, key: str, message: str) -> ReferralEvent | None:
    """Write the reminder's event under its unique key; None if it was written already."""
    try:
        with transaction.atomic():
            return ReferralEvent.objects.create(
                referral=referral,
                kind=kind,
                message=message,
                region_id=referral.region_id,
                specialist_id=referral.assigned_specialist_id,
                action_token=key,
            )
    except IntegrityError:
        return None


def _due_soon_key(referral: Referral) -> str:
    assigned = referral.assigned_at or referral.submitted_at
    return (
        f"reminder:due_soon:{referral.pk}:{referral.assigned_specialist_id}:"
        f"{int(assigned.timestamp() * 1_000_000)}"
    )


def _escalated_key(referral: Referral) -> str:
    return f"reminder:escalated:{referral.pk}"


def referral_remind_due_soon(*, referral_id: int, now: datetime) -> ReferralEvent | None:
    """Remind the assigned specialist that first contact is due soon, if it is and they
    have not been reminded for this assignment. Returns the event, or None."""
    with transaction.atomic():
        referral = _lock_if_free(referral_id)
        # Asked again under the lock, in a new statement: it sees what others committed.
        if referral is None or not due_soon_referrals(now=now).filter(pk=referral_id).exists():
            return None
        message = DUE_SOON_MESSAGE.format(
            name=referral.assigned_specialist.name,
            left=time_left(referral.first_contact_due_at, now=now),
        )
        event = _record_once(
            referral, ReferralEvent.Kind.DUE_SOON, key=_due_soon_key(referral), message=message
        )
        if event is not None:
            notification_queue(referral=referral, kind=Notification.Kind.DUE_SOON)
        return event


def referral_escalate_overdue(*, referral_id: int, now: datetime) -> ReferralEvent | None:
    """Tell the supervisors that first contact is overdue, once per referral.
    Returns the event, or None."""
    with transaction.atomic():
        referral = _lock_if_free(referral_id)
        if (
            referral is None
            or not overdue_unescalated_referrals(now=now).filter(pk=referral_id).exists()
        ):
            return None
        event = _record_once(
            referral,
            ReferralEvent.Kind.ESCALATED,
            key=_escalated_key(referral),
            message=ESCALATED_MESSAGE,
        )
        if event is not None:
            notification_queue(referral=referral, kind=Notification.Kind.OVERDUE)
        return event


# The daily digest.


def digest_time() -> time:
    return time.fromisoformat(settings.RST_DIGEST_AT)


def daily_digest_if_due(*, now: datetime) -> DailyDigest | None:
    """Record today's digest and queue its sending, if it is time and not done yet."""
    local = now.astimezone(office_zone())
    today = local.date()
    if not is_working_day(today) or local.time() < digest_time():
        return None
    if DailyDigest.objects.filter(day=today).exists():
        return None
    with transaction.atomic():
        # The unique day decides between two workers: the other one gets the row.
        digest, created = DailyDigest.objects.get_or_create(day=today)
        if not created:
            return None
        _dispatch_digest(digest)
    return digest


def _dispatch_digest(digest: DailyDigest, *, run_after: datetime | None = None) -> None:
    """Queue the digest's next attempt (in the caller's transaction)."""
    sender = send_daily_digest
    if run_after is not None:
        sender = sender.using(run_after=run_after)
    sender.enqueue(digest_id=digest.pk, attempt=digest.attempts + 1)


def _site_link(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def _queue_link(**filters: str) -> str:
    return _site_link(f"{reverse('referrals:queue')}?{urlencode(filters)}")


def _digest_items(referrals: QuerySet, *, now: datetime) -> list[dict]:
    zone = office_zone()
    listed = referrals.select_related("region", "assigned_specialist").order_by(
        "first_contact_due_at", "pk"
    )[:DIGEST_LIST_LIMIT]
    return [
        {
            "referral": referral,
            "due": timezone.localtime(referral.first_contact_due_at, zone),
            "time_left": time_left(referral.first_contact_due_at, now=now),
            "link": _site_link(referral.get_absolute_url()),
        }
        for referral in listed
    ]


@dataclass(frozen=True)
class DigestMessage:
    message: EmailMessage
    overdue_count: int
    intake_count: int


def digest_message(*, day: date, now: datetime) -> DigestMessage:
    """The digest as it stands at `now`: counts, the lists (capped) and their links.

    Times are in the office's zone: the message goes to several people at once.
    """
    overdue = Referral.objects.overdue(now=now)
    intake = Referral.objects.supervisor_intake()
    overdue_count, intake_count = overdue.count(), intake.count()
    context = {
        "day": day,
        "now": now,
        "overdue_count": overdue_count,
        "intake_count": intake_count,
        "overdue": _digest_items(overdue, now=now),
        "intake": _digest_items(intake, now=now),
        "overdue_more": max(0, overdue_count - DIGEST_LIST_LIMIT),
        "intake_more": max(0, intake_count - DIGEST_LIST_LIMIT),
        "overdue_list_link": _queue_link(scope=Scope.ALL, overdue="on"),
        "intake_list_link": _queue_link(scope=Scope.INTAKE),
    }
    with timezone.override(office_zone()):
        subject = render_to_string("referrals/emails/digest_subject.txt", context)
        body = render_to_string("referrals/emails/digest.txt", context)
    message = EmailMessage(subject=" ".join(subject.split()), body=body, to=supervisor_addresses())
    return DigestMessage(message, overdue_count, intake_count)


def _settle_digest_failure(digest: DailyDigest, failure: SendFailure) -> str:
    """Queue the next attempt after a temporary failure, or mark the digest failed.

    Runs with the digest row locked. Returns what was decided, for the logs.
    """
    digest.last_error = failure.description[:MAX_ERROR_LENGTH]
    run_after = next_attempt_after(failure, attempts=digest.attempts, sender=send_daily_digest)
    if run_after is not None:
        digest.save(update_fields=["last_error"])
        _dispatch_digest(digest, run_after=run_after)
        return next_attempt_text(run_after)
    digest.status = DailyDigest.Status.FAILED
    digest.save(update_fields=["last_error", "status"])
    return "marked failed for the supervisor"


@task(priority=DIGEST_PRIORITY)
def send_daily_digest(*, digest_id: int, attempt: int) -> str:
    """Send the day's digest; on failure queue the next attempt or mark it failed (and raise).

    `attempt` names the one task allowed to make that attempt: a task for an attempt
    already made (say, queued again after its worker died) does nothing.
    """
    with transaction.atomic():
        digest = DailyDigest.objects.select_for_update().get(pk=digest_id)
        label = f"the daily digest of {digest.day:%Y-%m-%d}"
        if digest.status != DailyDigest.Status.PENDING or digest.attempts != attempt - 1:
            return f"nothing to do: {label} is {digest.get_status_display().lower()}"
        digest.attempts = attempt
        digest.save(update_fields=["attempts"])
        if mail_pause.active:
            failure = SendFailure(f"not tried, sending paused: {mail_pause.reason}", True)
            return f"deferred {label}: {_settle_digest_failure(digest, failure)}"

    # Outside the transaction: a slow mail server must not hold a database lock.
    try:
        built = digest_message(day=digest.day, now=timezone.now())
        if not built.message.to:
            raise NoRecipient
        built.message.send()
    except Exception as error:  # noqa: BLE001 - every failure ends retried or failed
        failure = classify(error)
    else:
        DailyDigest.objects.filter(pk=digest_id, attempts=attempt).update(
            status=DailyDigest.Status.SENT,
            sent_at=timezone.now(),
            overdue_count=built.overdue_count,
            intake_count=built.intake_count,
            last_error="",
        )
        mail_pause.end()
        return f"sent {label}: {built.overdue_count} overdue, {built.intake_count} in intake"

    if failure.server_unreachable:
        mail_pause.start(failure.description)
    with transaction.atomic():
        digest = DailyDigest.objects.select_for_update().get(pk=digest_id)
        if digest.attempts != attempt:
            decision = "a newer attempt has taken over"
        else:
            decision = _settle_digest_failure(digest, failure)
    logger.warning(
        "Could not send %s (attempt %d): %s; %s.", label, attempt, failure.description, decision
    )
    # `from None`: the SMTP error names addresses; it must not reach the task result.
    raise DigestNotSent(
        f"Could not send {label} (attempt {attempt}): {failure.description}; {decision}."
    ) from None


def requeue_orphaned_digests(*, now: datetime) -> int:
    """Give a new task to a pending digest whose task ended without settling it (say, the
    database was unreachable when it started); mark one from an earlier day failed.
    Returns how many were dealt with."""
    if not send_daily_digest.get_backend().supports_defer:
        return 0  # tasks run at once: nothing can be left waiting
    cutoff = now - timedelta(seconds=settings.RST_TASK_LEASE_SECONDS)
    today = now.astimezone(office_zone()).date()
    dealt = 0
    for digest_id in DailyDigest.objects.filter(
        status=DailyDigest.Status.PENDING, created_at__lt=cutoff
    ).values_list("pk", flat=True):
        alive = DBTaskResult.objects.filter(
            task_path=send_daily_digest.module_path,
            status__in=["READY", "RUNNING"],
            args_kwargs__kwargs__digest_id=digest_id,
        )
        if alive.exists():
            continue
        with transaction.atomic():
            digest = DailyDigest.objects.select_for_update().get(pk=digest_id)
            if digest.status != DailyDigest.Status.PENDING:
                continue
            if digest.day < today:
                digest.status = DailyDigest.Status.FAILED
                digest.last_error = "not sent on its day (no task was left to send it)"
                digest.save(update_fields=["status", "last_error"])
            else:
                _dispatch_digest(digest)
        dealt += 1
        logger.warning("The daily digest of %s had no task left to send it.", digest.day)
    return dealt


# One round, and the schedule.


@dataclass
class ReminderRound:
    """What one round recorded (references only: never case details)."""

    due_soon: list[str] = field(default_factory=list)
    escalated: list[str] = field(default_factory=list)
    digest: DailyDigest | None = None

    def __str__(self) -> str:
        parts = []
        if self.due_soon:
            parts.append(f"due-soon reminders: {', '.join(self.due_soon)}")
        if self.escalated:
            parts.append(f"overdue escalations: {', '.join(self.escalated)}")
        if self.digest is not None:
            parts.append(f"daily digest of {self.digest.day:%Y-%m-%d} queued")
        return "; ".join(parts) or "nothing due"


def reminders_run(*, now: datetime | None = None) -> ReminderRound:
    """Record every reminder due at `now` and queue its e-mail. Safe to run any number of
    times, in any number of processes at once."""
    now = now or timezone.now()
    done = ReminderRound()
    due_soon = due_soon_referrals(now=now).order_by("first_contact_due_at", "pk")
    for referral_id in due_soon.values_list("pk", flat=True)[:BATCH_SIZE]:
        event = referral_remind_due_soon(referral_id=referral_id, now=now)
        if event is not None:
            done.due_soon.append(event.referral.reference)
    overdue = overdue_unescalated_referrals(now=now).order_by("first_contact_due_at", "pk")
    for referral_id in overdue.values_list("pk", flat=True)[:BATCH_SIZE]:
        event = referral_escalate_overdue(referral_id=referral_id, now=now)
        if event is not None:
            done.escalated.append(event.referral.reference)
    done.digest = daily_digest_if_due(now=now)
    requeue_orphaned_digests(now=now)
    return done


def _tick_results() -> QuerySet:
    return DBTaskResult.objects.filter(
        task_path=reminders_tick.module_path, backend_name=reminders_tick.backend
    )


def _queue_tick_unless(*statuses: str) -> bool:
    """Queue a tick TICK_EVERY from now unless one in `statuses` exists; True if queued.

    The check and the insert take turns (an advisory lock on PostgreSQL; SQLite's write
    transactions already run one at a time), so two workers cannot both queue one.
    """
    if not reminders_tick.get_backend().supports_defer:
        return False  # tasks run at once (tests): a chain would never end
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_SCHEDULE_LOCK])
        if _tick_results().filter(status__in=statuses).exists():
            return False
        reminders_tick.using(run_after=timezone.now() + TICK_EVERY).enqueue()
    return True


def reminders_schedule() -> bool:
    """Start the chain of ticks if none is waiting or running (the worker calls this when it
    starts and on each lease round). True if a tick was queued."""
    return _queue_tick_unless("READY", "RUNNING")


@task(priority=TICK_PRIORITY)
def reminders_tick() -> str:
    """One round of reminders; first queue the next tick, so an error here cannot end the
    chain. A tick that finds another one waiting queues none: two chains become one."""
    _queue_tick_unless("READY")
    _tick_results().filter(
        status="SUCCESSFUL", finished_at__lt=timezone.now() - TICK_RESULTS_KEPT
    ).delete()
    return str(reminders_run())
