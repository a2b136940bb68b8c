"""Possible duplicates: two referrals that may be about the same child.

When a referral is created, `referral_create` (referrals/services.py) looks, in its own
transaction, for open referrals from the last DUPLICATE_WINDOW_DAYS days with the same
jurisdiction, the same child's initials and an age within AGE_TOLERANCE years, or with
the same NCMEC case number in any jurisdiction, and records each pair as a
PossibleDuplicate. It never blocks the referral and never tells the referrer.

A pair is shown only to whoever may see both referrals (a pair that spans regions only
to supervisors): a specialist must not learn that another region has a referral for the
same initials. The assigned specialist or a supervisor confirms a pair (the newer
referral is closed as a duplicate of the older, whose page keeps the newer one's
referrer, follow-ups and contacts in view) or dismisses it (the pair is never flagged
again). Each is an event on both referrals; doing it again changes nothing.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.roles import is_supervisor
from regions.selectors import specialist_of

from . import services
from .counts import recount, standing
from .models import PossibleDuplicate, Referral, ReferralEvent, open_q
from .selectors import visible_q

DUPLICATE_WINDOW_DAYS = 90
AGE_TOLERANCE = 1
# At most this many pairs per new referral: more matches than this are noise (common
# initials in a big state), and the submission must stay cheap whatever the data.
MATCHES_LIMIT = 10

# The note names no reference, and reads the same whichever region the kept referral is
# in: the closed referral's region must not learn what another region holds. Whoever may
# see both finds "Duplicate of RST-…" in the referral page's duplicates panel.
CLOSING_NOTE = "Closed as a duplicate: the case continues on the referral it duplicates."
RESOLVE_NOT_ALLOWED = (
    "Only the Resource Specialist assigned to one of the two referrals, or an RST "
    "supervisor, can confirm or dismiss a possible duplicate."
)
ALREADY_DISMISSED = "These two referrals were already marked as not duplicates."
ALREADY_CONFIRMED = "This duplicate was already confirmed: {newer} is closed as a duplicate."
NEWER_CLOSED = (
    "{reference} is already closed, so it cannot be closed as a duplicate. Dismiss the "
    "warning instead, or ask a supervisor to reopen it first."
)
KEPT_CLOSED = (
    "{reference}, the referral that would be kept, is closed. Ask a supervisor to reopen "
    "it first, or dismiss the warning."
)

# Event messages name no other reference: the history of a referral may be read by
# someone who may not see the other one (referral_for_user leaves such events out too).
FLAGGED_MESSAGE = "Possible duplicate: {reason}."
CONFIRMED_NEWER_MESSAGE = "Closed as a duplicate; the case continues on the kept referral."
CONFIRMED_KEPT_MESSAGE = (
    "A newer referral was closed as a duplicate of this one; its referrer, follow-ups and "
    "contacts are shown on this page."
)
DISMISSED_MESSAGE = "Marked as not a duplicate; the pair will not be flagged again."

# What the kept referral's page shows of a referral closed as its duplicate.
MERGED_EVENT_KINDS = (ReferralEvent.Kind.FOLLOW_UP, ReferralEvent.Kind.CONTACT)


# Finding and flagging (inside referral_create's transaction).


def _match_q(referral: Referral) -> tuple[Q, Q]:
    """The two rules: same jurisdiction, initials and age (±1); same NCMEC case number."""
    age = referral.child_age
    initials_age = Q(
        jurisdiction_id=referral.jurisdiction_id,
        child_initials=referral.child_initials,
        child_age__gte=age - AGE_TOLERANCE,
        child_age__lte=age + AGE_TOLERANCE,
    )
    ncmec = (
        Q(ncmec_case_number=referral.ncmec_case_number) & ~Q(ncmec_case_number="")
        if referral.ncmec_case_number
        else Q(pk__in=[])
    )
    return initials_age, ncmec


def possible_duplicates_find(*, referral: Referral, at: datetime) -> list[Referral]:
    """The open referrals the new `referral` (not saved yet) may duplicate, row-locked.

    Called by referral_create before routing: it locks these rows (in id order, as every
    change that locks several referrals does) before routing locks specialists, the order
    in which every service takes its locks. The events and pairs written later refer to
    these rows, and a concurrent change holding one of them while it waits for a
    specialist would otherwise deadlock with the submission. One query.
    """
    if referral.child_age is None:
        return []
    initials_age, ncmec = _match_q(referral)
    newest = (
        Referral.objects.open()
        .filter(initials_age | ncmec, submitted_at__gte=at - timedelta(days=DUPLICATE_WINDOW_DAYS))
        .order_by("-submitted_at", "-pk")
        .values("pk")[:MATCHES_LIMIT]
    )
    return list(
        Referral.objects.select_for_update()
        .open()
        .filter(pk__in=Subquery(newest))
        .order_by("pk")
        .only(
            "reference",
            "region",
            "assigned_specialist",
            "ncmec_case_number",
            "status",
        )
    )


def possible_duplicates_flag(
    *,
    referral: Referral,
    matches: list[Referral],
    at: datetime,
    events: list[ReferralEvent] | None = None,
) -> list[PossibleDuplicate]:
    """Record the new (saved) `referral` as a possible duplicate of each of `matches`,
    with an event on both referrals of each pair. Two queries, none without matches.

    Given `events`, the caller's own unsaved events, the pairs' events are appended to it
    for the caller to create with its own (one query less).
    """
    if not matches:
        return []
    caller_saves_events = events is not None
    pairs, events = [], events if caller_saves_events else []
    for older in matches:
        same_case = bool(referral.ncmec_case_number) and (
            older.ncmec_case_number == referral.ncmec_case_number
        )
        reason = (
            PossibleDuplicate.Reason.NCMEC_CASE
            if same_case
            else PossibleDuplicate.Reason.INITIALS_AGE
        )
        pairs.append(
            PossibleDuplicate(referral=referral, duplicate_of=older, reason=reason, found_at=at)
        )
        message = FLAGGED_MESSAGE.format(reason=PossibleDuplicate.Reason(reason).label.lower())
        for one, other in ((referral, older), (older, referral)):
            events.append(
                services._event(
                    one,
                    ReferralEvent.Kind.DUPLICATE_FLAGGED,
                    message=message,
                    at=at,
                    related_referral=other,
                )
            )
    PossibleDuplicate.objects.bulk_create(pairs)
    if not caller_saves_events:
        ReferralEvent.objects.bulk_create(events)
    return pairs


# Confirming and dismissing.


def _lock_pair(flag: PossibleDuplicate, *, actor) -> tuple[PossibleDuplicate, Referral, Referral]:
    """Lock both referrals (in id order, so two changes never deadlock), check on the rows
    as they are now that `actor` may see both, then lock the pair itself.

    Either referral out of the actor's scope gets the refusal every other action gives.
    """
    locked = {}
    for pk in sorted((flag.referral_id, flag.duplicate_of_id)):
        # "note": any status; whether the pair's statuses allow the change is checked below.
        locked[pk] = services._lock(Referral(pk=pk), actor=actor, action="note")
    flag = PossibleDuplicate.objects.select_for_update().get(pk=flag.pk)
    return flag, locked[flag.referral_id], locked[flag.duplicate_of_id]


def may_resolve(*, user, newer: Referral, older: Referral) -> bool:
    """Supervisors, and the specialist assigned to either referral (who may see both)."""
    if is_supervisor(user):
        return True
    specialist = specialist_of(user)
    return specialist is not None and specialist.pk in (
        newer.assigned_specialist_id,
        older.assigned_specialist_id,
    )


def _resolve(flag: PossibleDuplicate, *, status: str, actor, at) -> None:
    flag.status = status
    flag.resolved_at = at
    flag.resolved_by = actor
    flag.save(update_fields=["status", "resolved_at", "resolved_by"])


@transaction.atomic
def duplicate_confirm(*, flag: PossibleDuplicate, actor) -> PossibleDuplicate:
    """Close the newer referral as a duplicate of the older; events on both.

    Confirming a pair already confirmed changes nothing and succeeds again.
    """
    flag, newer, older = _lock_pair(flag, actor=actor)
    if not may_resolve(user=actor, newer=newer, older=older):
        raise ValidationError(RESOLVE_NOT_ALLOWED, code="not_allowed")
    if flag.status == PossibleDuplicate.Status.CONFIRMED:
        return flag
    if flag.status == PossibleDuplicate.Status.DISMISSED:
        raise ValidationError(ALREADY_DISMISSED)
    if not newer.is_open:
        raise ValidationError(NEWER_CLOSED.format(reference=newer.reference))
    if not older.is_open:
        raise ValidationError(KEPT_CLOSED.format(reference=older.reference))
    now = timezone.now()
    # As referral_close does: the lifecycle's end, the counts, the "closed" event.
    before = standing(newer)
    newer.status = Referral.Status.CLOSED
    newer.outcome = Referral.Outcome.DUPLICATE
    newer.closing_note = CLOSING_NOTE
    newer.closed_at = now
    newer.save(update_fields=["status", "outcome", "closing_note", "closed_at", "updated_at"])
    recount(newer, before)
    _resolve(flag, status=PossibleDuplicate.Status.CONFIRMED, actor=actor, at=now)
    kind = ReferralEvent.Kind.DUPLICATE_CONFIRMED
    ReferralEvent.objects.bulk_create(
        [
            services._event(
                newer,
                ReferralEvent.Kind.CLOSED,
                actor=actor,
                message=f"{newer.get_outcome_display()}: {newer.closing_note}",
                at=now,
            ),
            services._event(
                newer,
                kind,
                actor=actor,
                message=CONFIRMED_NEWER_MESSAGE,
                at=now,
                related_referral=older,
            ),
            services._event(
                older,
                kind,
                actor=actor,
                message=CONFIRMED_KEPT_MESSAGE,
                at=now,
                related_referral=newer,
            ),
        ]
    )
    return flag


@transaction.atomic
def duplicate_dismiss(*, flag: PossibleDuplicate, actor) -> PossibleDuplicate:
    """Mark the pair as not duplicates (it is never flagged again); events on both.

    Dismissing a pair already dismissed changes nothing and succeeds again.
    """
    flag, newer, older = _lock_pair(flag, actor=actor)
    if not may_resolve(user=actor, newer=newer, older=older):
        raise ValidationError(RESOLVE_NOT_ALLOWED, code="not_allowed")
    if flag.status == PossibleDuplicate.Status.DISMISSED:
        return flag
    if flag.status == PossibleDuplicate.Status.CONFIRMED:
        raise ValidationError(ALREADY_CONFIRMED.format(newer=newer.reference))
    now = timezone.now()
    _resolve(flag, status=PossibleDuplicate.Status.DISMISSED, actor=actor, at=now)
    ReferralEvent.objects.bulk_create(
        [
            services._event(
                one,
                ReferralEvent.Kind.DUPLICATE_DISMISSED,
                actor=actor,
                message=DISMISSED_MESSAGE,
                at=now,
                related_referral=other,
            )
            for one, other in ((newer, older), (older, newer))
        ]
    )
    return flag


# Reads for the staff pages.


def _pairs_visible_to(user) -> Q:
    """Pairs whose two referrals the user may both see."""
    return visible_q(user, prefix="referral__") & visible_q(user, prefix="duplicate_of__")


def annotate_possible_duplicates(queryset: QuerySet[Referral], *, user) -> QuerySet[Referral]:
    """Annotate `possible_duplicate`: the reference of another open referral this one may
    duplicate (or that may duplicate it), among pairs still to review that `user` may see
    both sides of; None if there is none. Two subqueries in the queryset's own query."""
    to_review = PossibleDuplicate.objects.filter(
        open_q("referral__"),
        open_q("duplicate_of__"),
        _pairs_visible_to(user),
        status=PossibleDuplicate.Status.OPEN,
    ).order_by("pk")
    older = to_review.filter(referral=OuterRef("pk")).values("duplicate_of__reference")[:1]
    newer = to_review.filter(duplicate_of=OuterRef("pk")).values("referral__reference")[:1]
    return queryset.annotate(possible_duplicate=Coalesce(Subquery(older), Subquery(newer)))


