"""When first contact is due, in business time, and how the pages promise it.

The team works weekdays during office hours (RST_OFFICE_OPENS to RST_OFFICE_CLOSES in
TIME_ZONE, the office's zone), except US federal holidays (the `holidays` package, with
their observed days). A routine referral is due RST_FIRST_CONTACT_BUSINESS_HOURS of that
time after it arrives, an urgent one RST_URGENT_FIRST_CONTACT_BUSINESS_HOURS; a referral
that arrives outside office hours starts its clock when the office next opens.

`first_contact_due` is the one rule for the due time (referral_create, the migration that
recomputed open referrals, the factories and the benchmark seed call it), and
`first_contact_promise` words the same settings for the pages and e-mails. `after_hours`
says when the clock starts for something sent while the office is closed, and
`local_time_text` writes a time in the reader's zone with its abbreviation ("CST", "ChST").
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from itertools import count
from zoneinfo import ZoneInfo

import holidays
from django.conf import settings
from django.utils import timezone

URGENT = "urgent"
_NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}


@lru_cache(maxsize=64)
def _federal_holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("US", years=year)


def federal_holiday(day: date) -> str | None:
    """The federal holiday on `day` (observed days included), or None."""
    return _federal_holidays(day.year).get(day)


def office_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def _opens() -> time:
    return time.fromisoformat(settings.RST_OFFICE_OPENS)


def _closes() -> time:
    return time.fromisoformat(settings.RST_OFFICE_CLOSES)


def office_day_hours() -> float:
    """Business hours in one working day (8 for 09:00–17:00)."""
    opens, closes = _opens(), _closes()
    return (closes.hour * 60 + closes.minute - opens.hour * 60 - opens.minute) / 60


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and federal_holiday(day) is None


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    zone = office_zone()
    return (
        datetime.combine(day, _opens(), tzinfo=zone),
        datetime.combine(day, _closes(), tzinfo=zone),
    )


def _working_days_from(day: date):
    """Working days from `day` on (a week always has some, so this never runs dry)."""
    for offset in count():
        candidate = day + timedelta(days=offset)
        if is_working_day(candidate):
            yield candidate


def is_office_open(at: datetime) -> bool:
    local = at.astimezone(office_zone())
    opens, closes = _day_bounds(local.date())
    return is_working_day(local.date()) and opens <= local < closes


def clock_starts(at: datetime) -> datetime:
    """When business time starts counting for something that happens at `at`: `at` itself
    during office hours, otherwise the next time the office opens (in the office's zone)."""
    local = at.astimezone(office_zone())
    for day in _working_days_from(local.date()):
        opens, closes = _day_bounds(day)
        if local < closes:
            return max(local, opens)
    raise AssertionError("unreachable: _working_days_from never ends")


@dataclass(frozen=True)
class AfterHours:
    """Something sent while the office is closed: when the team is back, and the due times
    of a routine and of an urgent referral sent then."""

    sent_at: datetime
    back_at: datetime
    routine_due: datetime
    urgent_due: datetime


def after_hours(at: datetime) -> AfterHours | None:
    """When the clock starts for a referral sent at `at`, if the office is closed then."""
    if is_office_open(at):
        return None
    return AfterHours(
        sent_at=at,
        back_at=clock_starts(at),
        routine_due=first_contact_due(submitted_at=at, urgency="routine"),
        urgent_due=first_contact_due(submitted_at=at, urgency=URGENT),
    )


def add_business_hours(start: datetime, hours: float) -> datetime:
    """`start` plus `hours` of business time. Ends at a closing time rather than the next
    opening when the hours run out exactly there (Friday 17:00 + 8 h is Monday 17:00)."""
    remaining = timedelta(hours=hours)
    local = clock_starts(start)
    for day in _working_days_from(local.date()):
        opens, closes = _day_bounds(day)
        begin = max(local, opens)
        if begin >= closes:
            continue
        if begin + remaining <= closes:
            return begin + remaining
        remaining -= closes - begin
    raise AssertionError("unreachable: _working_days_from never ends")


def business_hours_between(start: datetime, end: datetime) -> float:
    """Business hours from `start` to `end`; negative when `end` comes first.

    The first and last days are measured against the office hours; the whole days between
    are counted (weekdays by arithmetic, less the federal holidays among them), so a
    referral overdue for months costs no more than one overdue for a day.
    """
    if end < start:
        return -business_hours_between(end, start)
    local_start = start.astimezone(office_zone())
    local_end = end.astimezone(office_zone())
    first, last = local_start.date(), local_end.date()

    def within(day: date, begin: datetime, finish: datetime) -> timedelta:
        if not is_working_day(day):
            return timedelta()
        opens, closes = _day_bounds(day)
        return max(timedelta(), min(closes, finish) - max(opens, begin))

    if first == last:
        return within(first, local_start, local_end).total_seconds() / 3600
    total = within(first, local_start, local_end) + within(last, local_start, local_end)
    middle_days = _working_days_between(first + timedelta(days=1), last)
    return total.total_seconds() / 3600 + middle_days * office_day_hours()


def _working_days_between(first: date, stop: date) -> int:
    """Working days from `first` up to, not including, `stop`."""
    if stop <= first:
        return 0
    weeks, rest = divmod((stop - first).days, 7)
    weekdays = weeks * 5 + sum(
        1 for offset in range(rest) if (first + timedelta(days=offset)).weekday() < 5
    )
    closed = sum(
        1
        for year in range(first.year, stop.year + 1)
        for day in _federal_holidays(year)
        if first <= day < stop and day.weekday() < 5
    )
    return weekdays - closed


def first_contact_hours(urgency: str) -> float:
    """Business hours from arrival to the first-contact deadline (the settings)."""
    if urgency == URGENT:
        return settings.RST_URGENT_FIRST_CONTACT_BUSINESS_HOURS
    return settings.RST_FIRST_CONTACT_BUSINESS_HOURS


def first_contact_due(*, submitted_at: datetime, urgency: str) -> datetime:
    """When first contact is due for a referral submitted at `submitted_at`: the one rule."""
    return add_business_hours(submitted_at, first_contact_hours(urgency))


def business_duration(hours: float) -> str:
    """Business time in words: "4 business hours", "one business day", "2 business days"."""
    per_day = office_day_hours()
    if hours >= per_day and hours % per_day == 0:
        days = int(hours // per_day)
        word = _NUMBER_WORDS.get(days, str(days)) if days == 1 else str(days)
        return f"{word} business day{'s' if days != 1 else ''}"
    whole = int(hours) if float(hours).is_integer() else hours
    return f"{whole} business hour{'s' if whole != 1 else ''}"


def first_contact_promise(urgency: str) -> str:
    """The promise as the pages word it, e.g. "within one business day"."""
    return f"within {business_duration(first_contact_hours(urgency))}"


def office_hours_text() -> str:
    """The office hours in words, e.g. "9:00 AM to 5:00 PM Eastern time, Monday to Friday"."""
    now = timezone.now().astimezone(office_zone())
    opens = datetime.combine(now.date(), _opens())
    closes = datetime.combine(now.date(), _closes())
    return (
        f"{opens:%-I:%M %p} to {closes:%-I:%M %p} {now:%Z}, Monday to Friday, "
        "except federal holidays"
    )


def local_time_text(at: datetime, *, zone: tzinfo | None = None) -> str:
    """`at` in `zone` (default: the office's) with the zone's abbreviation, as the pages and
    e-mails write it: "Monday 30 November at 9:00 AM EST", "Tuesday 1 December at 12:00 AM ChST"."""
    local = at.astimezone(zone or office_zone())
    return f"{local:%A} {local.day} {local:%B} at {local:%-I:%M %p} {local.tzname()}"


def time_left(due: datetime, *, now: datetime | None = None) -> str:
    """Business time until `due` in a queue's words: "due in 3 h", "overdue by 1 day"."""
    now = now or timezone.now()
    hours = business_hours_between(now, due)
    size = abs(hours)
    if size == 0:
        # No business time between them (both outside office hours): past due is simply
        # "overdue"; still to come, it is due before the office opens again.
        return "overdue" if now >= due else "due before the office opens"
    per_day = office_day_hours()
    if size >= per_day:
        days = _round_half_up(size / per_day)
        amount = f"{days} day{'s' if days != 1 else ''}"
    elif size >= 1:
        amount = f"{_round_half_up(size)} h"
    else:
        amount = f"{max(1, _round_half_up(size * 60))} min"
    return f"due in {amount}" if now < due else f"overdue by {amount}"


def _round_half_up(value: float) -> int:
    """1.5 → 2 and 2.5 → 3 (Python's round() gives 2 for both)."""
    return int(value + 0.5)
