"""Every change to a referral: one function per action, each atomic and recorded.

Views, the admin and management commands call these and nothing else writes a
Referral. Each function takes the acting user, locks the referral row, checks on the
locked row that the referral is still in the user's scope and that the lifecycle allows
the action, writes a ReferralEvent and returns the updated referral; a refused action
raises ValidationError with one of the messages below (tests check for them).
"""

from collections.abc import Iterable
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.roles import is_supervisor
from contacts.selectors import directory_services_by_ids, shared_resource
from regions.models import Jurisdiction, ResourceSpecialist
from regions.selectors import specialist_of

from . import lifecycle
from .counts import lock_specialists, recount, standing
from .deadlines import first_contact_hours
from .models import Referral, ReferralEvent, Service, new_reference
from .notifications import Notice, notification_queue
from .routing import RoutingDecision, route_jurisdiction
from .selectors import referral_in_scope
from .validators import validate_services

# Longest free text a staff member may write in one go (the action forms use these too).
NOTE_MAX_LENGTH = 5000
REASON_MAX_LENGTH = 1000

CLOSE_NEEDS_OUTCOME = "Choose the outcome the referral is closed with."
CLOSE_NEEDS_NOTE = "Write a closing note."
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


def first_contact_due(*, submitted_at, urgency: str):
    """When first contact is due for a referral submitted at `submitted_at`.

    The one rule: referral_create, the test factories and the benchmark seed call it.
    """
    return submitted_at + timedelta(hours=first_contact_hours(urgency))


def _unique_reference() -> str:
    while True:
        reference = new_reference()
        if not Referral.objects.filter(reference=reference).exists():
            return reference


def _lock(referral: Referral, *, actor, action: str, refusal: str = NOT_IN_SCOPE) -> Referral:
    """Re-read the referral under a row lock, so concurrent actions queue up, and check,
    on the row as it is now, that it is still `actor`'s to change and that its status
    allows `action`. A check made before the lock (by the view) may be stale by then.
    """
    referral = Referral.objects.select_for_update().get(pk=referral.pk)
    if not referral_in_scope(user=actor, referral=referral):
        raise ValidationError(refusal, code="not_in_scope")
    lifecycle.require(referral, action)
    return referral


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


def _assign_by_hand(referral, *, specialist, actor, reason: str, note: str = "") -> None:
    """Assign to a chosen specialist (bypassing the rule) and record why."""
    now = timezone.now()
    before = standing(referral)
    decision = RoutingDecision(region=specialist.region, specialist=specialist, reason=reason)
    _apply_routing(referral, decision, at=now)
    referral.save()
    recount(referral, before, assigned_at=now)
    message = f"{reason}. {note.strip()}" if note.strip() else reason
    _record(referral, ReferralEvent.Kind.REASSIGNED, actor=actor, message=message, at=now)


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


def _text(text: str, *, limit: int, required: str = "") -> str:
    """The text as it will be recorded: stripped, not empty if `required`, within `limit`."""
    text = text.strip()
    if required and not text:
        raise ValidationError(required)
    if len(text) > limit:
        raise ValidationError(TEXT_TOO_LONG.format(limit=limit, length=len(text)))
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
            decision = route_jurisdiction(jurisdiction=referral.jurisdiction)
            _apply_routing(referral, decision, at=now)
            referral.save()
            recount(referral, None, assigned_at=now)
            Referral.services.through.objects.bulk_create(
                Referral.services.through(referral=referral, service=service)
                for service in services
            )
            ReferralEvent.objects.bulk_create(
                [
                    _event(referral, ReferralEvent.Kind.SUBMITTED, at=now),
                    _event(referral, ReferralEvent.Kind.ROUTED, message=decision.reason, at=now),
                ]
            )
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
    try:
        validate_services(services)
    except ValidationError as error:
        errors = error.update_error_dict(errors)
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def referral_acknowledge(*, referral: Referral, actor) -> Referral:
    """Record first contact with the referrer; clears the overdue marker."""
    referral = _lock(referral, actor=actor, action="acknowledge")
    now = timezone.now()
    before = standing(referral)
    referral.status = Referral.Status.ACKNOWLEDGED
    referral.first_contacted_at = now
    referral.save(update_fields=["status", "first_contacted_at", "updated_at"])
    recount(referral, before)
    _record(referral, ReferralEvent.Kind.ACKNOWLEDGED, actor=actor, at=now)
    return referral