def duplicate_for_user(*, user, referral: Referral, pk) -> PossibleDuplicate | None:
    """The pair `pk` of `referral` if the user may see both of its referrals, else None."""
    return (
        PossibleDuplicate.objects.filter(Q(referral=referral) | Q(duplicate_of=referral))
        .filter(_pairs_visible_to(user), pk=pk)
        .first()
    )


@dataclass
class DuplicateEntry:
    """One pair as a referral's page shows it, from that referral's side."""

    flag: PossibleDuplicate
    other: Referral
    is_newer: bool  # the page's referral is the newer of the two
    may_confirm: bool
    may_dismiss: bool
    # Kept referral only: the duplicate's follow-ups and contacts, oldest first.
    merged_events: list[ReferralEvent] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.flag.status == PossibleDuplicate.Status.OPEN

    @property
    def merged_into_this(self) -> bool:
        """The other referral was closed as a duplicate of this one."""
        return not self.is_newer and self.flag.status == PossibleDuplicate.Status.CONFIRMED


def duplicates_of_referral(*, referral: Referral, user) -> list[DuplicateEntry]:
    """The pairs of `referral` that `user` may see both sides of, open ones first.

    One query; one more for the follow-ups and contacts of referrals closed as its
    duplicates, if there are any.
    """
    flags = (
        PossibleDuplicate.objects.filter(Q(referral=referral) | Q(duplicate_of=referral))
        .filter(_pairs_visible_to(user))
        .select_related("referral", "duplicate_of", "resolved_by")
        .order_by("found_at", "pk")
    )
    entries = []
    for flag in flags:
        is_newer = flag.referral_id == referral.pk
        newer, older = flag.referral, flag.duplicate_of
        resolver = flag.status == PossibleDuplicate.Status.OPEN and may_resolve(
            user=user, newer=newer, older=older
        )
        entries.append(
            DuplicateEntry(
                flag=flag,
                other=older if is_newer else newer,
                is_newer=is_newer,
                may_confirm=resolver and newer.is_open and older.is_open,
                may_dismiss=resolver,
            )
        )
    merged = {entry.other.pk: entry for entry in entries if entry.merged_into_this}
    if merged:
        events = ReferralEvent.objects.filter(
            referral_id__in=merged, kind__in=MERGED_EVENT_KINDS
        ).select_related("actor")
        for event in events:
            merged[event.referral_id].merged_events.append(event)
    entries.sort(key=lambda entry: not entry.is_open)
    return entries
