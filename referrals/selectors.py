"""Reads for the staff pages: who may see which referrals, the queue, one referral."""

from dataclasses import dataclass

from django.db.models import Case, Count, Min, Prefetch, Q, QuerySet, Value, When
from django.http import Http404
from django.utils import timezone

from accounts.roles import is_supervisor
from regions.models import Region
from regions.selectors import specialist_of

from .counts import ALL_PLACES, cached_counts, region_place, specialist_place
from .models import Referral, ReferralEvent, intake_q, overdue_q


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


def default_scope(user) -> str:
    return Scope.ALL if is_supervisor(user) else Scope.REGION


# The queue's order: overdue first contacts first, then urgent, then oldest. "Overdue"
# depends on the time, so no stored key can hold the whole order: a part of the queue is
# read as two runs that an index keeps in order (referrals/models.py), the overdue ones
# then the rest, each by (queue_rank, submitted_at, id), and the runs are merged.
QUEUE_ORDER = ("queue_rank", "submitted_at", "pk")


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
    # "In one of the other regions" (an assigned referral has one), not "not in theirs":
    # the database then looks each up in the index of (specialist, region).
    elsewhere = Referral.objects.filter(
        assigned_specialist=specialist, region__in=Region.objects.exclude(pk=region)
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
        if filters.status == "open":
            referrals = referrals.open()
        elif filters.status in Referral.Status.values:
            referrals = referrals.filter(status=filters.status)
        if filters.urgency in Referral.Urgency.values:
            referrals = referrals.filter(urgency=filters.urgency)
        if filters.overdue:
            referrals = referrals.overdue(now=now)
        if filters.search:
            term = filters.search.strip()
            referrals = referrals.filter(Q(reference__iexact=term) | Q(agency__icontains=term))
        return referrals.order_by()

    return [_Part(filtered(part.referrals), part.small) for part in parts]


def _in_queue_order(part: _Part, *, now, limit: int) -> list[tuple]:
    """The first `limit` referrals of `part` in queue order, as (sort key, pk)."""
    overdue = overdue_q(now=now)
    if part.small:
        rows = part.referrals.annotate(
            later=Case(When(overdue, then=Value(0)), default=Value(1))
        ).values_list("later", *QUEUE_ORDER)
        return sorted((tuple(row), row[-1]) for row in rows)[:limit]
    keyed = []
    for later, run in ((0, part.referrals.filter(overdue)), (1, part.referrals.exclude(overdue))):
        rows = run.order_by(*QUEUE_ORDER).values_list(*QUEUE_ORDER)[:limit]
        keyed += [((later, *row), row[-1]) for row in rows]
    return keyed


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


def referral_queue_page(
    *, user, filters: QueueFilters, page_number, per_page: int, max_pages: int, now=None
) -> QueuePage:
    """One page of the queue (overdue first contacts first, then urgent, then oldest).

    Its cost does not grow with the queue: each part is counted up to `max_pages` pages
    and read in order from an index up to the end of the page, then only the page's
    referrals are read in full. Past `max_pages` pages, the filters narrow the queue.
    A fixed number of queries: three for each part read in order, one for a small part,
    and one for the page's referrals.
    """
    now = now or timezone.now()
    parts = _queue_parts(user=user, filters=filters, now=now)
    most = max_pages * per_page + 1
    # A small part is read whole, which counts it too; the others are counted up to `most`.
    smalls = [_in_queue_order(part, now=now, limit=most) for part in parts if part.small]
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
    runs = smalls + [_in_queue_order(part, now=now, limit=limit) for part in ordered]
    keyed = sorted(row for run in runs for row in run)[start:limit]
    ids = [pk for _key, pk in keyed[:per_page]]
    by_pk = Referral.objects.select_related(
        "jurisdiction", "region", "assigned_specialist"
    ).in_bulk(ids)
    referrals = [by_pk[pk] for pk in ids]
    for referral in referrals:
        referral.overdue = referral.is_overdue(now=now)
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


def referral_for_user(*, user, reference: str) -> Referral:
    """One referral with its history, or 404 when it does not exist or is not the user's."""
    referral = (
        referrals_visible_to(user)
        .select_related("jurisdiction", "region", "assigned_specialist", "reviewed_by")
        .prefetch_related(
            "services",
            Prefetch(
                "events",
                queryset=ReferralEvent.objects.select_related("actor", "region", "specialist"),
            ),
        )
        .filter(reference=reference)
        .first()
    )
    if referral is None:
        raise Http404("No referral with that reference in your queue.")
    return referral
