"""Every change to a referral: one function per action, each atomic and recorded.

Views, the admin and management commands call these and nothing else writes a
Referral. Each function takes the acting user, locks the referral row, checks on the
locked row that the referral is still in the user's scope and that the lifecycle allows
the action, writes a ReferralEvent and returns the updated referral; a refused action
raises ValidationError with one of the messages below (tests check for them).
"""

import functools
import re
import secrets
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import dateformat, timezone

from accounts.roles import is_supervisor
from contacts.selectors import directory_services_by_ids, shared_resource
from regions.models import Jurisdiction, ResourceSpecialist
from regions.selectors import specialist_of

from . import duplicates, lifecycle
from .counts import lock_specialists, recount, standing
from .deadlines import first_contact_due
from .models import Referral, ReferralEvent, Service, new_reference
from .notifications import Notice, notification_queue
from .routing import RoutingDecision, route_jurisdiction
from .selectors import referral_in_scope
from .validators import validate_services, validate_status_date

# Longest free text a staff member may write in one go (the action forms use these too).
NOTE_MAX_LENGTH = 5000
REASON_MAX_LENGTH = 1000

CLOSE_NEEDS_OUTCOME = "Choose the outcome the referral is closed with."
CLOSE_NEEDS_NOTE = "Write a closing note."
CLOSE_DUPLICATE_NOT_HERE = (
    "Close a duplicate from its possible-duplicate warning (Confirm), so both referrals "
    "keep the link."
)
REOPEN_NEEDS_REASON = "Say why the referral is reopened."
TEXT_TOO_LONG = "Keep this to {limit:,} characters (it has {length:,})."
RESOURCES_NONE_CHOSEN = "Choose at least one resource to share."
RESOURCES_UNKNOWN = (
    "One of the chosen resources is no longer in the directory. Reload the page and choose again."
)
SUPERVISOR_ONLY = "Only an RST supervisor can do this."
NOTE_EMPTY = "Write the note before saving it."
CONTACT_DATE_IN_FUTURE = "The contact date cannot be in the future."
CONTACT_NEEDS_METHOD = "Choose how the contact was made."
CONTACT_NEEDS_OUTCOME = "Choose what came of the contact attempt."
CONTACT_TIME_IN_FUTURE = "The time of first contact cannot be in the future."
CONTACT_TIME_BEFORE_SUBMISSION = (
    "First contact cannot be before the referral was sent ({submitted})."
)
ACTION_TOKEN_USED = (
    "This form was already used for another action. Nothing was changed: reload the "
    "referral and try again."
)
TRANSFER_SAME_JURISDICTION = "The referral is already in {jurisdiction}; choose another one."
TRANSFER_NEEDS_REASON = "Say why the referral is transferred (for example: the child moved)."
TAKE_OVER_NOT_SPECIALIST = "Only a Resource Specialist can take over a referral."
TAKE_OVER_OTHER_REGION = "You can only take over referrals in your own region."
TAKE_OVER_ALREADY_YOURS = "This referral is already assigned to you."
REASSIGN_INACTIVE = "{name} is not active. Choose an active Resource Specialist."
REASSIGN_SAME = "This referral is already assigned to {name}."
NOT_IN_SCOPE = (
    "This referral is not in your queue any more (it was transferred or reassigned "
    "meanwhile). Nothing was changed."
)


def _unique_reference() -> str:
    while True:
        reference = new_reference()
        if not Referral.objects.filter(reference=reference).exists():
            return reference


def _lock(
    referral: Referral,
    *,
    actor,
    action: str,
    refusal: str = NOT_IN_SCOPE,
    action_token: str | None = None,
) -> Referral:
    """Re-read the referral under a row lock, so concurrent actions queue up, and check,
    on the row as it is now, that it is still `actor`'s to change and that its status
    allows `action`. A check made before the lock (by the view) may be stale by then.

    First, if the action form's `action_token` is already on an event, the action was
    done by an earlier post of the same form: `_AlreadyDone` ends the service (see
    `_once_per_token`) before the scope and status checks, which that post changed.
    """
    referral = Referral.objects.select_for_update().get(pk=referral.pk)
    _check_action_token(referral, actor=actor, action=action, action_token=action_token)
    if not referral_in_scope(user=actor, referral=referral):
        raise ValidationError(refusal, code="not_in_scope")
    lifecycle.require(referral, action)
    return referral


