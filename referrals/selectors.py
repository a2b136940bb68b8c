"""Reads for the staff pages: who may see which referrals, the queue, one referral."""

from dataclasses import dataclass
from functools import cached_property

from django.conf import settings
from django.db.models import Count, Exists, Min, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.roles import is_supervisor
from regions.selectors import specialist_of

from .counts import ALL_PLACES, cached_counts, region_place, specialist_place
from .deadlines import business_hours_between, time_left
from .models import (
    PossibleDuplicate,
    Referral,
    ReferralEvent,
    Service,
    intake_q,
    overdue_q,
)


class Scope:
    MINE = "mine"
    REGION = "region"
    ALL = "all"
    INTAKE = "intake"


@dataclass(frozen=True)
class QueueFilters:
    status: str = "open"  # "open", "all" or a Referral.Status value
    urgency: str = ""
    scope: str = ""  # a Scope value; empty means the role's default
    overdue: bool = False
    search: str = ""


def referrals_visible_to(user) -> QuerySet[Referral]:
    """Every referral this user may see: all for supervisors, their region for specialists."""
    if is_supervisor(user):
        return Referral.objects.all()
    specialist = specialist_of(user)
    if specialist is None:
        return Referral.objects.none()
    # Their own cases too: a specialist moved to another region must not lose them.
    return Referral.objects.filter(
        Q(region_id=specialist.region_id) | Q(assigned_specialist=specialist)
    )


def referral_in_scope(*, user, referral: Referral) -> bool:
    """The rule of referrals_visible_to for one referral in hand (read under its lock).

    The services ask it again where the change happens: the view's check may be stale
    by the time the row lock is theirs (a transfer committed meanwhile).
    """
    if is_supervisor(user):
        return True
    specialist = specialist_of(user)
    if specialist is None:
        return False
    return referral.region_id == specialist.region_id or (
        referral.assigned_specialist_id == specialist.pk
    )


def visible_q(user, *, prefix: str = "") -> Q:
    """The rule of referrals_visible_to as a condition on the referral reached through
    `prefix` (e.g. "related_referral__"): for rows that name another referral. Never an
    empty Q (which `|` would drop): for supervisors, "there is one"."""
    if is_supervisor(user):
        return Q(**{f"{prefix}pk__isnull": False})
    specialist = specialist_of(user)
    if specialist is None:
        return Q(**{f"{prefix}pk__in": []})
    return Q(**{f"{prefix}region_id": specialist.region_id}) | Q(
        **{f"{prefix}assigned_specialist_id": specialist.pk}
    )


def default_scope(user) -> str:
    return Scope.ALL if is_supervisor(user) else Scope.REGION


# The queue's order, for triage. First the referrals awaiting first contact, by when it
# is due: the overdue ones come first by themselves (they were due earliest, the most
# overdue first), then the ones due soonest (an urgent referral is due sooner, so it
# rises on its own). Then the contacted ones (acknowledged or in progress) by the same
# due time, which is about oldest first: their first contact is made, and what they need
# next is the specialist's own plan, not the clock. Closed ones last, newest first (the
# "all" and "closed" views). The stage is a stored column (Referral.queue_stage), so every
# part of this order is a range that an index (referrals/models.py) reads in order: the
# time of day changes which referrals are overdue, never their order.
NEW_STAGE, CONTACTED_STAGE, CLOSED_STAGE = 0, 1, 2
STAGE_OF_STATUS = {
    Referral.Status.NEW: NEW_STAGE,
    Referral.Status.ACKNOWLEDGED: CONTACTED_STAGE,
    Referral.Status.IN_PROGRESS: CONTACTED_STAGE,
    Referral.Status.CLOSED: CLOSED_STAGE,
}
QUEUE_ORDER = ("queue_stage", "first_contact_due_at", "pk")
CLOSED_ORDER = ("-first_contact_due_at", "-pk")


