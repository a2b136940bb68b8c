"""Staff time zones: the zones a login can choose, and the zone its pages show times in.

A login's zone is its StaffProfile's (empty: the office's, settings.TIME_ZONE). It is
read once at login into the session, and accounts.middleware.StaffTimeZoneMiddleware
activates it on every staff page, so `timezone.localtime()`, `timezone.localdate()` and
the templates all follow it without a query per page.
"""

from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from django.conf import settings

from .models import StaffProfile

# The session key holding the login's zone name ("" for the office's zone).
SESSION_KEY = "rst_time_zone"

# The zones of the states and territories RST serves, offered first.
US_TIME_ZONES = [
    ("America/New_York", "Eastern"),
    ("America/Chicago", "Central"),
    ("America/Denver", "Mountain"),
    ("America/Phoenix", "Arizona (Mountain, no daylight saving time)"),
    ("America/Los_Angeles", "Pacific"),
    ("America/Anchorage", "Alaska"),
    ("Pacific/Honolulu", "Hawaii"),
    ("America/Puerto_Rico", "Atlantic (Puerto Rico, U.S. Virgin Islands)"),
    ("Pacific/Guam", "Chamorro (Guam, Northern Mariana Islands)"),
    ("Pacific/Pago_Pago", "Samoa (American Samoa)"),
]
# In the zone database but not a place: the machine's own zone, and a placeholder.
_NOT_PLACES = {"localtime", "Factory"}


@lru_cache(maxsize=1)
def all_time_zones() -> tuple[str, ...]:
    """Every IANA zone name this machine knows, sorted."""
    return tuple(sorted(available_timezones() - _NOT_PLACES))


def is_time_zone(name: str) -> bool:
    return name in all_time_zones()


def time_zone_choices() -> list:
    """The choices of the profile page: the US zones first, then every zone by name."""
    return [
        ("US time zones", [(name, time_zone_label(name)) for name, _ in US_TIME_ZONES]),
        ("All time zones", [(name, name.replace("_", " ")) for name in all_time_zones()]),
    ]


def time_zone_label(name: str) -> str:
    """A zone as people say it: "Central – America/Chicago", or the IANA name."""
    labels = dict(US_TIME_ZONES)
    return f"{labels[name]} – {name}" if name in labels else name.replace("_", " ")


def zone_named(name: str) -> ZoneInfo:
    """The zone called `name`; the office's for "" or a name this machine does not know."""
    return ZoneInfo(name if name and is_time_zone(name) else settings.TIME_ZONE)


def time_zone_of(user) -> str:
    """The zone name `user` chose on their profile page ("" if none: the office's). A query."""
    return StaffProfile.objects.filter(user=user).values_list("time_zone", flat=True).first() or ""


def remember_time_zone(sender, request, user, **kwargs):
    """At login (user_logged_in), keep the login's zone in its session for every page."""
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_KEY] = time_zone_of(user)
