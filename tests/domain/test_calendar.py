"""Business hours by the local clock: edges, DST in Europe and the US, week-ends,
holidays, a shift over midnight, and the config format's refusals."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deskcli.domain.calendar import BusinessCalendar, parse_calendar, parse_shift_text
from deskcli.domain.errors import InvalidInput

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")


def office(zone: str = "Europe/London", **extra: object) -> BusinessCalendar:
    return parse_calendar({"timezone": zone, "hours": {"mon-fri": "09:00-17:00"}, **extra},
                          "calendar")


def local(zone: ZoneInfo, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=zone, fold=fold)  # type: ignore[misc, arg-type]


def test_business_hours_edges() -> None:
    cal = office()
    # Wednesday 2026-06-03, British Summer Time (UTC+1)
    assert not cal.is_open(local(LONDON, 2026, 6, 3, 8, 59, 59))
    assert cal.is_open(local(LONDON, 2026, 6, 3, 9, 0))
    assert cal.is_open(local(LONDON, 2026, 6, 3, 16, 59, 59))
    assert not cal.is_open(local(LONDON, 2026, 6, 3, 17, 0))
    # The same instants given in UTC: the local clock decides, not UTC's.
    assert cal.is_open(datetime(2026, 6, 3, 8, 0, tzinfo=UTC))
    assert not cal.is_open(datetime(2026, 6, 3, 7, 59, tzinfo=UTC))
    assert not cal.is_open(datetime(2026, 6, 3, 16, 0, tzinfo=UTC))


def test_week_ends_are_closed_unless_configured() -> None:
    cal = office()
    saturday = local(LONDON, 2026, 6, 6, 12, 0)
    sunday = local(LONDON, 2026, 6, 7, 12, 0)
    assert not cal.is_open(saturday) and not cal.is_open(sunday)
    weekend = parse_calendar({"timezone": "Europe/London",
                              "hours": {"mon-fri": "09:00-17:00", "sat": "10:00-13:00"}},
                             "calendar")
    assert weekend.is_open(saturday)
    assert not weekend.is_open(local(LONDON, 2026, 6, 6, 13, 0))
    assert not weekend.is_open(sunday)


def test_holidays_close_the_whole_day() -> None:
    cal = office(holidays=["2026-12-25"])
    assert not cal.is_open(local(LONDON, 2026, 12, 25, 12, 0))  # a Friday
    assert cal.is_open(local(LONDON, 2026, 12, 24, 12, 0))
    assert cal.next_open(local(LONDON, 2026, 12, 24, 17, 0)) == local(LONDON, 2026, 12, 28, 9, 0)


@pytest.mark.parametrize(("zone", "day"), [
    (LONDON, date(2026, 3, 29)),     # Europe springs forward on the last Sunday of March
    (NEW_YORK, date(2026, 3, 8)),    # the US on the second Sunday of March
])
def test_spring_forward_day_keeps_local_hours(zone: ZoneInfo, day: date) -> None:
    cal = parse_calendar({"timezone": zone.key, "hours": {"mon-sun": "09:00-17:00"}},
                         "calendar")
    nine = datetime.combine(day, datetime.min.time()).replace(hour=9, tzinfo=zone)
    assert not cal.is_open(nine - timedelta(seconds=1))
    assert cal.is_open(nine)
    assert cal.is_open(nine.replace(hour=16, minute=59))
    assert not cal.is_open(nine.replace(hour=17))
    # The day is an hour shorter, so the open hours are 8 real hours all the same.
    assert (nine.replace(hour=17).astimezone(UTC) - nine.astimezone(UTC)) == timedelta(hours=8)


@pytest.mark.parametrize(("zone", "day"), [
    (LONDON, date(2026, 10, 25)),
    (NEW_YORK, date(2026, 11, 1)),
])
def test_fall_back_day_keeps_local_hours(zone: ZoneInfo, day: date) -> None:
    cal = parse_calendar({"timezone": zone.key, "hours": {"mon-sun": "09:00-17:00"}},
                         "calendar")
    nine = datetime.combine(day, datetime.min.time()).replace(hour=9, tzinfo=zone)
    assert cal.is_open(nine) and not cal.is_open(nine - timedelta(minutes=1))
    assert not cal.is_open(nine.replace(hour=17))
    # Instants an hour apart in UTC that both read 01:30 locally: both closed here.
    first = datetime.combine(day, datetime.min.time()).replace(hour=1, minute=30, tzinfo=zone)
    assert first.astimezone(UTC) != first.replace(fold=1).astimezone(UTC)
    assert not cal.is_open(first) and not cal.is_open(first.replace(fold=1))


def test_hours_inside_the_spring_gap_open_when_the_clocks_jump() -> None:
    """A night shift starting at 01:30 on the night 01:00-02:00 does not exist opens at
    the jump (02:00 BST), and is open from then on."""
    cal = parse_calendar({"timezone": "Europe/London", "hours": {"sun": "01:30-05:00"}},
                         "calendar")
    saturday_night = datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
    opens = cal.next_open(saturday_night)
    assert opens.astimezone(UTC) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert cal.is_open(opens)
    assert not cal.is_open(opens.astimezone(UTC) - timedelta(seconds=1))


def test_shift_over_midnight_belongs_to_the_day_it_starts() -> None:
    night = parse_calendar({"timezone": "America/New_York",
                            "hours": {"mon-fri": "22:00-06:00"},
                            "holidays": ["2026-07-03"]}, "shift")
    assert night.is_open(local(NEW_YORK, 2026, 6, 1, 22, 0))         # Monday 22:00
    assert night.is_open(local(NEW_YORK, 2026, 6, 2, 5, 59))         # into Tuesday
    assert not night.is_open(local(NEW_YORK, 2026, 6, 2, 6, 0))
    assert not night.is_open(local(NEW_YORK, 2026, 6, 1, 5, 0))      # Sunday night: off
    assert night.is_open(local(NEW_YORK, 2026, 6, 6, 3, 0))          # Friday's night, Sat
    assert not night.is_open(local(NEW_YORK, 2026, 6, 6, 22, 0))     # Saturday: off
    # Friday 3 July is a holiday: its night is off, Thursday's night still runs into it.
    assert night.is_open(local(NEW_YORK, 2026, 7, 3, 2, 0))
    assert not night.is_open(local(NEW_YORK, 2026, 7, 3, 23, 0))
    assert not night.is_open(local(NEW_YORK, 2026, 7, 4, 2, 0))


def test_several_ranges_a_day_and_whole_day() -> None:
    cal = parse_calendar({"timezone": "UTC", "hours": {
        "mon": "08:00-12:00, 13:00-17:00", "tue": ["08:00-12:00", "13:00-17:00"],
        "wed": "00:00-24:00"}}, "calendar")
    assert cal.is_open(datetime(2026, 6, 1, 11, 59, tzinfo=UTC))
    assert not cal.is_open(datetime(2026, 6, 1, 12, 30, tzinfo=UTC))
    assert cal.is_open(datetime(2026, 6, 2, 13, 0, tzinfo=UTC))
    assert cal.is_open(datetime(2026, 6, 3, 0, 0, tzinfo=UTC))
    assert cal.is_open(datetime(2026, 6, 3, 23, 59, 59, tzinfo=UTC))
    assert not cal.is_open(datetime(2026, 6, 4, 0, 0, tzinfo=UTC))


def test_always_open_by_default_and_naive_times_refused() -> None:
    cal = BusinessCalendar.always()
    assert cal.always_open and cal.is_open(datetime(2026, 12, 25, 3, 0, tzinfo=UTC))
    with pytest.raises(ValueError, match="aware"):
        office().is_open(datetime(2026, 6, 3, 9, 0))


def test_next_open() -> None:
    cal = office()
    friday_evening = local(LONDON, 2026, 6, 5, 18, 0)
    assert cal.next_open(friday_evening) == local(LONDON, 2026, 6, 8, 9, 0)
    inside = local(LONDON, 2026, 6, 5, 10, 0)
    assert cal.next_open(inside) == inside


def test_round_trip_through_mapping_and_one_line_form() -> None:
    cal = parse_calendar({"timezone": "Europe/Paris", "hours": {
        "mon-thu": "08:00-12:00, 13:00-17:00", "fri": "22:00-06:00"},
        "holidays": ["2026-05-01"]}, "calendar")
    assert parse_calendar(cal.to_mapping(), "x") == cal
    same = parse_shift_text("Europe/Paris mon-thu=08:00-12:00,13:00-17:00 fri=22:00-06:00")
    assert same.hours == cal.hours
    assert cal.describe().startswith("Europe/Paris mon-thu=08:00-12:00,13:00-17:00 fri=")


@pytest.mark.parametrize(("table", "message"), [
    ({"hours": {"mon": "09:00-17:00"}}, "calendar.timezone is required"),
    ({"timezone": "Mars/Olympus", "hours": {"mon": "09:00-17:00"}}, "unknown time zone"),
    ({"timezone": "UTC"}, "calendar.hours is required"),
    ({"timezone": "UTC", "hours": {"monday": "09:00-17:00"}}, "'monday' is not a day"),
    ({"timezone": "UTC", "hours": {"mon": "9-5"}}, "calendar.hours.mon: '9-5' is not a time"),
    ({"timezone": "UTC", "hours": {"mon": "09:00-25:00"}}, "does not exist"),
    ({"timezone": "UTC", "hours": {"mon": "09:60-10:00"}}, "does not exist"),
    ({"timezone": "UTC", "hours": {"mon": "09:00-09:00"}}, "same time"),
    ({"timezone": "UTC", "hours": {"mon": "09:00-12:00, 11:00-13:00"}}, "overlap"),
    ({"timezone": "UTC", "hours": {"mon-fri": "09:00-17:00", "wed": "10:00-11:00"}},
     "Wednesday is given twice"),
    ({"timezone": "UTC", "hours": {"mon": "closed"}}, "every day is closed"),
    ({"timezone": "UTC", "hours": {"mon": "09:00-17:00"}, "holidays": ["25/12/2026"]},
     "'25/12/2026' is not a date"),
    ({"timezone": "UTC", "hours": {"mon": "09:00-17:00"}, "holidays": "2026-12-25"},
     "must be a list of dates"),
    ({"timezone": "UTC", "hours": {"mon": "09:00-17:00"}, "holiday": []},
     "unknown setting 'holiday'"),
    ("weekdays", "calendar must be a table"),
])
def test_bad_calendars_are_named(table: object, message: str) -> None:
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(")):
        parse_calendar(table, "calendar")


_ZONES = st.sampled_from(["Europe/London", "America/New_York", "Australia/Sydney",
                          "Asia/Kolkata", "UTC", "America/Sao_Paulo"])


@settings(max_examples=200, deadline=None)
@given(zone=_ZONES, start=st.integers(0, 23 * 60), length=st.integers(1, 16 * 60),
       instant=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 1, 1),
                            timezones=st.just(UTC)))
def test_open_exactly_when_the_local_clock_is_inside(zone: str, start: int, length: int,
                                                     instant: datetime) -> None:
    """Against a plain restatement of the rule: open iff the local wall time is in the
    range that started today, or in the overnight part of yesterday's."""
    end = (start + length) % (24 * 60)
    text = f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"
    if end == 0:
        text = f"{start // 60:02d}:{start % 60:02d}-24:00"
    cal = parse_calendar({"timezone": zone, "hours": {"mon-sun": text}}, "calendar")
    wall = instant.astimezone(cal.zone)
    minute = wall.hour * 60 + wall.minute + wall.second / 60 + wall.microsecond / 6e7
    if start + length <= 24 * 60:
        expected = start <= minute < start + length
    else:
        expected = minute >= start or minute < end
    assert cal.is_open(instant) == expected


@settings(max_examples=100, deadline=None)
@given(zone=_ZONES, instant=st.datetimes(min_value=datetime(2025, 1, 1),
                                         max_value=datetime(2028, 1, 1),
                                         timezones=st.just(UTC)))
def test_next_open_is_open_and_nothing_before_it_is(zone: str, instant: datetime) -> None:
    cal = parse_calendar({"timezone": zone, "hours": {"mon-fri": "09:00-17:00",
                                                      "sat": "01:30-02:30"}}, "calendar")
    opens = cal.next_open(instant)
    assert opens >= instant and cal.is_open(opens)
    if opens > instant:
        assert not cal.is_open(opens.astimezone(UTC) - timedelta(seconds=1))
