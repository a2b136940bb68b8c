"""Reads of regions and specialists for the public pages."""

from django.db.models import Prefetch

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