# One-time action tokens. Each action form on the referral page carries a fresh token;
# the service writes it on the event it records (`ReferralEvent.action_token`, unique).
# The same form posted again (a double click, a resend after a slow answer) finds that
# event and lands on the first post's result instead of acting twice or being refused.

# The event each workspace action writes (the one that carries its token).
ACTION_EVENT_KINDS = {
    "acknowledge": ReferralEvent.Kind.ACKNOWLEDGED,
    "start": ReferralEvent.Kind.STARTED,
    "note": ReferralEvent.Kind.NOTE,
    "contact": ReferralEvent.Kind.CONTACT,
    "close": ReferralEvent.Kind.CLOSED,
    "reopen": ReferralEvent.Kind.REOPENED,
    "transfer": ReferralEvent.Kind.TRANSFERRED,
    "take_over": ReferralEvent.Kind.REASSIGNED,
    "share_resources": ReferralEvent.Kind.RESOURCES_SHARED,
}
ACTION_TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{22,64}")


def new_action_token() -> str:
    """A fresh one-time token for one action form (192 random bits, URL-safe)."""
    return secrets.token_urlsafe(24)


def action_token_is_valid(token: str) -> bool:
    """Whether `token` looks like one `new_action_token` made (the form's first check)."""
    return bool(ACTION_TOKEN_PATTERN.fullmatch(token or ""))


class _AlreadyDone(Exception):  # noqa: N818 - not an error: the action happened already
    """The action form's token is on an event: the action was done by an earlier post."""

    def __init__(self, referral: Referral):
        super().__init__(referral.reference)
        self.referral = referral


def _check_action_token(referral: Referral, *, actor, action: str, action_token) -> None:
    if not action_token:
        return
    event = (
        ReferralEvent.objects.filter(action_token=action_token)
        .only("referral_id", "actor_id", "kind")
        .first()
    )
    if event is None:
        return
    if (event.referral_id, event.actor_id, event.kind) != (
        referral.pk,
        actor.pk,
        ACTION_EVENT_KINDS.get(action),
    ):
        # Another referral's, person's or action's token: never lend it their result.
        raise ValidationError(ACTION_TOKEN_USED, code="token_used")
    raise _AlreadyDone(referral)


def _once_per_token(action: str):
    """Make a service taking `action_token` do its action once per token.

    A repeated call with the same token returns the referral as it stands and changes
    nothing. Under PostgreSQL the row lock queues the two posts and the second finds
    the first's event (`_lock`); where the database has no row locks, the token's unique
    constraint refuses the second insert and it lands here the same way.
    """

    def decorate(service):
        @functools.wraps(service)
        def once(*, action_token: str | None = None, **kwargs):
            try:
                return service(action_token=action_token or None, **kwargs)
            except _AlreadyDone as done:
                return done.referral
            except IntegrityError:
                earlier = action_token and referral_done_by_token(
                    actor=kwargs["actor"],
                    reference=kwargs["referral"].reference,
                    action=action,
                    action_token=action_token,
                )
                if not earlier:
                    raise
                return earlier

        return once

    return decorate


def referral_done_by_token(*, actor, reference: str, action: str, action_token: str):
    """The referral `actor` already did `action` to with this form's token, or None.

    Read before the referral itself: after a transfer out of the specialist's region a
    resent transfer form must still land on the first post's result, not on a 404.
    """
    kind = ACTION_EVENT_KINDS.get(action)
    if not action_token or kind is None:
        return None
    # Only a recent form (a double click, a retry): a form resent days later must not show
    # where a referral that has since left the actor's queue stands now.
    since = timezone.now() - timedelta(hours=settings.RST_FORM_TOKEN_MAX_AGE_HOURS)
    event = (
        ReferralEvent.objects.select_related("referral__jurisdiction", "referral__region")
        .filter(
            action_token=action_token,
            actor=actor,
            kind=kind,
            referral__reference=reference,
            created_at__gte=since,
        )
        .first()
    )
    return event.referral if event else None


def _local_time(moment: datetime) -> str:
    """A time as staff read it: in their own zone, with its abbreviation."""
    return dateformat.format(timezone.localtime(moment), "M j, Y g:i A T")


