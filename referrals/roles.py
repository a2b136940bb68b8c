"""Who is who: the two staff roles and how a login maps to them."""

from regions.models import ResourceSpecialist

SPECIALISTS_GROUP = "Resource Specialists"
SUPERVISORS_GROUP = "RST Supervisors"


def is_supervisor(user) -> bool:
    """Supervisors see every region and use the admin. Cached on the user object."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    if not hasattr(user, "_rst_is_supervisor"):
        user._rst_is_supervisor = user.groups.filter(name=SUPERVISORS_GROUP).exists()
    return user._rst_is_supervisor


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
