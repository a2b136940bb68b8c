"""Writes about staff logins: giving a Resource Specialist their login, a login's time zone."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser, Group
from django.core.exceptions import ValidationError
from django.db import models, transaction

from .models import StaffProfile
from .roles import SPECIALISTS_GROUP, SUPERVISORS_GROUP
from .time_zones import is_time_zone

SUPERUSER_LOGIN = "{username!r} is a superuser login. Give the specialist a login of their own."
SUPERVISOR_LOGIN = (
    "{username!r} is an RST supervisor login. Give the specialist a login of their own."
)
LOGIN_OF_ANOTHER_SPECIALIST = "The login {username!r} is already linked to {other}."
TIME_ZONE_UNKNOWN = "Choose a time zone from the list."


def linkable_logins():
    """Logins the admin offers to link to a specialist: not superusers, not supervisors."""
    return (
        get_user_model()
        .objects.filter(is_superuser=False)
        .exclude(groups__name=SUPERVISORS_GROUP)
        .order_by("username")
    )


def specialist_login_validate(*, specialist: models.Model, user: AbstractUser) -> None:
    """Refuse a login that must not work as this specialist (ValidationError)."""
    username = user.get_username()
    if user.is_superuser:
        raise ValidationError(SUPERUSER_LOGIN.format(username=username), code="superuser")
    # Not is_supervisor(): that ignores an inactive login, which may be reactivated.
    if user.groups.filter(name=SUPERVISORS_GROUP).exists():
        raise ValidationError(SUPERVISOR_LOGIN.format(username=username), code="supervisor")
    other = type(specialist)._default_manager.filter(user=user).exclude(pk=specialist.pk).first()
    if other is not None:
        raise ValidationError(
            LOGIN_OF_ANOTHER_SPECIALIST.format(username=username, other=other),
            code="linked_elsewhere",
        )


@transaction.atomic
def specialist_link_login(*, specialist: models.Model, user: AbstractUser) -> None:
    """Make `user` the login `specialist` works as: the link and the group, together.

    The queue needs both halves (regions.selectors.specialist_of), so they are written in
    one transaction. `specialist` is a saved regions.ResourceSpecialist; accounts sits
    below regions and does not import it, so it is used through its `user` field only.
    """
    specialist_login_validate(specialist=specialist, user=user)
    specialist.user = user
    specialist.save(update_fields=["user"])
    user.groups.add(Group.objects.get(name=SPECIALISTS_GROUP))


@transaction.atomic
def staff_time_zone_set(*, user: AbstractUser, time_zone: str) -> StaffProfile:
    """Make `time_zone` (an IANA name) the zone `user`'s staff pages show times in."""
    if not is_time_zone(time_zone):
        raise ValidationError(TIME_ZONE_UNKNOWN, code="unknown_time_zone")
    profile, _ = StaffProfile.objects.update_or_create(user=user, defaults={"time_zone": time_zone})
    return profile