def _event(referral: Referral, kind: str, *, actor=None, message="", at=None, **extra):
    """An unsaved event that records where the referral stands now."""
    return ReferralEvent(
        referral=referral,
        kind=kind,
        actor=actor,
        message=message,
        created_at=at or timezone.now(),
        # The ids, not the objects: a referral read under its lock has not loaded them.
        region_id=referral.region_id,
        specialist_id=referral.assigned_specialist_id,
        **extra,
    )


def _record(referral: Referral, kind: str, **kwargs) -> ReferralEvent:
    event = _event(referral, kind, **kwargs)
    event.save()
    return event


def _apply_routing(referral: Referral, decision: RoutingDecision, *, at) -> None:
    """Assign as decided (the caller saves, then calls `recount` with `assigned_at=at`)."""
    referral.region = decision.region
    referral.assigned_specialist = decision.specialist
    referral.assigned_at = at if decision.specialist else None
    referral.routing_reason = decision.reason


def _assignee(referral: Referral) -> str:
    return referral.assigned_specialist.name if referral.assigned_specialist else "intake"


def _assign_by_hand(
    referral, *, specialist, actor, reason: str, note: str = "", action_token: str | None = None
) -> None:
    """Assign to a chosen specialist (bypassing the rule) and record why."""
    now = timezone.now()
    before = standing(referral)
    decision = RoutingDecision(region=specialist.region, specialist=specialist, reason=reason)
    _apply_routing(referral, decision, at=now)
    referral.save()
    recount(referral, before, assigned_at=now)
    message = f"{reason}. {note.strip()}" if note.strip() else reason
    _record(
        referral,
        ReferralEvent.Kind.REASSIGNED,
        actor=actor,
        message=message,
        at=now,
        action_token=action_token,
    )


def _notify(referral: Referral, *notices: str) -> None:
    """Queue e-mails in the change's own transaction (the outbox, referrals/notifications.py).

    Not on commit: the task table is in the same database, so the change and its
    e-mails commit together, and a rolled-back change leaves no e-mail behind.
    """
    for notice in notices:
        notification_queue(referral=referral, kind=notice)


def _notify_assignee(referral: Referral, *, previous_specialist_id) -> None:
    """Tell whoever now has the referral, if that changed."""
    if referral.assigned_specialist_id is None:
        _notify(referral, Notice.INTAKE)
    elif referral.assigned_specialist_id != previous_specialist_id:
        _notify(referral, Notice.ASSIGNED)


def _text(text: str, *, limit: int, required: str = "", field: str = "") -> str:
    """The text as it will be recorded: stripped, not empty if `required`, within `limit`.

    A refusal names `field` (the argument's name, which the action forms share) if given.
    """
    text = text.strip()
    message = ""
    if required and not text:
        message = required
    elif len(text) > limit:
        message = TEXT_TOO_LONG.format(limit=limit, length=len(text))
    if message:
        raise ValidationError({field: message} if field else message)
    return text


