"""Reads for the supervisor's workload overview and the jurisdiction mapping checks.

Every function runs a fixed number of queries, whatever the number of referrals.
"""

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from regions.models import Jurisdiction, Region, ResourceSpecialist

from .models import Notification, Referral, ReferralEvent, intake_q, open_q, overdue_q

FIRST_CONTACT_WINDOW_DAYS = 30
OVERDUE_LIST_LIMIT = 50
FAILED_NOTICE_LIST_LIMIT = 20


@dataclass(frozen=True)
class StatusCount:
    status: str
    label: str
    count: int


@dataclass(frozen=True)
class RegionWorkload:
    """One row of the region × status table; `region` is None for unrouted referrals."""

    region: Region | None
    by_status: list[StatusCount]
    open: int
    supervisor_intake: int

    @property
    def label(self) -> str:
        return str(self.region) if self.region else "No region (jurisdiction not mapped)"

    @property
    def total(self) -> int:
        return sum(cell.count for cell in self.by_status)


@dataclass(frozen=True)
class FirstContactTimes:
    """How long first contact took, for first contacts made in the window."""

    median: timedelta | None
    count: int
    days: int

    @property
    def median_label(self) -> str:
        """The median in days, hours and minutes, e.g. "1 d 2 h 5 min"."""
        if self.median is None:
            return ""
        minutes = round(self.median.total_seconds() / 60)
        # Negative only with inconsistent data (contact recorded before submission).
        sign, minutes = ("-" if minutes < 0 else ""), abs(minutes)
        days, minutes = divmod(minutes, 24 * 60)
        hours, minutes = divmod(minutes, 60)
        parts = [f"{minutes} min"]
        if days or hours:
            parts.insert(0, f"{hours} h")
        if days:
            parts.insert(0, f"{days} d")
        return sign + " ".join(parts)


@dataclass(frozen=True)
class FailedNotices:
    """E-mails that did not go out after every attempt: someone must be told by hand."""

    count: int
    latest: list[Notification]


@dataclass(frozen=True)
class WorkloadOverview:
    totals: dict[str, int]
    regions: list[RegionWorkload]
    specialists: list[ResourceSpecialist]
    overdue: list[Referral]
    first_contact: FirstContactTimes
    failed_notices: FailedNotices
    resources_shared: int
    now: datetime


def workload_totals(*, now: datetime | None = None) -> dict[str, int]:
    """Headline counts: open, supervisor intake, overdue first contacts, open and not reviewed."""
    now = now or timezone.now()
    return Referral.objects.aggregate(
        open=Count("pk", filter=open_q()),
        supervisor_intake=Count("pk", filter=intake_q()),
        overdue=Count("pk", filter=overdue_q(now=now)),
        not_reviewed=Count("pk", filter=open_q() & Q(reviewed_at__isnull=True)),
    )


def _status_counts(source: dict) -> list[StatusCount]:
    return [
        StatusCount(status=value, label=label, count=source[f"n_{value}"])
        for value, label in Referral.Status.choices
    ]


def region_workloads() -> list[RegionWorkload]:
    """Referrals per region and status, plus a row for referrals without a region."""
    per_status = {
        f"n_{status}": Count("referrals", filter=Q(referrals__status=status))
        for status in Referral.Status.values
    }
    open_ = open_q("referrals__")
    regions = Region.objects.annotate(
        **per_status,
        n_open=Count("referrals", filter=open_),
        n_intake=Count("referrals", filter=intake_q("referrals__")),
    ).order_by("number")
    rows = [
        RegionWorkload(
            region=region,
            by_status=_status_counts(vars(region)),
            open=region.n_open,
            supervisor_intake=region.n_intake,
        )
        for region in regions
    ]
    unrouted = Referral.objects.filter(region__isnull=True).aggregate(
        **{key: Count("pk", filter=Q(status=key[2:])) for key in per_status},
        n_open=Count("pk", filter=open_q()),
    )
    if unrouted["n_open"] or any(unrouted[key] for key in per_status):
        rows.append(
            RegionWorkload(
                region=None,
                by_status=_status_counts(unrouted),
                open=unrouted["n_open"],
                # Without a region nobody can be assigned: every open one is in intake.
                supervisor_intake=unrouted["n_open"],
            )
        )
    return rows