def _sort_key(row: tuple) -> tuple:
    """A (queue_stage, first_contact_due_at, pk) row's place in the queue order."""
    stage, due, pk = row
    if stage == CLOSED_STAGE:
        return (stage, -due.timestamp(), -pk)
    return (stage, due.timestamp(), pk)


@dataclass(frozen=True)
class _Part:
    """A part of a queue. A small one is read whole and sorted here (an index finds its
    rows, none holds them in queue order); the others are read in order, up to a page."""

    referrals: QuerySet[Referral]
    small: bool = False


def _visible_parts(user) -> list[_Part]:
    """The rule of referrals_visible_to, as disjoint parts that an index reads in order.

    A specialist's region, and their own cases outside it (usually none): the OR of the
    two would leave the database no index to read in queue order.
    """
    if is_supervisor(user):
        return [_Part(Referral.objects.all())]
    specialist = specialist_of(user)
    if specialist is None:
        return []
    region = specialist.region_id
    # "Below or above theirs" (an assigned referral has a region), not "not theirs" nor
    # "in one of the others": two ranges of the index of (specialist, region), which the
    # database reads even when it guesses (as it does, not knowing that a specialist's
    # cases are nearly all in their own region) that many rows would match.
    elsewhere = Referral.objects.filter(
        Q(region_id__lt=region) | Q(region_id__gt=region), assigned_specialist=specialist
    )
    return [_Part(Referral.objects.filter(region_id=region)), _Part(elsewhere, small=True)]


def _queue_parts(*, user, filters: QueueFilters, now) -> list[_Part]:
    scope = filters.scope or default_scope(user)
    if scope == Scope.MINE:
        specialist = specialist_of(user)
        parts = (
            [_Part(Referral.objects.filter(assigned_specialist=specialist))] if specialist else []
        )
    elif scope == Scope.INTAKE:
        parts = [
            _Part(part.referrals.filter(assigned_specialist__isnull=True), part.small)
            for part in _visible_parts(user)
        ]
    else:
        parts = _visible_parts(user)

    def filtered(referrals):
        # The stage says the status as far as it can (Referral.queue_stage: new is 0,
        # closed 2): a stage is a range of the queue's index, and the database estimates
        # it well, where a status test beside it would make the two look independent.
        if filters.status == "open":
            referrals = referrals.filter(queue_stage__lt=CLOSED_STAGE)
        elif filters.status in Referral.Status.values:
            stage = STAGE_OF_STATUS[filters.status]
            referrals = referrals.filter(queue_stage=stage)
            if stage == CONTACTED_STAGE:  # acknowledged and in progress share it
                referrals = referrals.filter(status=filters.status)
        if filters.urgency in Referral.Urgency.values:
            referrals = referrals.filter(urgency=filters.urgency)
        if filters.overdue:
            # models.overdue_q, in the stage's words: still new, and due before now.
            referrals = referrals.filter(queue_stage=NEW_STAGE, first_contact_due_at__lt=now)
        if filters.search:
            term = filters.search.strip()
            referrals = referrals.filter(Q(reference__iexact=term) | Q(agency__icontains=term))
        return referrals.order_by()

    return [_Part(filtered(part.referrals), part.small) for part in parts]


@dataclass(frozen=True)
class _Runs:
    """Which stages the filters let in: the open ones (read in order), the closed ones
    (a run of their own, newest first: the index read backwards)."""

    open: bool
    closed: bool

    @classmethod
    def of(cls, filters: QueueFilters) -> "_Runs":
        closed = filters.status in ("all", Referral.Status.CLOSED) and not filters.overdue
        return cls(open=filters.status != Referral.Status.CLOSED, closed=closed)