def referral_create(
    *,
    submission_token: str,
    referrer_name: str,
    referrer_role: str,
    agency: str,
    referrer_email: str,
    referrer_phone: str,
    jurisdiction: Jurisdiction,
    county: str = "",
    child_initials: str,
    child_age: int,
    child_status: str,
    status_date: date,
    ncmec_case_number: str = "",
    law_enforcement_involved: str,
    services: Iterable[Service],
    urgency: str,
    summary: str,
) -> tuple[Referral, bool]:
    """Create, route and record a referral (from the public form, an import or the shell).

    The answers are cleaned and checked by the model's intake rules
    (referrals/validators.py): if any fails, ValidationError names each field and nothing
    is written. Returns (referral, created): a second call with the same
    `submission_token` returns the first referral and creates nothing.
    """
    existing = Referral.objects.filter(submission_token=submission_token).first()
    if existing is not None:
        return existing, False
    now = timezone.now()
    services = list(services)
    referral = Referral(
        submission_token=submission_token,
        referrer_name=referrer_name,
        referrer_role=referrer_role,
        agency=agency,
        referrer_email=referrer_email,
        referrer_phone=referrer_phone,
        jurisdiction=jurisdiction,
        county=county,
        child_initials=child_initials,
        child_age=child_age,
        child_status=child_status,
        status_date=status_date,
        ncmec_case_number=ncmec_case_number,
        law_enforcement_involved=law_enforcement_involved,
        urgency=urgency,
        summary=summary,
        submitted_at=now,
        consent_at=now,
        first_contact_due_at=first_contact_due(submitted_at=now, urgency=urgency),
    )
    _check_intake_rules(referral, services=services)
    try:
        with transaction.atomic():
            referral.reference = _unique_reference()
            # Before routing, which locks specialists: this locks the referrals it finds.
            matches = duplicates.possible_duplicates_find(referral=referral, at=now)
            decision = route_jurisdiction(jurisdiction=referral.jurisdiction)
            _apply_routing(referral, decision, at=now)
            referral.save()
            recount(referral, None, assigned_at=now)
            Referral.services.through.objects.bulk_create(
                Referral.services.through(referral=referral, service=service)
                for service in services
            )
            events = [
                _event(referral, ReferralEvent.Kind.SUBMITTED, at=now),
                _event(referral, ReferralEvent.Kind.ROUTED, message=decision.reason, at=now),
            ]
            # The flags' events go in with these (in this order): one INSERT, not two.
            duplicates.possible_duplicates_flag(
                referral=referral, matches=matches, at=now, events=events
            )
            ReferralEvent.objects.bulk_create(events)
            _notify_assignee(referral, previous_specialist_id=None)
            _notify(referral, Notice.RECEIPT)
    except IntegrityError:
        # The same token submitted twice at once: the other request won.
        existing = Referral.objects.filter(submission_token=submission_token).first()
        if existing is None:
            raise
        return existing, False
    return referral, True


def _check_intake_rules(referral: Referral, *, services: list[Service]) -> None:
    """Clean the answers in place and check them; raise one ValidationError for all fields."""
    # The reference is drawn once the answers pass. A given jurisdiction is a row the
    # caller has read (the database checks the key); unique fields and constraints are
    # the database's job too (a round trip less each).
    exclude = {"reference", "region", "assigned_specialist"}
    if referral.jurisdiction_id is not None:
        exclude.add("jurisdiction")
    errors = {}
    try:
        referral.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        errors = error.update_error_dict(errors)
    if "status_date" not in errors and referral.jurisdiction_id is not None:
        # "Today" is the case's: the model's own check knows no jurisdiction.
        try:
            validate_status_date(referral.status_date, zone=referral.jurisdiction.zone)
        except ValidationError as error:
            errors = ValidationError({"status_date": error}).update_error_dict(errors)
    try:
        validate_services(services)
    except ValidationError as error:
        errors = error.update_error_dict(errors)
    if errors:
        raise ValidationError(errors)


@_once_per_token("acknowledge")
@transaction.atomic
def referral_acknowledge(
    *,
    referral: Referral,
    actor,
    method: str = "",
    contacted_at: datetime | None = None,
    action_token: str | None = None,
) -> Referral:
    """Record first contact with the referrer: how (`method`) and when (default now).

    The time is not in the future and not before the referral was sent (to the minute
    the form shows); it becomes the referral's first contact and clears the overdue
    marker. The workspace's form asks for both; other callers may leave the method out.
    """
    referral = _lock(referral, actor=actor, action="acknowledge", action_token=action_token)
    now = timezone.now()
    contacted_at = contacted_at or now
    errors = {}
    if method and method not in ReferralEvent.ContactMethod.values:
        errors["method"] = CONTACT_NEEDS_METHOD
    if contacted_at > now:
        errors["contacted_at"] = CONTACT_TIME_IN_FUTURE
    elif contacted_at < referral.submitted_at.replace(second=0, microsecond=0):
        errors["contacted_at"] = CONTACT_TIME_BEFORE_SUBMISSION.format(
            submitted=_local_time(referral.submitted_at)
        )
    if errors:
        raise ValidationError(errors)
    # The form's minutes: a contact in the minute the referral came is not before it.
    contacted_at = max(contacted_at, referral.submitted_at)
    before = standing(referral)
    referral.status = Referral.Status.ACKNOWLEDGED
    referral.first_contacted_at = contacted_at
    referral.save(update_fields=["status", "first_contacted_at", "updated_at"])
    recount(referral, before)
    _record(
        referral,
        ReferralEvent.Kind.ACKNOWLEDGED,
        actor=actor,
        at=now,
        contact_method=method,
        contacted_at=contacted_at,
        action_token=action_token,
    )
    return referral


