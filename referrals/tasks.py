"""Notification e-mails, sent one notice at a time by the task worker (manage.py task_worker).

Each notice is a `Notification` row (the ledger) written in the same transaction as the
referral change that calls for it, together with the task that sends it (see
referrals/notifications.py). The task takes the notification's id and the token of
the task currently responsible for it, so only one task ever sends a notice: a retry or
a resend hands the notice to a new task, and a superseded one does nothing.

What happens on failure, so that every e-mail arrives or a person is told:

- a temporary refusal (SMTP 4xx such as 450 greylisting, a timeout, no connection, a
  dropped connection) is tried again after each of RST_NOTICE_RETRY_DELAYS;
- a permanent one (SMTP 5xx, nobody to send to, an unexpected error) fails at once;
- a failed notice is listed for the supervisor (admin filter, workload overview), who
  can resend it;
- when the mail server times out or cannot be reached, this worker pauses sending for
  RST_MAIL_PAUSE_SECONDS (a circuit breaker): the notices due meanwhile are deferred
  without waiting EMAIL_TIMEOUT each;
- a task left running by a worker that died is queued again after the lease
  (RST_TASK_LEASE_SECONDS, manage.py task_worker) and sends the notice then.

E-mails carry the reference, the region, who has the case and a link: never the
child's details or the summary. Errors are recorded, raised and logged without any
e-mail address: the SMTP library puts the refused address in its exceptions, so they
are described in our own words and re-raised `from None`.
"""

import logging
import re
import smtplib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone
from django_tasks import task
from django_tasks_db.models import DBTaskResult

from accounts.models import StaffProfile
from accounts.roles import SUPERVISORS_GROUP
from contacts.models import ProgramContact

from .deadlines import office_zone, time_left
from .models import Notification, Referral, ReferralEvent, StatusLink

logger = logging.getLogger(__name__)

# Anything shaped like an address (local@domain), however the server wrapped it.
ADDRESS = re.compile(r"[^\s<>()\[\]{},;:\"'@]+@[^\s<>()\[\]{},;:\"'@]+")
MAX_ERROR_LENGTH = Notification._meta.get_field("last_error").max_length


class NoticeNotSent(Exception):
    """One attempt at a notice failed. The message never holds an e-mail address."""


class NoRecipient(Exception):
    """Nobody to send the notice to (no supervisor or team mailbox has an address)."""


def redact(text: str) -> str:
    """The server's words without addresses, on one line."""
    return " ".join(ADDRESS.sub("[address]", text).split())


def _server_words(raw) -> str:
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    return redact(str(raw))[:120]


@dataclass(frozen=True)
class SendFailure:
    """Why a send failed, and what to do about it."""

    description: str
    temporary: bool
    # The mail server itself timed out or could not be reached: pause sending.
    server_unreachable: bool = False


def classify(error: BaseException) -> SendFailure:
    """Sort a send error into temporary (retry) or permanent (fail now), without addresses."""
    if isinstance(error, NoRecipient):
        return SendFailure("nobody to send it to", temporary=False)
    # smtplib's exceptions are OSErrors: check them before the network errors.
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        replies = list(error.recipients.values())
        codes = sorted({code for code, _ in replies})
        words = "; ".join(dict.fromkeys(_server_words(message) for _, message in replies))
        return SendFailure(
            f"the mail server refused the recipient ({', '.join(map(str, codes))} {words})",
            temporary=all(400 <= code < 500 for code in codes),
        )
    if isinstance(error, smtplib.SMTPServerDisconnected):
        # smtplib reports a reply that never came as a disconnection ("... timed out").
        what = "did not answer in time" if "timed out" in str(error) else "closed the connection"
        return SendFailure(f"the mail server {what}", temporary=True, server_unreachable=True)
    if isinstance(error, smtplib.SMTPResponseException):
        step = {
            smtplib.SMTPConnectError: "refused the connection",
            smtplib.SMTPHeloError: "refused the greeting",
            smtplib.SMTPAuthenticationError: "refused the login",
            smtplib.SMTPSenderRefused: "refused the sender",
            smtplib.SMTPDataError: "refused the message",
        }.get(type(error), "answered with an error")
        return SendFailure(
            f"the mail server {step} ({error.smtp_code} {_server_words(error.smtp_error)})",
            temporary=400 <= error.smtp_code < 500,
            server_unreachable=isinstance(error, smtplib.SMTPConnectError),
        )
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return SendFailure(f"the mail server lacks a feature we need ({redact(str(error))})", False)
    if isinstance(error, smtplib.SMTPException):
        return SendFailure(f"mail error: {redact(str(error))[:120]}", temporary=True)
    if isinstance(error, TimeoutError):
        return SendFailure(
            "the mail server did not answer in time", temporary=True, server_unreachable=True
        )
    if isinstance(error, ConnectionRefusedError):
        return SendFailure(
            "no mail server answered (connection refused)",
            temporary=True,
            server_unreachable=True,
        )
    if isinstance(error, OSError):
        return SendFailure(
            f"no connection to the mail server ({type(error).__name__})",
            temporary=True,
            server_unreachable=True,
        )
    return SendFailure(f"unexpected error ({type(error).__name__})", temporary=False)


