"""The business-time calendar: when first contact is due, how much business time is left,
and how the pages word the promise and show times in the reader's zone.

Expected times are worked out by hand from the office hours (09:00-17:00 Eastern,
weekdays), the federal holidays and the settings (8 business hours routine, 4 urgent).
"""

import random
from datetime import UTC, date, datetime, time, timedelta

import pytest

from referrals import deadlines
from referrals.deadlines import (
    add_business_hours,
    after_hours,
    business_duration,
    business_hours_between,
    clock_starts,
    federal_holiday,
    first_contact_due,
    first_contact_promise,
    is_office_open,
    is_working_day,
    local_time_text,
    office_hours_text,
    time_left,
)
from tests.clock import CENTRAL, EASTERN, GUAM, PUERTO_RICO, eastern, freeze

ROUTINE, URGENT = "routine", "urgent"


# When first contact is due.

DUE = [
    pytest.param(eastern(2026, 11, 20, 17), ROUTINE, eastern(2026, 11, 23, 17), id="fri-17:00"),
    pytest.param(eastern(2026, 11, 20, 16), ROUTINE, eastern(2026, 11, 23, 16), id="fri-16:00"),
    pytest.param(
        eastern(2026, 11, 25, 10), ROUTINE, eastern(2026, 11, 27, 10), id="wed-before-thanksgiving"
    ),
    pytest.param(
        eastern(2026, 11, 25, 15), URGENT, eastern(2026, 11, 27, 11), id="urgent-over-thanksgiving"
    ),
    pytest.param(
        eastern(2026, 11, 21, 2), URGENT, eastern(2026, 11, 23, 13), id="urgent-sat-02:00"
    ),
    pytest.param(eastern(2026, 11, 21, 2), ROUTINE, eastern(2026, 11, 23, 17), id="sat-02:00"),
    pytest.param(eastern(2026, 11, 24, 10, 30), ROUTINE, eastern(2026, 11, 25, 10, 30), id="tue"),
    pytest.param(eastern(2026, 11, 24, 8, 59), ROUTINE, eastern(2026, 11, 24, 17), id="before-9"),
    pytest.param(eastern(2026, 11, 24, 9), URGENT, eastern(2026, 11, 24, 13), id="urgent-at-9"),
    pytest.param(eastern(2026, 11, 24, 15), URGENT, eastern(2026, 11, 25, 11), id="urgent-15:00"),
    pytest.param(eastern(2026, 11, 24, 20), ROUTINE, eastern(2026, 11, 25, 17), id="evening"),
    # 4 July 2026 is a Saturday: the holiday is observed on Friday 3 July.
    pytest.param(eastern(2026, 7, 2, 16), ROUTINE, eastern(2026, 7, 6, 16), id="july-3-observed"),
    pytest.param(eastern(2026, 1, 16, 16), ROUTINE, eastern(2026, 1, 20, 16), id="mlk-day"),
    # Christmas 2027 is a Saturday (observed Friday 24 December), New Year's Day 2028 too
    # (observed Friday 31 December 2027).
    pytest.param(eastern(2027, 12, 23, 12), ROUTINE, eastern(2027, 12, 27, 12), id="christmas"),
    pytest.param(eastern(2027, 12, 30, 12), ROUTINE, eastern(2028, 1, 3, 12), id="new-year"),
    # Clocks go forward on Sunday 8 March 2026: office hours stay 09:00-17:00 local.
    pytest.param(eastern(2026, 3, 6, 16), ROUTINE, eastern(2026, 3, 9, 16), id="dst-starts"),
    # Sent from Guam on Saturday morning, its time: Friday 17:30 in the office (closed).
    pytest.param(
        datetime(2026, 11, 21, 8, 30, tzinfo=GUAM),
        ROUTINE,
        eastern(2026, 11, 23, 17),
        id="from-guam",
    ),
]