@_once_per_token("start")
@transaction.atomic
def referral_start(*, referral: Referral, actor, action_token: str | None = None) -> Referral:
    referral = _lock(referral, actor=actor, action="start", action_token=action_token)
    before = standing(referral)
    referral.status = Referral.Status.IN_PROGRESS
    referral.save(update_fields=["status", "updated_at"])
    recount(referral, before)
    _record(referral, ReferralEvent.Kind.STARTED, actor=actor, action_token=action_token)
    return referral


@_once_per_token("note")
@transaction.atomic
def referral_add_note(
    *, referral: Referral, actor, text: str, action_token: str | None = None
) -> Referral:
    """Add a note to the history; refused (never cut) when longer than NOTE_MAX_LENGTH."""
    text = _text(text, limit=NOTE_MAX_LENGTH, required=NOTE_EMPTY, field="text")
    referral = _lock(referral, actor=actor, action="note", action_token=action_token)
    _record(referral, ReferralEvent.Kind.NOTE, actor=actor, message=text, action_token=action_token)
    return referral


@_once_per_token("contact")
@transaction.atomic
def referral_record_contact(
    *,
    referral: Referral,
    actor,
    method: str,
    contact_date: date,
    outcome: str = "",
    text: str = "",
    action_token: str | None = None,
) -> Referral:
    """Record a contact attempt (phone, e-mail, meeting) on the given date, and its outcome.

    The date is not after the actor's own today (in their zone). It may be before the
    referral was sent: a referrer often calls first and is asked to send one.
    """
    referral = _lock(referral, actor=actor, action="contact", action_token=action_token)
    errors = {}
    if method not in ReferralEvent.ContactMethod.values:
        errors["method"] = CONTACT_NEEDS_METHOD
    if outcome and outcome not in ReferralEvent.ContactOutcome.values:
        errors["outcome"] = CONTACT_NEEDS_OUTCOME
    if contact_date > timezone.localdate():
        errors["contact_date"] = CONTACT_DATE_IN_FUTURE
    try:
        text = _text(text, limit=NOTE_MAX_LENGTH, field="text")
    except ValidationError as error:
        errors = error.update_error_dict(errors)
    if errors:
        raise ValidationError(errors)
    _record(
        referral,
        ReferralEvent.Kind.CONTACT,
        actor=actor,
        message=text,
        contact_method=method,
        contact_date=contact_date,
        contact_outcome=outcome,
        action_token=action_token,
    )
    return referral


@_once_per_token("close")
@transaction.atomic
def referral_close(
    *, referral: Referral, actor, outcome: str, note: str, action_token: str | None = None
) -> Referral:
    referral = _lock(referral, actor=actor, action="close", action_token=action_token)
    errors = {}
    if outcome not in Referral.Outcome.values:
        errors["outcome"] = CLOSE_NEEDS_OUTCOME
    elif outcome == Referral.Outcome.DUPLICATE:
        # Only confirming a possible duplicate closes with it (referrals/duplicates.py):
        # that keeps the pair, the events on both and the link to the kept referral.
        errors["outcome"] = CLOSE_DUPLICATE_NOT_HERE
    try:
        note = _text(note, limit=NOTE_MAX_LENGTH, required=CLOSE_NEEDS_NOTE, field="note")
    except ValidationError as error:
        errors = error.update_error_dict(errors)
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    before = standing(referral)
    referral.status = Referral.Status.CLOSED
    referral.outcome = outcome
    referral.closing_note = note
    referral.closed_at = now
    referral.save(update_fields=["status", "outcome", "closing_note", "closed_at", "updated_at"])
    recount(referral, before)
    _record(
        referral,
        ReferralEvent.Kind.CLOSED,
        actor=actor,
        message=f"{referral.get_outcome_display()}: {referral.closing_note}",
        at=now,
        action_token=action_token,
    )
    return referral