class MailPause:
    """This worker's circuit breaker for the mail server.

    Process-local on purpose: it needs no shared service, and each worker process then
    pays at most one EMAIL_TIMEOUT per pause. After the pause, the next send tries the
    server again.
    """

    def __init__(self):
        self.until: datetime | None = None
        self.reason = ""

    def start(self, reason: str) -> None:
        self.until = timezone.now() + timedelta(seconds=settings.RST_MAIL_PAUSE_SECONDS)
        self.reason = reason

    def end(self) -> None:
        self.until = None
        self.reason = ""

    @property
    def active(self) -> bool:
        return self.until is not None and timezone.now() < self.until


mail_pause = MailPause()


def supervisor_addresses() -> list[str]:
    """The RST supervisor and the team mailbox (program contacts) and every supervisor login."""
    contacts = ProgramContact.objects.filter(
        role__in=[ProgramContact.Role.SUPERVISOR, ProgramContact.Role.MAILBOX]
    ).values_list("email", flat=True)
    supervisors = (
        get_user_model()
        .objects.filter(groups__name=SUPERVISORS_GROUP, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    return sorted(set(contacts) | set(supervisors))


def recipients(referral: Referral, notification: Notification) -> list[str]:
    kind = notification.kind
    if kind in (Notification.Kind.ASSIGNED, Notification.Kind.DUE_SOON):
        return [notification.specialist.email]
    if kind in (Notification.Kind.INTAKE, Notification.Kind.OVERDUE):
        return supervisor_addresses()
    if kind == Notification.Kind.FOLLOW_UP:
        # Whoever had the case when the referrer wrote; the intake recipients if nobody.
        if notification.specialist_id:
            return [notification.specialist.email]
        return supervisor_addresses()
    if kind == Notification.Kind.FOLLOW_UP_CLOSED:
        return supervisor_addresses()
    if kind in (Notification.Kind.RECEIPT, Notification.Kind.STATUS_LINK):
        return [referral.referrer_email]
    return []


# E-mails that carry the referrer's status link: a new link is minted for each attempt,
# so its token is only ever in the e-mail itself (referrals/status_links.py).
STATUS_LINK_KINDS = (Notification.Kind.RECEIPT, Notification.Kind.STATUS_LINK)


@dataclass(frozen=True)
class MintedLink:
    link: StatusLink
    url: str


def links_revoked_since(referral: Referral, notification: Notification) -> bool:
    """Whether the referral's status links were revoked after this notice was queued: its
    link must not be made then (revoking means no link works, the queued ones included)."""
    return referral.events.filter(
        kind=ReferralEvent.Kind.LINK_REVOKED, created_at__gte=notification.created_at
    ).exists()


def mint_status_link(referral: Referral, notification: Notification) -> MintedLink | None:
    """A new status link for an e-mail that carries one (None for the others, and for a
    receipt queued before the links were revoked: it goes without one)."""
    if notification.kind not in STATUS_LINK_KINDS or referral.redacted_at is not None:
        return None
    if links_revoked_since(referral, notification):
        return None
    # Imported here: status_links changes referrals through the services, which queue
    # their notices through this module.
    from .status_links import status_link_mint, status_url

    link, token = status_link_mint(referral=referral)
    return MintedLink(link=link, url=status_url(token))


def discard_status_link(minted: MintedLink | None) -> None:
    """The e-mail did not go: its link must never work (a retry mints another)."""
    if minted is None:
        return
    from .status_links import status_link_discard

    try:
        status_link_discard(link=minted.link)
    except DatabaseError:
        # Harmless if it stays: its token was in an e-mail that was not sent.
        logger.warning("Could not revoke the status link of an unsent e-mail.")


def staff_zone(user_id: int | None) -> ZoneInfo:
    """The zone a staff member chose on their profile, else the office's."""
    name = StaffProfile.objects.filter(user_id=user_id).values_list("time_zone", flat=True).first()
    try:
        return ZoneInfo(name) if name else office_zone()
    except (ZoneInfoNotFoundError, ValueError):
        return office_zone()


def notice_zone(notification: Notification) -> ZoneInfo:
    """The zone a notice's times are written in: its one specialist's own, else the office's."""
    if notification.specialist_id and notification.specialist.user_id:
        return staff_zone(notification.specialist.user_id)
    return office_zone()


def build_message(
    referral: Referral, notification: Notification, *, status_link: MintedLink | None = None
) -> EmailMessage:
    zone = notice_zone(notification)
    context = {
        "referral": referral,
        "notification": notification,
        "link": settings.SITE_URL.rstrip("/") + referral.get_absolute_url(),
        "due": timezone.localtime(referral.first_contact_due_at, zone),
        # Business time, at the moment of sending: "due in 45 min", "overdue by 2 h".
        "time_left": time_left(referral.first_contact_due_at),
    }
    if status_link is not None:
        context["status_url"] = status_link.url
        context["status_link_expires"] = status_link.link.expires_at
    kind = notification.kind
    # The date filter shows times in the active zone: make it the recipient's.
    with timezone.override(zone):
        subject = render_to_string(f"referrals/emails/{kind}_subject.txt", context)
        body = render_to_string(f"referrals/emails/{kind}.txt", context)
    return EmailMessage(
        subject=" ".join(subject.split()),
        body=body,
        to=recipients(referral, notification),
    )


def max_attempts() -> int:
    return len(settings.RST_NOTICE_RETRY_DELAYS) + 1


def dispatch(notification: Notification, *, run_after: datetime | None = None) -> None:
    """Hand the notice to a new task (in the caller's transaction); earlier tasks stand down."""
    notification.task_token = uuid.uuid4().hex
    notification.next_attempt_at = run_after
    notification.save()
    sender = send_notification.using(priority=notification.priority)
    if run_after is not None:
        sender = sender.using(run_after=run_after)
    sender.enqueue(notification_id=notification.pk, token=notification.task_token)


def next_attempt_after(failure: SendFailure, *, attempts: int, sender) -> datetime | None:
    """When an e-mail that failed on its `attempts`-th try is tried again (the back-off of
    RST_NOTICE_RETRY_DELAYS, and not before a mail pause ends), or None: it has failed for
    good (a permanent failure, attempts used up, or a backend that cannot defer)."""
    delays = settings.RST_NOTICE_RETRY_DELAYS
    if not (failure.temporary and attempts <= len(delays) and sender.get_backend().supports_defer):
        return None
    run_after = timezone.now() + timedelta(seconds=delays[attempts - 1])
    if mail_pause.active:
        run_after = max(run_after, mail_pause.until)
    return run_after


def next_attempt_text(run_after: datetime) -> str:
    return f"next attempt at {timezone.localtime(run_after):%Y-%m-%d %H:%M:%S %Z}"


def _settle_failure(notification: Notification, failure: SendFailure) -> str:
    """Queue the next attempt after a temporary failure, or mark the notice failed.

    Runs with the notification row locked. Returns what was decided, for the logs.
    """
    notification.last_error = failure.description[:MAX_ERROR_LENGTH]
    run_after = next_attempt_after(
        failure, attempts=notification.attempts, sender=send_notification
    )
    if run_after is not None:
        dispatch(notification, run_after=run_after)
        return next_attempt_text(run_after)
    notification.status = Notification.Status.FAILED
    notification.next_attempt_at = None
    notification.save()
    return "marked failed for the supervisor"


def requeue_orphaned_notices(*, older_than: timedelta) -> int:
    """Give a new task to pending notices whose task ended without settling them.

    That happens when the task itself failed outside the send (say, the database was
    unreachable or locked when it started): without this the notice would stay
    pending, unsent and unreported. Returns how many were queued again.
    """
    cutoff = timezone.now() - older_than
    waiting = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lt=cutoff)
    candidates = Notification.objects.filter(
        waiting, status=Notification.Status.PENDING, created_at__lt=cutoff
    ).exclude(last_attempt_at__gte=cutoff)
    requeued = 0
    for notification_id, token in candidates.values_list("pk", "task_token"):
        alive = DBTaskResult.objects.filter(
            status__in=["READY", "RUNNING"], args_kwargs__kwargs__token=token
        )
        if alive.exists():
            continue  # waiting in a backlog, or running: not orphaned
        with transaction.atomic():
            notification = Notification.objects.select_for_update().get(pk=notification_id)
            if (
                notification.status != Notification.Status.PENDING
                or notification.task_token != token
            ):
                continue
            dispatch(notification)
        requeued += 1
        logger.warning(
            "The %s notice of %s had no task left to send it; queued again.",
            notification.kind,
            notification.referral.reference,
        )
    return requeued


def reminder_outdated(referral: Referral, notification: Notification) -> str:
    """Why a notice no longer needs sending, or "": a deadline reminder
    (referrals/reminders.py) overtaken by events, or a new status link revoked before it went.
    """
    if notification.kind == Notification.Kind.STATUS_LINK and links_revoked_since(
        referral, notification
    ):
        return "The referrer's status links were revoked before it went."
    if notification.kind not in (Notification.Kind.DUE_SOON, Notification.Kind.OVERDUE):
        return ""
    if referral.status != Referral.Status.NEW:
        return "First contact was recorded (or the referral closed) before it went."
    if notification.kind == Notification.Kind.DUE_SOON:
        if referral.assigned_specialist_id != notification.specialist_id:
            return "The referral was assigned to someone else before it went."
        if referral.is_overdue():
            return "First contact was already overdue when it could go (see the overdue notice)."
    return ""


def _locked(notification_id: int) -> Notification:
    return (
        Notification.objects.select_for_update(of=("self",))
        .select_related(
            "specialist",
            "referral__region",
            "referral__assigned_specialist",
            "referral__jurisdiction",
        )
        .get(pk=notification_id)
    )


@task()
def send_notification(*, notification_id: int, token: str) -> str:
    """Send one notice; on failure queue the next attempt or mark it failed (and raise)."""
    with transaction.atomic():
        notification = _locked(notification_id)
        referral = notification.referral
        label = f"the {notification.kind} notice of {referral.reference}"
        if notification.task_token != token or notification.status != Notification.Status.PENDING:
            return f"nothing to do: {label} is {notification.get_status_display().lower()}"
        if (
            notification.kind == Notification.Kind.ASSIGNED
            and referral.assigned_specialist_id != notification.specialist_id
        ):
            notification.status = Notification.Status.SKIPPED
            notification.skip_reason = "The referral was assigned to someone else before it went."
            notification.next_attempt_at = None
            notification.save()
            return f"skipped: {referral.reference} is no longer assigned to that specialist"
        if (
            notification.kind == Notification.Kind.FOLLOW_UP
            and referral.assigned_specialist_id != notification.specialist_id
        ):
            # The case moved since the referrer wrote: the news goes to whoever has it now
            # (the intake recipients if nobody), never to the specialist it left.
            notification.specialist_id = referral.assigned_specialist_id
            notification.save(update_fields=["specialist"])
            notification.specialist = referral.assigned_specialist
        outdated = reminder_outdated(referral, notification)
        if outdated:
            notification.status = Notification.Status.SKIPPED
            notification.skip_reason = outdated
            notification.next_attempt_at = None
            notification.save()
            return f"skipped: {label}: {outdated}"
        notification.attempts += 1
        notification.last_attempt_at = timezone.now()
        notification.next_attempt_at = None
        attempt = f"attempt {notification.attempts} of {max_attempts()}"
        if mail_pause.active:
            # Not tried: the server just timed out or was unreachable for another notice.
            failure = SendFailure(f"not tried, sending paused: {mail_pause.reason}", True)
            decision = _settle_failure(notification, failure)
            failed = notification.status == Notification.Status.FAILED
            logger.log(
                logging.ERROR if failed else logging.WARNING,
                "Deferred %s (%s): %s; %s.",
                label,
                attempt,
                failure.description,
                decision,
            )
            return f"deferred {label}: {decision}"
        notification.save()

    # Outside the transaction: a slow mail server must not hold a database lock.
    status_link = None
    try:
        status_link = mint_status_link(referral, notification)
        message = build_message(referral, notification, status_link=status_link)
        if not message.to:
            raise NoRecipient
        message.send()
    except Exception as error:  # noqa: BLE001 - every failure ends retried or failed
        failure = classify(error)
        discard_status_link(status_link)
    else:
        Notification.objects.filter(pk=notification.pk, task_token=token).update(
            status=Notification.Status.SENT, sent_at=timezone.now(), last_error=""
        )
        mail_pause.end()
        return f"sent {label}"

    if failure.server_unreachable:
        mail_pause.start(failure.description)
    with transaction.atomic():
        notification = _locked(notification_id)
        if notification.task_token != token:
            decision = "a newer attempt has taken over"
        else:
            decision = _settle_failure(notification, failure)
    logger.warning("Could not send %s (%s): %s; %s.", label, attempt, failure.description, decision)
    # Raised outside the `except` and `from None`: the SMTP error, which names the
    # address, must not reach the task result's traceback or the logs.
    raise NoticeNotSent(
        f"Could not send {label} ({attempt}): {failure.description}; {decision}."
    ) from None
