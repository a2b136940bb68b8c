"""Fix "now" for a test: the portal and Django read it through `django.utils.timezone.now`.

Code that calls `timezone.now()` or `timezone.localdate()` sees the frozen moment, also in
the live server's thread (it runs in the test process). Model fields with
`default=timezone.now` keep the real clock: they hold the function itself.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.utils import timezone

EASTERN = ZoneInfo("America/New_York")
CENTRAL = ZoneInfo("America/Chicago")
GUAM = ZoneInfo("Pacific/Guam")
PUERTO_RICO = ZoneInfo("America/Puerto_Rico")


def eastern(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A moment on the office's wall clock (TIME_ZONE is America/New_York)."""
    return datetime(year, month, day, hour, minute, tzinfo=EASTERN)


def freeze(monkeypatch, at: datetime) -> datetime:
    """Make `at` the current moment for the rest of the test."""
    monkeypatch.setattr(timezone, "now", lambda: at)
    return at