@_once_per_token("reopen")
@transaction.atomic
def referral_reopen(
    *, referral: Referral, actor, reason: str, action_token: str | None = None
) -> Referral:
    """Reopen a closed referral (supervisors only), saying why."""
    if not is_supervisor(actor):
        raise ValidationError(SUPERVISOR_ONLY)
    referral = _lock(referral, actor=actor, action="reopen", action_token=action_token)
    reason = _text(reason, limit=REASON_MAX_LENGTH, required=REOPEN_NEEDS_REASON, field="reason")
    # Back to where the lifecycle stood before work began; the closing note stays in
    # the history (the "closed" event), not on the reopened referral.
    before = standing(referral)
    referral.status = (
        Referral.Status.ACKNOWLEDGED if referral.first_contacted_at else Referral.Status.NEW
    )
    referral.outcome = ""
    referral.closing_note = ""
    referral.closed_at = None
    referral.save(update_fields=["status", "outcome", "closing_note", "closed_at", "updated_at"])
    recount(referral, before)
    _record(
        referral,
        ReferralEvent.Kind.REOPENED,
        actor=actor,
        message=reason,
        action_token=action_token,
    )
    return referral


@_once_per_token("transfer")
@transaction.atomic
def referral_transfer(
    *,
    referral: Referral,
    actor,
    jurisdiction: Jurisdiction,
    reason: str,
    action_token: str | None = None,
) -> Referral:
    """Move the case to another jurisdiction (the child moved) and route it again."""
    referral = _lock(referral, actor=actor, action="transfer", action_token=action_token)
    errors = {}
    if jurisdiction.pk == referral.jurisdiction_id:
        errors["jurisdiction"] = TRANSFER_SAME_JURISDICTION.format(jurisdiction=jurisdiction.name)
    try:
        reason = _text(
            reason, limit=REASON_MAX_LENGTH, required=TRANSFER_NEEDS_REASON, field="reason"
        )
    except ValidationError as error:
        errors = error.update_error_dict(errors)
    if errors:
        raise ValidationError(errors)
    old = referral.jurisdiction_id
    previous_specialist_id = referral.assigned_specialist_id
    before = standing(referral)
    now = timezone.now()
    referral.jurisdiction = jurisdiction
    decision = route_jurisdiction(jurisdiction=jurisdiction, rerouted_referral=referral)
    _apply_routing(referral, decision, at=now)
    referral.save()
    recount(referral, before, assigned_at=now)
    _record(
        referral,
        ReferralEvent.Kind.TRANSFERRED,
        actor=actor,
        message=f"{old} → {jurisdiction.code}: {reason}. {decision.reason}",
        at=now,
        action_token=action_token,
    )
    _notify_assignee(referral, previous_specialist_id=previous_specialist_id)
    return referral


@transaction.atomic
def referral_reroute(*, referral: Referral, actor, reason: str = "") -> Referral:
    """Send the referral back through the routing rule (for example after a mapping change)."""
    referral = _lock(referral, actor=actor, action="reroute")
    previous_specialist_id = referral.assigned_specialist_id
    before = standing(referral)
    now = timezone.now()
    decision = route_jurisdiction(jurisdiction=referral.jurisdiction, rerouted_referral=referral)
    _apply_routing(referral, decision, at=now)
    referral.save()
    recount(referral, before, assigned_at=now)
    message = f"{reason.strip()}: {decision.reason}" if reason.strip() else decision.reason
    _record(referral, ReferralEvent.Kind.ROUTED, actor=actor, message=message, at=now)
    _notify_assignee(referral, previous_specialist_id=previous_specialist_id)
    return referral


@transaction.atomic
def referral_reassign(
    *, referral: Referral, actor, specialist: ResourceSpecialist, note: str = ""
) -> Referral:
    """Assign the referral to a chosen specialist (supervisors, from the admin)."""
    if not is_supervisor(actor):
        raise ValidationError(SUPERVISOR_ONLY)
    referral = _lock(referral, actor=actor, action="reassign")
    # The new specialist's row and the one the referral leaves (both counts change).
    specialist = lock_specialists(specialist.pk, referral.assigned_specialist_id)[specialist.pk]
    if not specialist.is_active:
        raise ValidationError(REASSIGN_INACTIVE.format(name=specialist.name))
    if referral.assigned_specialist_id == specialist.pk:
        raise ValidationError(REASSIGN_SAME.format(name=specialist.name))
    _assign_by_hand(
        referral,
        specialist=specialist,
        actor=actor,
        reason=f"reassigned by supervisor: {_assignee(referral)} → {specialist.name}",
        note=note,
    )
    _notify(referral, Notice.ASSIGNED)
    return referral