@pytest.mark.parametrize(("submitted", "urgency", "due"), DUE)
def test_first_contact_is_due_after_business_hours(submitted, urgency, due):
    assert first_contact_due(submitted_at=submitted, urgency=urgency) == due


def test_the_due_time_follows_the_settings(settings):
    settings.RST_FIRST_CONTACT_BUSINESS_HOURS = 16
    settings.RST_URGENT_FIRST_CONTACT_BUSINESS_HOURS = 2
    friday = eastern(2026, 11, 20, 16)
    assert first_contact_due(submitted_at=friday, urgency=ROUTINE) == eastern(2026, 11, 24, 16)
    assert first_contact_due(submitted_at=friday, urgency=URGENT) == eastern(2026, 11, 23, 10)


def test_the_office_hours_follow_the_settings(settings, monkeypatch):
    freeze(monkeypatch, eastern(2026, 11, 24, 12))  # the office's zone is on standard time
    settings.RST_OFFICE_OPENS, settings.RST_OFFICE_CLOSES = "08:30", "16:30"
    friday = eastern(2026, 11, 20, 16, 30)
    assert first_contact_due(submitted_at=friday, urgency=ROUTINE) == eastern(2026, 11, 23, 16, 30)
    assert is_office_open(eastern(2026, 11, 23, 8, 30))
    assert not is_office_open(eastern(2026, 11, 23, 16, 30))
    assert office_hours_text().startswith("8:30 AM to 4:30 PM EST")


# The calendar's pieces.

WORKING_DAYS = [
    (date(2026, 11, 24), True, None),
    (date(2026, 11, 26), False, "Thanksgiving Day"),
    (date(2026, 11, 27), True, None),  # the day after Thanksgiving is no federal holiday
    (date(2026, 11, 28), False, None),  # Saturday
    (date(2026, 11, 29), False, None),  # Sunday
    (date(2026, 7, 3), False, "Independence Day (observed)"),
    (date(2026, 6, 19), False, "Juneteenth National Independence Day"),
    (date(2026, 11, 11), False, "Veterans Day"),
]


@pytest.mark.parametrize(("day", "working", "holiday"), WORKING_DAYS)
def test_working_days_skip_weekends_and_federal_holidays(day, working, holiday):
    assert is_working_day(day) is working
    assert federal_holiday(day) == holiday


OPEN = [
    (eastern(2026, 11, 24, 8, 59), False, eastern(2026, 11, 24, 9)),
    (eastern(2026, 11, 24, 9), True, eastern(2026, 11, 24, 9)),
    (eastern(2026, 11, 24, 16, 59), True, eastern(2026, 11, 24, 16, 59)),
    (eastern(2026, 11, 24, 17), False, eastern(2026, 11, 25, 9)),
    (eastern(2026, 11, 25, 23), False, eastern(2026, 11, 27, 9)),  # Thanksgiving next
    (eastern(2026, 11, 27, 17, 30), False, eastern(2026, 11, 30, 9)),  # Friday evening
    (eastern(2026, 11, 28, 12), False, eastern(2026, 11, 30, 9)),  # Saturday
    # 23:00 in New York is 14:00 the next day in Guam: the office's clock decides.
    (eastern(2026, 11, 24, 23), False, eastern(2026, 11, 25, 9)),
]


@pytest.mark.parametrize(("at", "is_open", "starts"), OPEN)
def test_the_clock_starts_when_the_office_next_opens(at, is_open, starts):
    assert is_office_open(at) is is_open
    assert clock_starts(at) == starts
    closed = after_hours(at)
    if is_open:
        assert closed is None
    else:
        assert closed.back_at == starts
        assert closed.routine_due == first_contact_due(submitted_at=at, urgency=ROUTINE)
        assert closed.urgent_due == first_contact_due(submitted_at=at, urgency=URGENT)


def test_adding_no_business_hours_outside_office_hours_waits_for_the_opening():
    assert add_business_hours(eastern(2026, 11, 28, 12), 0) == eastern(2026, 11, 30, 9)
    assert add_business_hours(eastern(2026, 11, 24, 11), 0.5) == eastern(2026, 11, 24, 11, 30)


