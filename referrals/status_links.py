"""The referrer's private status link and the follow-up messages sent through it.

A link is a random token (`secrets.token_urlsafe`, 256 bits) of which only the SHA-256
is stored (StatusLink.token_hash): the token exists in the link the referrer was given
and nowhere else. So a link is minted where it is handed over: by the task that sends
the e-mail carrying it (referrals/tasks.py), or by the form's view for the confirmation
page of the browser that sent the referral. A link works for RST_STATUS_LINK_DAYS,
unless the assigned specialist or a supervisor revokes the referral's links.

The page behind a link (referrals/status/) shows where the referral stands, never its
case details, and takes follow-ups: each is an event on the referral, an e-mail without
its text to whoever has the case, and the "new information" marker in the queue until
the assigned specialist opens the referral.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Max, Q
from django.urls import reverse
from django.utils import timezone

from accounts.roles import is_supervisor
from regions.selectors import specialist_of

from .models import Notification, PossibleDuplicate, Referral, ReferralEvent, StatusLink
from .notifications import Notice
from .selectors import referral_in_scope
from .services import NOT_IN_SCOPE, _notify, _record
from .validators import clean_paragraphs

TOKEN_BYTES = 32  # secrets.token_urlsafe(32): 43 characters, 256 bits
# Anything longer is not one of ours: answered "unknown" without a query.
TOKEN_MAX_LENGTH = 64
# A page view refreshes last_used_at at most this often (a write per view is waste).
LAST_USED_RESOLUTION = timedelta(minutes=5)

FOLLOW_UP_MIN, FOLLOW_UP_MAX = 10, 2000
FOLLOW_UP_TOO_SHORT = "Write a little more: at least 10 characters."
FOLLOW_UP_TOO_LONG = "Keep the message to 2,000 characters (it has {length:,})."
LINK_NOT_USABLE = "This status link no longer works, so the message was not sent."
LINKS_ASSIGNED_ONLY = (
    "Only the assigned Resource Specialist or an RST supervisor can change the "
    "referrer's status links."
)
LINK_NO_ADDRESS = (
    "The referrer's contact details were removed after the retention period, so no "
    "new link can be sent."
)
TOKEN_USED_ELSEWHERE = "This form was already used. Reload the page and try again."

LINK_ISSUED_MESSAGE = "A new status link was e-mailed to the referrer."
LINKS_REVOKED_MESSAGE = "{count} status link(s) revoked: the referrer's links no longer work."


def token_hash(token: str) -> str:
    """What is stored of a token, and looked up: its SHA-256, in hex."""
    return hashlib.sha256(token.encode("utf-8", errors="surrogatepass")).hexdigest()


def status_link_mint(*, referral: Referral, now: datetime | None = None) -> tuple[StatusLink, str]:
    """Create a link for `referral`; return it and its token (the only copy: hand it over).

    The caller puts the token in the one place the referrer reads it, never in a log, a
    task's arguments or a row.
    """
    now = now or timezone.now()
    token = secrets.token_urlsafe(TOKEN_BYTES)
    link = StatusLink.objects.create(
        referral=referral,
        token_hash=token_hash(token),
        created_at=now,
        expires_at=now + timedelta(days=settings.RST_STATUS_LINK_DAYS),
    )
    return link, token


def status_link_discard(*, link: StatusLink) -> None:
    """Revoke a link that never reached the referrer (its e-mail failed); no event."""
    StatusLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def status_url(token: str) -> str:
    """The page's full address, for e-mails (the pages use {% url 'referrals:status' %})."""
    return settings.SITE_URL.rstrip("/") + reverse("referrals:status", kwargs={"token": token})


# Reads for the status page.


class LinkState:
    USABLE = "usable"
    UNKNOWN = "unknown"  # never issued, mistyped or tampered with
    EXPIRED = "expired"
    REVOKED = "revoked"
    REDACTED = "redacted"  # the referral's details were removed (retention period)


def status_link_find(*, token: str) -> StatusLink | None:
    """The link this token opens, with what its page shows (one query), or None."""
    if not token or len(token) > TOKEN_MAX_LENGTH:
        return None
    return (
        StatusLink.objects.select_related(
            "referral__region", "referral__assigned_specialist", "referral__jurisdiction"
        )
        .filter(token_hash=token_hash(token))
        .first()
    )


def status_link_state(link: StatusLink | None, *, now: datetime | None = None) -> str:
    if link is None:
        return LinkState.UNKNOWN
    if link.revoked_at is not None:
        return LinkState.REVOKED
    if link.referral.redacted_at is not None:
        return LinkState.REDACTED
    if not link.is_usable(now=now):
        return LinkState.EXPIRED
    return LinkState.USABLE


def status_link_touch(*, link: StatusLink, now: datetime | None = None) -> None:
    """Note that the link was used (at most every LAST_USED_RESOLUTION)."""
    now = now or timezone.now()
    if link.last_used_at is None or now - link.last_used_at >= LAST_USED_RESOLUTION:
        StatusLink.objects.filter(pk=link.pk).update(last_used_at=now)
        link.last_used_at = now