@_once_per_token("take_over")
@transaction.atomic
def referral_take_over(*, referral: Referral, actor, action_token: str | None = None) -> Referral:
    """Assign a referral of the actor's own region to the actor."""
    specialist = specialist_of(actor)
    if specialist is None:
        raise ValidationError(TAKE_OVER_NOT_SPECIALIST)
    referral = _lock(
        referral,
        actor=actor,
        action="take_over",
        refusal=TAKE_OVER_OTHER_REGION,
        action_token=action_token,
    )
    refusal = _take_over_refusal(referral, specialist)
    if refusal:
        raise ValidationError(refusal)
    # The taker's row and the one the referral leaves (both counts change).
    lock_specialists(specialist.pk, referral.assigned_specialist_id)
    _assign_by_hand(
        referral,
        specialist=specialist,
        actor=actor,
        reason=f"taken over: {_assignee(referral)} → {specialist.name}",
        action_token=action_token,
    )
    return referral


@transaction.atomic
def referral_mark_reviewed(*, referral: Referral, actor, note: str = "") -> Referral:
    """Record that a supervisor reviewed the referral's assignment."""
    if not is_supervisor(actor):
        raise ValidationError(SUPERVISOR_ONLY)
    referral = _lock(referral, actor=actor, action="mark_reviewed")
    note = _text(note, limit=NOTE_MAX_LENGTH)
    now = timezone.now()
    referral.reviewed_at = now
    referral.reviewed_by = actor
    referral.review_note = note
    referral.save(update_fields=["reviewed_at", "reviewed_by", "review_note", "updated_at"])
    _record(referral, ReferralEvent.Kind.REVIEWED, actor=actor, message=note, at=now)
    return referral


@_once_per_token("share_resources")
@transaction.atomic
def referral_share_resources(
    *,
    referral: Referral,
    actor,
    service_ids: Iterable[int],
    note: str = "",
    action_token: str | None = None,
) -> Referral:
    """Record that the specialist passed these directory services on to the referrer."""
    ids = list(service_ids)
    if not ids:
        raise ValidationError(RESOURCES_NONE_CHOSEN)
    chosen = directory_services_by_ids(ids=ids)
    if len(chosen) != len(set(ids)):
        raise ValidationError(RESOURCES_UNKNOWN)
    note = _text(note, limit=NOTE_MAX_LENGTH)
    referral = _lock(referral, actor=actor, action="share_resources", action_token=action_token)
    names = "; ".join(f"{s.organization.name} – {s.name}" for s in chosen)
    _record(
        referral,
        ReferralEvent.Kind.RESOURCES_SHARED,
        actor=actor,
        message=f"resources shared: {names}" + (f". {note}" if note else ""),
        resources=[shared_resource(service) for service in chosen],
        action_token=action_token,
    )
    return referral


def _take_over_refusal(referral: Referral, specialist) -> str:
    """Why `specialist` may not take `referral` over ("" if they may)."""
    if referral.region_id != specialist.region_id:
        return TAKE_OVER_OTHER_REGION
    if referral.assigned_specialist_id == specialist.pk:
        return TAKE_OVER_ALREADY_YOURS
    return ""


# The workspace's actions (the supervisor-only admin actions are offered in the admin).
WORKSPACE_ACTIONS = {
    "acknowledge",
    "start",
    "note",
    "contact",
    "close",
    "transfer",
    "share_resources",
}


def referral_allowed_actions(*, referral: Referral, user) -> set[str]:
    """The actions the workspace offers `user` on `referral`: the lifecycle's, then the roles'."""
    allowed = lifecycle.actions_allowed(referral)
    actions = allowed & WORKSPACE_ACTIONS
    if "reopen" in allowed and is_supervisor(user):
        actions.add("reopen")
    specialist = specialist_of(user)
    if "take_over" in allowed and specialist and not _take_over_refusal(referral, specialist):
        actions.add("take_over")
    return actions
