"""The routing rule: which region and which Resource Specialist a referral goes to.

The services call it for a new referral (`referral_create`), a transfer and the
admin's "send back to auto-routing"; nothing else decides. (A supervisor's reassignment
and a specialist's take-over assign by hand, on purpose, and say so in the history.)
Call these inside `transaction.atomic()`: they lock the candidate specialists so that
concurrent submissions see each other's assignments (PostgreSQL row locks).
"""

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count

from regions.models import Jurisdiction, Region, ResourceSpecialist

from .models import Referral


@dataclass(frozen=True)
class RoutingDecision:
    region: Region | None
    specialist: ResourceSpecialist | None
    reason: str

    @property
    def is_supervisor_intake(self):
        return self.specialist is None


def route_jurisdiction(*, jurisdiction: Jurisdiction, rerouted_referral=None) -> RoutingDecision:
    """Route a case in `jurisdiction` to its region, then to that region's specialist.

    `rerouted_referral` is a referral being routed again: it is not counted as load.
    """
    region = jurisdiction.region
    if region is None:
        return RoutingDecision(
            region=None,
            specialist=None,
            reason=f"supervisor intake: {jurisdiction.code} is not mapped to a region",
        )
    return route_region(
        region=region, origin=jurisdiction.code, rerouted_referral=rerouted_referral
    )


def route_region(*, region: Region, origin: str = "", rerouted_referral=None) -> RoutingDecision:
    """Pick the available specialist in `region` with the fewest open referrals.

    Ties go to whoever was assigned least recently (never assigned counts as oldest).
    With nobody available the referral goes to supervisor intake, keeping the region.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Routing must run inside transaction.atomic().")

    prefix = f"{origin} → {region.label}" if origin else region.label
    candidates = ResourceSpecialist.objects.available().filter(region=region)
    # Lock first; PostgreSQL refuses FOR UPDATE together with GROUP BY, so count after.
    candidates = list(candidates.select_for_update().order_by("pk"))
    if not candidates:
        return RoutingDecision(
            region=region,
            specialist=None,
            reason=f"supervisor intake: {prefix}: no Resource Specialist available",
        )

    open_referrals = Referral.objects.open()
    if rerouted_referral is not None:
        open_referrals = open_referrals.exclude(pk=rerouted_referral.pk)
    open_counts = dict(
        open_referrals.filter(assigned_specialist__in=candidates)
        .values_list("assigned_specialist")
        .annotate(n=Count("pk"))
        .values_list("assigned_specialist", "n")
    )
    chosen = min(
        candidates,
        key=lambda s: (
            open_counts.get(s.pk, 0),
            s.last_assigned_at is not None,
            s.last_assigned_at,
            s.pk,
        ),
    )
    return RoutingDecision(
        region=region,
        specialist=chosen,
        reason=f"auto-routed: {prefix} → {chosen.name} ({open_counts.get(chosen.pk, 0)} open)",
    )


def record_assignment(*, specialist: ResourceSpecialist, at) -> None:
    """Remember when `specialist` last got a referral, for the tie-break."""
    ResourceSpecialist.objects.filter(pk=specialist.pk).update(last_assigned_at=at)
    specialist.last_assigned_at = at