@dataclass(frozen=True)
class ReferrerStatus:
    """Where the referral stands, in the referrer's words."""

    label: str
    explanation: str


def referrer_status(referral: Referral) -> ReferrerStatus:
    status = referral.status
    if status == Referral.Status.NEW:
        return ReferrerStatus(
            "Received",
            "Your referral has reached RST. A Resource Specialist will get in touch with you.",
        )
    if status == Referral.Status.ACKNOWLEDGED:
        return ReferrerStatus(
            "Your specialist has been in touch",
            "Your Resource Specialist has made first contact about this referral.",
        )
    if status == Referral.Status.IN_PROGRESS:
        return ReferrerStatus(
            "In progress", "Your Resource Specialist is working on this referral with you."
        )
    if referral.outcome == Referral.Outcome.DUPLICATE:
        # The same child was already referred: say so without naming the other referral
        # (it may be another person's, in another region).
        return ReferrerStatus(
            "Closed: already being worked on",
            "RST already has a referral about this child, and the team is working on the "
            "case there. Messages you send below still reach the team.",
        )
    return ReferrerStatus(
        f"Closed: {referral.get_outcome_display()}",
        "RST has closed this referral. If something has changed, send a message below or "
        "contact the team.",
    )


def follow_up_times(*, referral: Referral) -> list[datetime]:
    """When the referrer sent follow-ups (the page lists the times, never the texts)."""
    return list(
        referral.events.filter(kind=ReferralEvent.Kind.FOLLOW_UP)
        .order_by("created_at", "pk")
        .values_list("created_at", flat=True)
    )


def follow_up_already_sent(*, link: StatusLink, action_token: str) -> bool:
    """Whether this form's follow-up was already recorded (a double click, a resend)."""
    return ReferralEvent.objects.filter(
        referral_id=link.referral_id, kind=ReferralEvent.Kind.FOLLOW_UP, action_token=action_token
    ).exists()


# Reads for the staff panel.


@dataclass(frozen=True)
class LinkSummary:
    usable: int
    expires_at: datetime | None  # the latest usable link's
    last_used_at: datetime | None
    follow_ups: int


def status_link_summary(*, referral: Referral, now: datetime | None = None) -> LinkSummary:
    """The referral's links as the staff panel shows them (two queries, whatever the rows;
    one when the referral's events are prefetched)."""
    now = now or timezone.now()
    usable = Q(revoked_at__isnull=True, expires_at__gt=now)
    figures = StatusLink.objects.filter(referral=referral).aggregate(
        usable=Count("pk", filter=usable),
        expires_at=Max("expires_at", filter=usable),
        last_used_at=Max("last_used_at"),
    )
    prefetched = getattr(referral, "_prefetched_objects_cache", {}).get("events")
    if prefetched is not None:
        # The page has the history already (referral_for_user): no second count of it.
        follow_ups = sum(1 for event in prefetched if event.kind == ReferralEvent.Kind.FOLLOW_UP)
    else:
        follow_ups = referral.events.filter(kind=ReferralEvent.Kind.FOLLOW_UP).count()
    return LinkSummary(follow_ups=follow_ups, **figures)


def may_manage_links(*, user, referral: Referral) -> bool:
    """The assigned specialist and the supervisors revoke and re-issue links."""
    if is_supervisor(user):
        return True
    specialist = specialist_of(user)
    return specialist is not None and referral.assigned_specialist_id == specialist.pk


# Changes.


def _lock_for_links(referral: Referral, *, actor) -> Referral:
    """Lock the referral and check, on the row as it is now, that `actor` may manage its links.

    Like services._lock, without the lifecycle: links can be managed in any status.
    """
    referral = Referral.objects.select_for_update().get(pk=referral.pk)
    if not referral_in_scope(user=actor, referral=referral):
        raise ValidationError(NOT_IN_SCOPE, code="not_in_scope")
    if not may_manage_links(user=actor, referral=referral):
        raise ValidationError(LINKS_ASSIGNED_ONLY, code="not_assigned")
    return referral


def _earlier(referral: Referral, *, kind: str, action_token: str | None, actor=None):
    """The event this form already made, if it was posted before (by the same person)."""
    if not action_token:
        return None
    event = ReferralEvent.objects.filter(action_token=action_token).first()
    if event is None:
        return None
    if (event.referral_id, event.kind, event.actor_id) != (
        referral.pk,
        kind,
        actor.pk if actor else None,
    ):
        # Another referral's, person's or action's token: never lend it their result.
        raise ValidationError(TOKEN_USED_ELSEWHERE, code="token_used")
    return event