@transaction.atomic
def referral_start(*, referral: Referral, actor) -> Referral:
    referral = _lock(referral, actor=actor, action="start")
    before = standing(referral)
    referral.status = Referral.Status.IN_PROGRESS
    referral.save(update_fields=["status", "updated_at"])
    recount(referral, before)
    _record(referral, ReferralEvent.Kind.STARTED, actor=actor)
    return referral


@transaction.atomic
def referral_add_note(*, referral: Referral, actor, text: str) -> Referral:
    text = _text(text, limit=NOTE_MAX_LENGTH, required=NOTE_EMPTY)
    referral = _lock(referral, actor=actor, action="note")
    _record(referral, ReferralEvent.Kind.NOTE, actor=actor, message=text)
    return referral


@transaction.atomic
def referral_record_contact(
    *, referral: Referral, actor, method: str, contact_date: date, text: str = ""
) -> Referral:
    """Record a contact attempt (phone, e-mail, meeting) on the given date."""
    referral = _lock(referral, actor=actor, action="contact")
    if method not in ReferralEvent.ContactMethod.values:
        raise ValidationError(CONTACT_NEEDS_METHOD)
    if contact_date > timezone.localdate():
        raise ValidationError(CONTACT_DATE_IN_FUTURE)
    _record(
        referral,
        ReferralEvent.Kind.CONTACT,
        actor=actor,
        message=_text(text, limit=NOTE_MAX_LENGTH),
        contact_method=method,
        contact_date=contact_date,
    )
    return referral


@transaction.atomic
def referral_close(*, referral: Referral, actor, outcome: str, note: str) -> Referral:
    referral = _lock(referral, actor=actor, action="close")
    if outcome not in Referral.Outcome.values:
        raise ValidationError(CLOSE_NEEDS_OUTCOME)
    note = _text(note, limit=NOTE_MAX_LENGTH, required=CLOSE_NEEDS_NOTE)
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
    )
    return referral


@transaction.atomic
def referral_reopen(*, referral: Referral, actor, reason: str) -> Referral:
    """Reopen a closed referral (supervisors only), saying why."""
    if not is_supervisor(actor):
        raise ValidationError(SUPERVISOR_ONLY)
    referral = _lock(referral, actor=actor, action="reopen")
    reason = _text(reason, limit=REASON_MAX_LENGTH, required=REOPEN_NEEDS_REASON)
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
    _record(referral, ReferralEvent.Kind.REOPENED, actor=actor, message=reason)
    return referral


@transaction.atomic
def referral_transfer(
    *, referral: Referral, actor, jurisdiction: Jurisdiction, reason: str
) -> Referral:
    """Move the case to another jurisdiction (the child moved) and route it again."""
    referral = _lock(referral, actor=actor, action="transfer")
    if jurisdiction.pk == referral.jurisdiction_id:
        raise ValidationError(TRANSFER_SAME_JURISDICTION.format(jurisdiction=jurisdiction.name))
    reason = _text(reason, limit=REASON_MAX_LENGTH, required=TRANSFER_NEEDS_REASON)
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


@transaction.atomic
def referral_take_over(*, referral: Referral, actor) -> Referral:
    """Assign a referral of the actor's own region to the actor."""
    specialist = specialist_of(actor)
    if specialist is None:
        raise ValidationError(TAKE_OVER_NOT_SPECIALIST)
    referral = _lock(referral, actor=actor, action="take_over", refusal=TAKE_OVER_OTHER_REGION)
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


@transaction.atomic
def referral_share_resources(
    *, referral: Referral, actor, service_ids: Iterable[int], note: str = ""
) -> Referral:
    """Record that the specialist passed these directory services on to the referrer."""
    ids = list(service_ids)
    if not ids:
        raise ValidationError(RESOURCES_NONE_CHOSEN)
    chosen = directory_services_by_ids(ids=ids)
    if len(chosen) != len(set(ids)):
        raise ValidationError(RESOURCES_UNKNOWN)
    note = _text(note, limit=NOTE_MAX_LENGTH)
    referral = _lock(referral, actor=actor, action="share_resources")
    names = "; ".join(f"{s.organization.name} – {s.name}" for s in chosen)
    _record(
        referral,
        ReferralEvent.Kind.RESOURCES_SHARED,
        actor=actor,
        message=f"resources shared: {names}" + (f". {note}" if note else ""),
        resources=[shared_resource(service) for service in chosen],
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