def specialist_workloads(*, now: datetime | None = None) -> QuerySet[ResourceSpecialist]:
    """Every specialist with `open_count` and `overdue_count` of their assigned referrals."""
    now = now or timezone.now()
    return (
        ResourceSpecialist.objects.select_related("region")
        .with_availability()
        .annotate(
            open_count=Count("referrals", filter=open_q("referrals__")),
            overdue_count=Count("referrals", filter=overdue_q(now=now, prefix="referrals__")),
        )
        .order_by("region__number", "name")
    )


def overdue_first_contacts(
    *, now: datetime | None = None, limit: int = OVERDUE_LIST_LIMIT
) -> list[Referral]:
    """The referrals whose first contact is most overdue, longest waiting first."""
    now = now or timezone.now()
    return list(
        Referral.objects.overdue(now=now)
        .select_related("jurisdiction", "region", "assigned_specialist")
        .order_by("first_contact_due_at", "pk")[:limit]
    )


def first_contact_times(
    *, now: datetime | None = None, days: int = FIRST_CONTACT_WINDOW_DAYS
) -> FirstContactTimes:
    """Median time from submission to first contact, over first contacts in the last `days`.

    The median is taken in Python from one query of timestamp pairs: portable across
    SQLite and PostgreSQL, and a month of first contacts is a small list.
    """
    now = now or timezone.now()
    pairs = Referral.objects.filter(
        first_contacted_at__gt=now - timedelta(days=days), first_contacted_at__lte=now
    ).values_list("submitted_at", "first_contacted_at")
    seconds = [(contacted - submitted).total_seconds() for submitted, contacted in pairs]
    median = timedelta(seconds=statistics.median(seconds)) if seconds else None
    return FirstContactTimes(median=median, count=len(seconds), days=days)


def failed_notices(*, limit: int = FAILED_NOTICE_LIST_LIMIT) -> FailedNotices:
    """How many notices failed, and the latest of them with their referral."""
    failed = Notification.objects.failed()
    latest = list(failed.select_related("referral", "specialist").order_by("-created_at")[:limit])
    return FailedNotices(count=failed.count(), latest=latest)


def resources_shared(*, now: datetime, days: int = FIRST_CONTACT_WINDOW_DAYS) -> int:
    """How many times directory resources were shared on referrals in the last `days`."""
    return ReferralEvent.objects.filter(
        kind=ReferralEvent.Kind.RESOURCES_SHARED, created_at__gte=now - timedelta(days=days)
    ).count()


def workload_overview(*, now: datetime | None = None) -> WorkloadOverview:
    """Everything the workload page shows, as of `now`: nine queries."""
    now = now or timezone.now()
    return WorkloadOverview(
        totals=workload_totals(now=now),
        regions=region_workloads(),
        specialists=list(specialist_workloads(now=now)),
        overdue=overdue_first_contacts(now=now),
        first_contact=first_contact_times(now=now),
        failed_notices=failed_notices(),
        resources_shared=resources_shared(now=now),
        now=now,
    )


def _region_differs(*, referral_region: str, jurisdiction_region: str) -> Q:
    """The referral's region is not its jurisdiction's region (None counts as a value)."""
    referral_unset = Q(**{f"{referral_region}__isnull": True})
    jurisdiction_unset = Q(**{f"{jurisdiction_region}__isnull": True})
    both_set_and_different = (
        ~referral_unset & ~jurisdiction_unset & ~Q(**{referral_region: F(jurisdiction_region)})
    )
    return (
        (referral_unset & ~jurisdiction_unset)
        | (~referral_unset & jurisdiction_unset)
        | both_set_and_different
    )


def open_referrals_outside_region(
    *, jurisdictions: QuerySet[Jurisdiction] | list[Jurisdiction] | None = None
) -> QuerySet[Referral]:
    """Open referrals whose region is not (any more) their jurisdiction's region.

    These are what a change of the jurisdiction → region mapping leaves behind (and
    referrals a supervisor deliberately reassigned to another region's specialist).
    """
    referrals = Referral.objects.open().filter(
        _region_differs(referral_region="region", jurisdiction_region="jurisdiction__region")
    )
    if jurisdictions is not None:
        referrals = referrals.filter(jurisdiction__in=jurisdictions)
    return referrals


def with_open_referrals_outside_region(
    *, jurisdictions: QuerySet[Jurisdiction]
) -> QuerySet[Jurisdiction]:
    """Annotate each jurisdiction with `open_outside_region`, in the same query."""
    return jurisdictions.annotate(
        open_outside_region=Count(
            "referrals",
            filter=open_q("referrals__")
            & _region_differs(referral_region="referrals__region", jurisdiction_region="region"),
        )
    )