@transaction.atomic
def status_links_revoke(*, referral: Referral, actor, action_token: str | None = None) -> int:
    """Stop every link of the referral working now; return how many were still usable.

    Posting the same form again, or revoking when no link works, changes nothing.
    """
    referral = _lock_for_links(referral, actor=actor)
    if _earlier(
        referral, kind=ReferralEvent.Kind.LINK_REVOKED, action_token=action_token, actor=actor
    ):
        return 0
    now = timezone.now()
    links = StatusLink.objects.filter(referral=referral, revoked_at__isnull=True)
    # Expired links are marked too (none can ever work again), but not counted.
    count = links.filter(expires_at__gt=now).count()
    links.update(revoked_at=now, revoked_by=actor)
    # A link e-mail still queued would mint a working link when it goes: the event below
    # stops that (referrals/tasks.py mints no link for a notice older than a revocation).
    unsent = referral.notifications.filter(
        kind__in=[Notification.Kind.RECEIPT, Notification.Kind.STATUS_LINK],
        status=Notification.Status.PENDING,
    ).exists()
    if count or unsent:
        _record(
            referral,
            ReferralEvent.Kind.LINK_REVOKED,
            actor=actor,
            message=LINKS_REVOKED_MESSAGE.format(count=count),
            action_token=action_token or None,
            at=now,
        )
    return count


@transaction.atomic
def status_link_reissue(
    *, referral: Referral, actor, action_token: str | None = None
) -> ReferralEvent:
    """E-mail the referrer a new link (minted when the e-mail is sent); links they have
    keep working until revoked. Posting the same form again sends nothing more."""
    referral = _lock_for_links(referral, actor=actor)
    earlier = _earlier(
        referral, kind=ReferralEvent.Kind.LINK_ISSUED, action_token=action_token, actor=actor
    )
    if earlier is not None:
        return earlier
    if referral.redacted_at is not None or not referral.referrer_email:
        raise ValidationError(LINK_NO_ADDRESS)
    event = _record(
        referral,
        ReferralEvent.Kind.LINK_ISSUED,
        actor=actor,
        message=LINK_ISSUED_MESSAGE,
        action_token=action_token or None,
    )
    _notify(referral, Notice.STATUS_LINK)
    return event


def clean_follow_up(text: str) -> str:
    """The message as recorded: cleaned like the form's text, FOLLOW_UP_MIN to _MAX long."""
    text = clean_paragraphs(text or "")
    if len(text) < FOLLOW_UP_MIN:
        raise ValidationError(FOLLOW_UP_TOO_SHORT, code="follow_up_too_short")
    if len(text) > FOLLOW_UP_MAX:
        raise ValidationError(
            FOLLOW_UP_TOO_LONG.format(length=len(text)), code="follow_up_too_long"
        )
    return text


@transaction.atomic
def status_link_follow_up(
    *, link: StatusLink, text: str, action_token: str
) -> tuple[ReferralEvent, bool]:
    """Record the referrer's message and tell whoever has the case (without the text).

    Returns (event, created): the same form posted again returns the first event. A
    follow-up on a closed referral reopens nothing; the supervisors are told instead.
    """
    text = clean_follow_up(text)
    referral = Referral.objects.select_for_update().get(pk=link.referral_id)
    # Re-read under the referral's lock: a revocation commits under the same lock.
    link = StatusLink.objects.get(pk=link.pk)
    link.referral = referral
    if status_link_state(link) != LinkState.USABLE:
        raise ValidationError(LINK_NOT_USABLE, code="link_not_usable")
    earlier = _earlier(referral, kind=ReferralEvent.Kind.FOLLOW_UP, action_token=action_token)
    if earlier is not None:
        return earlier, False
    now = timezone.now()
    event = _record(
        referral,
        ReferralEvent.Kind.FOLLOW_UP,
        message=text,
        action_token=action_token,
        at=now,
    )
    referral.has_new_information = True
    referral.save(update_fields=["has_new_information", "updated_at"])
    StatusLink.objects.filter(pk=link.pk).update(last_used_at=now)
    kept = _kept_referral(referral)
    if kept is not None:
        # Closed as a duplicate: the case goes on in the kept referral, whose page shows
        # this follow-up (the duplicates panel). Its assignee is told, as for their own.
        kept.has_new_information = True
        kept.save(update_fields=["has_new_information", "updated_at"])
        _notify(kept, Notice.FOLLOW_UP)
    elif referral.is_open:
        _notify(referral, Notice.FOLLOW_UP)
    else:
        _notify(referral, Notice.FOLLOW_UP_CLOSED)
    return event, True


def _kept_referral(referral: Referral) -> Referral | None:
    """The open referral a referral closed as a duplicate was merged into, locked; or None."""
    if referral.outcome != Referral.Outcome.DUPLICATE:
        return None
    kept = (
        Referral.objects.select_for_update()
        .filter(
            duplicated_by_flags__referral=referral,
            duplicated_by_flags__status=PossibleDuplicate.Status.CONFIRMED,
        )
        .first()
    )
    return kept if kept is not None and kept.is_open else None


def follow_ups_seen(*, referral: Referral, user) -> bool:
    """Clear "new information" when the assigned specialist opens the referral.

    One conditional UPDATE, no lock: the page shows the history read after it, so a
    follow-up it clears is on the page. Returns whether it was cleared.
    """
    if not referral.has_new_information:
        return False
    specialist = specialist_of(user)
    if specialist is None or referral.assigned_specialist_id != specialist.pk:
        return False
    return bool(
        Referral.objects.filter(
            pk=referral.pk, assigned_specialist=specialist, has_new_information=True
        ).update(has_new_information=False)
    )