BETWEEN = [
    (eastern(2026, 11, 24, 10), eastern(2026, 11, 24, 13), 3),
    (eastern(2026, 11, 20, 16), eastern(2026, 11, 23, 10), 2),  # over a weekend
    (eastern(2026, 11, 25, 16), eastern(2026, 11, 27, 10), 2),  # over Thanksgiving
    (eastern(2026, 11, 21, 1), eastern(2026, 11, 22, 23), 0),  # a whole weekend
    (eastern(2026, 11, 23, 9), eastern(2026, 11, 30, 9), 32),  # Mon-Fri, Thanksgiving off
    (eastern(2026, 11, 24, 12, 30), eastern(2026, 11, 24, 12, 45), 0.25),
    (eastern(2026, 11, 24, 13), eastern(2026, 11, 24, 10), -3),  # the other way round
]


@pytest.mark.parametrize(("start", "end", "hours"), BETWEEN)
def test_business_hours_between(start, end, hours):
    assert business_hours_between(start, end) == pytest.approx(hours)


def test_business_hours_between_undoes_adding_them():
    start = eastern(2026, 11, 24, 15, 20)
    for hours in (0.5, 4, 8, 13.25, 40):
        assert business_hours_between(start, add_business_hours(start, hours)) == pytest.approx(
            hours
        )


# How much time is left, in a queue's words.

TIME_LEFT = [
    (eastern(2026, 11, 24, 10), eastern(2026, 11, 24, 13), "due in 3 h"),
    (eastern(2026, 11, 24, 12, 30), eastern(2026, 11, 24, 13), "due in 30 min"),
    (datetime(2026, 11, 24, 12, 59, 30, tzinfo=EASTERN), eastern(2026, 11, 24, 13), "due in 1 min"),
    (eastern(2026, 11, 20, 16), eastern(2026, 11, 23, 10), "due in 2 h"),  # the weekend is free
    (eastern(2026, 11, 23, 9), eastern(2026, 11, 24, 17), "due in 2 days"),
    (eastern(2026, 11, 24, 14), eastern(2026, 11, 24, 13), "overdue by 1 h"),
    (eastern(2026, 11, 24, 13, 20), eastern(2026, 11, 24, 13), "overdue by 20 min"),
    (eastern(2026, 11, 25, 17), eastern(2026, 11, 24, 17), "overdue by 1 day"),
    (eastern(2026, 11, 27, 17), eastern(2026, 11, 24, 17), "overdue by 2 days"),  # Thanksgiving
    (eastern(2026, 11, 24, 14, 30), eastern(2026, 11, 24, 13), "overdue by 2 h"),  # 1.5 h
    # Past due in the evening: no business time has gone by since.
    (eastern(2026, 11, 24, 20), eastern(2026, 11, 24, 17), "overdue"),
    # Due at night (a due time from before business time), seen in the evening.
    (eastern(2026, 11, 24, 20), eastern(2026, 11, 24, 23), "due before the office opens"),
]


@pytest.mark.parametrize(("now", "due", "words"), TIME_LEFT)
def test_time_left_in_words(now, due, words):
    assert time_left(due, now=now) == words


# The promise, in words, from the settings.

PROMISES = [
    (8, 4, "within one business day", "within 4 business hours"),
    (16, 1, "within 2 business days", "within 1 business hour"),
    (12, 2.5, "within 12 business hours", "within 2.5 business hours"),
]


@pytest.mark.parametrize(("routine", "urgent", "routine_words", "urgent_words"), PROMISES)
def test_the_promise_is_worded_from_the_settings(
    settings, routine, urgent, routine_words, urgent_words
):
    settings.RST_FIRST_CONTACT_BUSINESS_HOURS = routine
    settings.RST_URGENT_FIRST_CONTACT_BUSINESS_HOURS = urgent
    assert first_contact_promise(ROUTINE) == routine_words
    assert first_contact_promise(URGENT) == urgent_words


