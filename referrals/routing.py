"""The routing rule: which region and which Resource Specialist a referral goes to.

The services call it for a new referral (`referral_create`), a transfer and the
admin's "send back to auto-routing"; nothing else decides. (A supervisor's reassignment
and a specialist's take-over assign by hand, on purpose, and say so in the history.)
Call these inside `transaction.atomic()`: they lock the candidate specialists so that
concurrent submissions see each other's assignments (PostgreSQL row locks).
"""

from dataclasses import dataclass

from django.db import models, transaction
from django.utils import timezone

from regions.models import Jurisdiction, Region, ResourceSpecialist


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
    The load is each specialist's maintained `open_referral_count`, read under its row
    lock: no count over the referrals, however many there are.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Routing must run inside transaction.atomic().")

    prefix = f"{origin} → {region.label}" if origin else region.label
    # Lock the candidates, and the specialist a rerouted referral leaves (the services
    # change both counts), in one statement in id order: every change takes the locks of
    # the specialists it touches in the same order, so two of them never deadlock.
    involved = models.Q(region=region)
    leaving = getattr(rerouted_referral, "assigned_specialist_id", None)
    if leaving is not None:
        involved |= models.Q(pk=leaving)
    locked = ResourceSpecialist.objects.filter(involved).with_availability()
    # Availability is decided here, in Python, because out of office ends at each
    # specialist's own midnight (their time zone); a region has a handful of specialists.
    now = timezone.now()
    candidates = [
        specialist
        for specialist in locked.select_for_update().order_by("pk")
        if specialist.region_id == region.pk and specialist.is_available(now=now)
    ]
    if not candidates:
        return RoutingDecision(
            region=region,
            specialist=None,
            reason=f"supervisor intake: {prefix}: no Resource Specialist available",
        )

    def load(specialist):
        # A referral being routed again is not load on the specialist it may leave.
        if specialist.pk == leaving and rerouted_referral.is_open:
            return specialist.open_referral_count - 1
        return specialist.open_referral_count

    chosen = min(
        candidates,
        key=lambda s: (load(s), s.last_assigned_at is not None, s.last_assigned_at, s.pk),
    )
    return RoutingDecision(
        region=region,
        specialist=chosen,
        reason=f"auto-routed: {prefix} → {chosen.name} ({load(chosen)} open)",
    )
