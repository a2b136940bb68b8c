"""Reads of regions and specialists: for the public pages, and who a login works as."""

from django.db.models import Prefetch

from accounts.roles import SPECIALISTS_GROUP

from .models import Jurisdiction, Region, ResourceSpecialist


def regions_with_specialists():
    """Regions with their active specialists and jurisdictions: three queries."""
    return Region.objects.prefetch_related(
        Prefetch(
            "specialists",
            queryset=ResourceSpecialist.objects.filter(is_active=True).order_by("name"),
            to_attr="active_specialists",
        ),
        Prefetch("jurisdictions", queryset=Jurisdiction.objects.order_by("name")),
    )


def specialist_of(user) -> ResourceSpecialist | None:
    """The active ResourceSpecialist this login works as, if any. Cached on the user object.

    Both halves of the role are required: the link to a specialist and membership of
    the Resource Specialists group. Removing either (or deactivating the specialist)
    takes the queue away at once.
    """
    if not user.is_authenticated or not user.is_active:
        return None
    if not hasattr(user, "_rst_specialist"):
        user._rst_specialist = (
            ResourceSpecialist.objects.select_related("region")
            .filter(user=user, is_active=True, user__groups__name=SPECIALISTS_GROUP)
            .first()
        )
    return user._rst_specialist