def test_a_business_day_is_the_office_day(settings):
    settings.RST_OFFICE_OPENS, settings.RST_OFFICE_CLOSES = "08:00", "18:00"
    assert business_duration(10) == "one business day"
    assert business_duration(8) == "8 business hours"


# Times in the reader's zone, with its abbreviation.

IN_ZONES = [
    # Friday 20 November 2026, 17:00 in the office.
    (eastern(2026, 11, 20, 17), EASTERN, "Friday 20 November at 5:00 PM EST"),
    (eastern(2026, 11, 20, 17), CENTRAL, "Friday 20 November at 4:00 PM CST"),
    (eastern(2026, 11, 20, 17), PUERTO_RICO, "Friday 20 November at 6:00 PM AST"),
    (eastern(2026, 11, 20, 17), GUAM, "Saturday 21 November at 8:00 AM ChST"),
    # Monday 9:00 in the office is already Tuesday in Guam.
    (eastern(2026, 11, 23, 9), GUAM, "Tuesday 24 November at 12:00 AM ChST"),
    # Summer: the office is on daylight time, Puerto Rico never is.
    (eastern(2026, 7, 6, 16), EASTERN, "Monday 6 July at 4:00 PM EDT"),
    (eastern(2026, 7, 6, 16), PUERTO_RICO, "Monday 6 July at 4:00 PM AST"),
]


@pytest.mark.parametrize(("at", "zone", "text"), IN_ZONES)
def test_times_are_shown_in_the_readers_zone(at, zone, text):
    assert local_time_text(at, zone=zone) == text


def test_a_guam_and_a_puerto_rico_submission_are_due_in_their_own_words():
    """Sent on Saturday morning in Guam / Friday evening in San Juan: both wait for Monday."""
    from_guam = datetime(2026, 11, 21, 10, 0, tzinfo=GUAM)  # Friday 19:00 in the office
    from_san_juan = datetime(2026, 11, 20, 20, 0, tzinfo=PUERTO_RICO)  # Friday 19:00 too
    for sent, zone, back, due in [
        (
            from_guam,
            GUAM,
            "Tuesday 24 November at 12:00 AM ChST",
            "Tuesday 24 November at 8:00 AM ChST",
        ),
        (
            from_san_juan,
            PUERTO_RICO,
            "Monday 23 November at 10:00 AM AST",
            "Monday 23 November at 6:00 PM AST",
        ),
    ]:
        closed = after_hours(sent)
        assert local_time_text(closed.back_at, zone=zone) == back
        assert local_time_text(closed.routine_due, zone=zone) == due


def _business_hours_day_by_day(start, end):
    """The definition, walked one day at a time: the reference for the arithmetic."""
    if end < start:
        return -_business_hours_day_by_day(end, start)
    zone = deadlines.office_zone()
    start, end = start.astimezone(zone), end.astimezone(zone)
    total, day = timedelta(), start.date()
    while day <= end.date():
        if deadlines.is_working_day(day):
            opens = datetime.combine(day, time(9), tzinfo=zone)
            closes = datetime.combine(day, time(17), tzinfo=zone)
            total += max(timedelta(), min(closes, end) - max(opens, start))
        day += timedelta(days=1)
    return total.total_seconds() / 3600


def test_business_hours_between_long_spans_match_the_day_by_day_definition():
    """Months overdue are counted by arithmetic (fast), and agree with walking the days."""
    rng = random.Random(11)
    origin = datetime(2025, 1, 1, tzinfo=UTC)
    for _ in range(500):
        start = origin + timedelta(minutes=rng.randrange(60 * 24 * 800))
        end = origin + timedelta(minutes=rng.randrange(60 * 24 * 800))
        assert deadlines.business_hours_between(start, end) == pytest.approx(
            _business_hours_day_by_day(start, end)
        )