def _in_queue_order(part: _Part, *, runs: _Runs, limit: int) -> list[tuple]:
    """The first `limit` referrals of `part` in queue order, as (sort key, pk)."""
    if part.small:
        rows = part.referrals.values_list(*QUEUE_ORDER)
        return sorted((_sort_key(row), row[-1]) for row in rows)[:limit]
    if runs.open and runs.closed:
        ordered = [
            part.referrals.filter(queue_stage__lt=CLOSED_STAGE).order_by(*QUEUE_ORDER),
            part.referrals.filter(queue_stage=CLOSED_STAGE).order_by(*CLOSED_ORDER),
        ]
    else:  # the filters hold the part to open or to closed referrals already
        ordered = [part.referrals.order_by(*(QUEUE_ORDER if runs.open else CLOSED_ORDER))]
    return [
        (_sort_key(row), row[-1])
        for run in ordered
        for row in run.values_list(*QUEUE_ORDER)[:limit]
    ]


@dataclass(frozen=True)
class QueuePage:
    """One page of the queue. Referrals are counted up to `max_pages` pages, no further."""

    object_list: list[Referral]
    number: int
    per_page: int
    max_pages: int
    counted: int  # the matching referrals, or max_pages * per_page + 1 if there are more
    has_next: bool

    @property
    def total_known(self) -> bool:
        return self.counted <= self.max_pages * self.per_page

    @property
    def num_pages(self) -> int:
        return max(1, -(-self.counted // self.per_page)) if self.total_known else self.max_pages

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_other_pages(self) -> bool:
        return self.has_previous or self.has_next

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    # The region and specialist columns are shown only where the page's rows differ: in
    # a specialist's own queue every row would repeat the same two words. Worked out once:
    # the template asks for each row of the table and each card.
    @cached_property
    def regions_differ(self) -> bool:
        return len({referral.region_id for referral in self.object_list}) > 1

    @cached_property
    def specialists_differ(self) -> bool:
        return len({referral.assigned_specialist_id for referral in self.object_list}) > 1


def referral_queue_page(
    *, user, filters: QueueFilters, page_number, per_page: int, max_pages: int, now=None
) -> QueuePage:
    """One page of the queue in triage order (see QUEUE_ORDER above): awaiting first
    contact by due time (so overdue first), then contacted ones, then closed ones.

    Its cost does not grow with the queue: each part is counted up to `max_pages` pages
    and read in order from an index up to the end of the page, then only the page's
    referrals are read in full, with their services. A fixed number of queries: two for
    each part read in order (three when both open and closed referrals are shown), one
    for a small part, and two for the page's referrals and their services.

    Each referral on the page carries `overdue`, `due_soon` (first contact due within
    RST_DUE_SOON_BUSINESS_HOURS) and `time_left` ("due in 3 h", "overdue by 1 day";
    empty once contacted), all as of `now`.
    """
    now = now or timezone.now()
    parts = _queue_parts(user=user, filters=filters, now=now)
    runs = _Runs.of(filters)
    most = max_pages * per_page + 1
    # A small part is read whole, which counts it too; the others are counted up to `most`.
    smalls = [_in_queue_order(part, runs=runs, limit=most) for part in parts if part.small]
    ordered = [part for part in parts if not part.small]
    counted = sum(len(rows) for rows in smalls)
    # In queue order: the database counts along the index, however rare the matches.
    counted += sum(
        part.referrals.order_by(*QUEUE_ORDER).values("pk")[:most].count() for part in ordered
    )
    counted = min(most, counted)
    last_page = max(1, min(max_pages, -(-counted // per_page)))
    try:
        number = min(max(1, int(page_number)), last_page)
    except (TypeError, ValueError):
        number = 1
    start = (number - 1) * per_page
    limit = start + per_page + 1  # one more than the page: is there a next one?
    read = smalls + [_in_queue_order(part, runs=runs, limit=limit) for part in ordered]
    keyed = sorted(row for rows in read for row in rows)[start:limit]
    ids = [pk for _key, pk in keyed[:per_page]]
    # Imported here: referrals.duplicates builds on this module (visible_q).
    from .duplicates import annotate_possible_duplicates

    by_pk = (
        annotate_possible_duplicates(
            Referral.objects.select_related("jurisdiction", "region", "assigned_specialist"),
            user=user,
        )
        .prefetch_related(Prefetch("services", queryset=Service.objects.only("number", "name")))
        .in_bulk(ids)
    )
    referrals = [by_pk[pk] for pk in ids]
    due_soon_hours = settings.RST_DUE_SOON_BUSINESS_HOURS
    for referral in referrals:
        referral.overdue = referral.is_overdue(now=now)
        waiting = referral.awaits_first_contact
        due = referral.first_contact_due_at
        referral.time_left = time_left(due, now=now) if waiting else ""
        referral.due_soon = (
            waiting and not referral.overdue and business_hours_between(now, due) <= due_soon_hours
        )
    return QueuePage(
        object_list=referrals,
        number=number,
        per_page=per_page,
        max_pages=max_pages,
        counted=counted,
        has_next=len(keyed) > per_page and number < max_pages,
    )


def _count_places(user) -> list[str]:
    """The places whose changes the user's counts depend on (referrals/counts.py)."""
    if is_supervisor(user):
        return [ALL_PLACES]
    specialist = specialist_of(user)
    if specialist is None:
        return ["nobody"]
    return [region_place(specialist.region_id), specialist_place(specialist.pk)]


def queue_counts(*, user, now=None) -> dict[str, int]:
    """Counts per status (and overdue, and intake) over everything the user may see.

    Counted at most once per change of a referral they count (cached until then), as
    referrals/counts.py explains; "overdue" changes with the time alone, so they are
    counted again when the next new referral falls due.
    """
    now = now or timezone.now()

    def count():
        counts = {s: Count("pk", filter=Q(status=s)) for s in Referral.Status.values}
        counts["overdue"] = Count("pk", filter=overdue_q(now=now))
        counts["intake"] = Count("pk", filter=intake_q())
        counts["next_due"] = Min(
            "first_contact_due_at",
            filter=Q(status=Referral.Status.NEW, first_contact_due_at__gte=now),
        )
        counts = referrals_visible_to(user).aggregate(**counts)
        return counts, counts.pop("next_due")

    return cached_counts(places=_count_places(user), count=count, now=now)


# What the history on a referral's page reads of each event and its actor.
_HISTORY_FIELDS = (
    "referral_id",
    "kind",
    "created_at",
    "message",
    "contact_method",
    "contact_date",
    "contact_outcome",
    "contacted_at",
    "resources",
    "actor__first_name",
    "actor__last_name",
    "actor__username",
)


def referral_for_user(*, user, reference: str) -> Referral:
    """One referral with its history, or 404 when it does not exist or is not the user's."""
    referral = (
        referrals_visible_to(user)
        .select_related("jurisdiction", "region", "assigned_specialist", "reviewed_by")
        .prefetch_related(
            "services",
            Prefetch(
                "events",
                # An event about another referral (a possible duplicate) only for those
                # who may see that one too: no hint of a match in another region.
                queryset=ReferralEvent.objects.filter(
                    Q(related_referral__isnull=True) | visible_q(user, prefix="related_referral__")
                )
                # The page shows who acted (actor_label), not where each event left it.
                .select_related("actor")
                .only(*_HISTORY_FIELDS),
            ),
        )
        .filter(reference=reference)
        # Whether any pair names it at all (whoever may see it): without one the page's
        # duplicates panel has nothing to look up (templatetags/duplicate_tags.py).
        .annotate(
            has_duplicate_flags=Exists(
                PossibleDuplicate.objects.filter(
                    Q(referral=OuterRef("pk")) | Q(duplicate_of=OuterRef("pk"))
                )
            )
        )
        .first()
    )
    if referral is None:
        raise Http404("No referral with that reference in your queue.")
    return referral
