"""Who is who: the two staff roles.

What each role may do: accounts.groups. Which specialist a login works as: regions.selectors.
"""

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
