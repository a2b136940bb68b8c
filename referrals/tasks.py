"""Notification e-mails, sent by the task worker (manage.py db_worker) after commit.

E-mails carry the reference, the region, who has the case and a link: never the
child's details or the summary. A failed send is retried with back-off (each attempt
is a task result the supervisor can see in the admin); the referral itself is saved
before any of this runs, so mail being down never loses one.
"""

import logging
import smtplib
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.db import models
from django.template.loader import render_to_string
from django.utils import timezone
from django_tasks import task

from contacts.models import ProgramContact

from .models import Referral
from .roles import SUPERVISORS_GROUP

logger = logging.getLogger(__name__)

# Seconds to wait before attempts 2, 3, 4 and 5.
RETRY_DELAYS = (60, 5 * 60, 30 * 60, 2 * 60 * 60)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1


class Notice(models.TextChoices):
    ASSIGNED = "assigned", "A referral is assigned to a Resource Specialist"
    INTAKE = "intake", "A referral waits in supervisor intake"
    RECEIPT = "receipt", "The referrer's receipt"


class NoRecipient(Exception):
    """Nobody to tell: recorded as a failed task so the supervisor sees it."""


def recipients(referral: Referral, notice: str) -> list[str]:
    if notice == Notice.ASSIGNED and referral.assigned_specialist:
        return [referral.assigned_specialist.email]
    if notice == Notice.INTAKE:
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
    if notice == Notice.RECEIPT:
        return [referral.referrer_email]
    return []


def build_message(referral: Referral, notice: str) -> EmailMessage:
    context = {
        "referral": referral,
        "link": settings.SITE_URL.rstrip("/") + referral.get_absolute_url(),
        "due": timezone.localtime(referral.first_contact_due_at),
    }
    subject = render_to_string(f"referrals/emails/{notice}_subject.txt", context)
    body = render_to_string(f"referrals/emails/{notice}.txt", context)
    return EmailMessage(
        subject=" ".join(subject.split()),
        body=body,
        to=recipients(referral, notice),
    )


@task()
def send_referral_notice(
    *, referral_id: int, notice: str, specialist_id: int | None = None, attempt: int = 1
) -> str:
    """Send one notice about one referral; on a mail failure, try again later.

    `specialist_id` is who an "assigned" notice is for: if the referral has moved on
    to someone else by the time this runs, that person gets their own notice instead.
    """
    referral = Referral.objects.select_related("region", "assigned_specialist", "jurisdiction").get(
        pk=referral_id
    )
    if notice == Notice.ASSIGNED and referral.assigned_specialist_id != specialist_id:
        return f"skipped: {referral.reference} is no longer assigned to that specialist"
    message = build_message(referral, notice)
    if not message.to:
        raise NoRecipient(f"Nobody to send the {notice} notice of {referral.reference} to.")
    try:
        message.send()
    except smtplib.SMTPRecipientsRefused:
        # The address itself is refused (a mistyped receipt address): retrying won't help.
        logger.warning("The %s notice of %s was refused.", notice, referral.reference)
        raise
    except (smtplib.SMTPException, OSError):
        if attempt < MAX_ATTEMPTS:
            retry_at = timezone.now() + timedelta(seconds=RETRY_DELAYS[attempt - 1])
            send_referral_notice.using(run_after=retry_at).enqueue(
                referral_id=referral_id,
                notice=notice,
                specialist_id=specialist_id,
                attempt=attempt + 1,
            )
        logger.warning(
            "Sending the %s notice of %s failed (attempt %d of %d).",
            notice,
            referral.reference,
            attempt,
            MAX_ATTEMPTS,
        )
        raise  # this attempt is recorded as failed
    return f"sent the {notice} notice of {referral.reference}"
