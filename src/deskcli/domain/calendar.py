"""Business hours: when the desk (or one technician's shift) is open.

A calendar is wall-clock hours per weekday in an IANA time zone, plus holidays by date.
Hours are compared with the *local* clock, so a 09:00-17:00 day is 09:00-17:00 on the
day the clocks change too (the day is an hour shorter or longer in absolute time, as it
is for the people working it). A range whose end is not after its start runs over
midnight ("22:00-06:00"): the part after midnight belongs to the day the range started,
so a holiday closes the whole night that starts on it and none of the night before.

The ``[calendar]`` table of config.toml and each technician's ``shift`` are parsed here
(``parse_calendar``); the format is documented in docs/rules.md ("Calendar and
technicians"). Pure: no I/O beyond the time-zone database that ``zoneinfo`` reads.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import InvalidInput
from .validation import known_table

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_LABEL = dict(zip(DAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
                             "Saturday", "Sunday"), strict=True))
_RANGE = re.compile(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})")
_KEYS = frozenset({"timezone", "hours", "holidays"})
_FULL_DAY = 24 * 60
#: How far ``next_open`` looks ahead beyond the holidays it may have to skip.
_SEARCH_DAYS = 8


@dataclass(frozen=True, order=True)
class Span:
    """Open from ``start`` to ``end`` minutes after local midnight. ``end`` may be 1440
    (24:00); ``end <= start`` means the span runs over midnight into the next day."""

    start: int
    end: int

    @property
    def overnight(self) -> bool:
        return self.end <= self.start

    def __str__(self) -> str:
        return f"{_hhmm(self.start)}-{_hhmm(self.end)}"


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True)
class BusinessCalendar:
    """Weekly hours in one time zone, with holidays. ``hours`` is None for a calendar
    that is always open (what deskcli uses when no ``[calendar]`` is configured)."""

    timezone: str = "UTC"
    #: Seven tuples of spans, Monday first; None: open around the clock, every day.
    hours: tuple[tuple[Span, ...], ...] | None = None
    holidays: frozenset[date] = field(default_factory=frozenset)

    @classmethod
    def always(cls) -> BusinessCalendar:
        """Open every minute of every day: the default when nothing is configured."""
        return cls()

    @property
    def always_open(self) -> bool:
        return self.hours is None

    @cached_property
    def zone(self) -> tzinfo:
        return UTC if self.timezone == "UTC" else ZoneInfo(self.timezone)

    def is_open(self, at: datetime) -> bool:
        """True when ``at`` (an aware datetime) falls in the hours, by the local clock."""
        local = self._local(at)
        if self.hours is None:
            return True
        day = local.date()
        minute = local.hour * 60 + local.minute + (local.second + local.microsecond / 1e6) / 60
        if day not in self.holidays:
            for span in self.hours[day.weekday()]:
                end = _FULL_DAY if span.overnight else span.end
                if span.start <= minute < end:
                    return True
        before = day - timedelta(days=1)
        if before not in self.holidays:
            for span in self.hours[before.weekday()]:
                if span.overnight and minute < span.end:
                    return True
        return False

    def next_open(self, at: datetime) -> datetime:
        """``at`` itself when open, else the first moment after it when the calendar
        opens (in the calendar's zone). A calendar with no open hour at all never opens:
        ``ValueError`` (configuration refuses such a calendar)."""
        if self.is_open(at):
            return at.astimezone(self.zone)
        if self.hours is None:  # pragma: no cover - always open is handled above
            return at
        local = self._local(at)
        first = local.date() - timedelta(days=1)
        for offset in range(_SEARCH_DAYS + len(self.holidays)):
            day = first + timedelta(days=offset)
            if day in self.holidays:
                continue
            for span in sorted(self.hours[day.weekday()]):
                start = self._first_instant(day, span.start)
                if start > at:
                    return start.astimezone(self.zone)
        raise ValueError("this calendar is never open")

    def to_mapping(self) -> dict[str, Any]:
        """The calendar as config would write it (``parse_calendar`` reads it back):
        how the team server stores a technician's shift."""
        if self.hours is None:
            return {"timezone": self.timezone, "hours": "always"}
        hours = {day: ", ".join(str(s) for s in spans) or "closed"
                 for day, spans in zip(DAYS, self.hours, strict=True)}
        return {"timezone": self.timezone, "hours": hours,
                "holidays": sorted(d.isoformat() for d in self.holidays)}

    def describe(self) -> str:
        """One line for listings: ``Europe/London mon=09:00-17:00 ... sat=closed``."""
        if self.hours is None:
            return "always"
        parts: list[str] = []
        index = 0
        while index < 7:  # runs of days with the same hours: mon-fri=09:00-17:00
            spans = self.hours[index]
            end = index
            while end + 1 < 7 and self.hours[end + 1] == spans:
                end += 1
            if spans:
                days = DAYS[index] if end == index else f"{DAYS[index]}-{DAYS[end]}"
                parts.append(f"{days}={','.join(str(s) for s in spans)}")
            index = end + 1
        text = " ".join([self.timezone, *parts])
        return text + (f" (+{len(self.holidays)} holidays)" if self.holidays else "")

    # --- helpers ------------------------------------------------------------------------

    def _local(self, at: datetime) -> datetime:
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError("business hours need an aware datetime (with its time zone)")
        return at.astimezone(self.zone)

    def _first_instant(self, day: date, minute: int) -> datetime:
        """The first instant whose local wall-clock time on ``day`` is at least ``minute``.

        Usually that wall time itself; when the clocks jump over it (spring forward), the
        moment of the jump, found by bisection between the two readings of the gap."""
        wall = datetime.combine(day, time()) + timedelta(minutes=minute)
        early = wall.replace(tzinfo=self.zone, fold=0).astimezone(UTC)
        late = wall.replace(tzinfo=self.zone, fold=1).astimezone(UTC)
        if early <= late:  # no gap (an ambiguous hour takes its first reading)
            return min(early, late)
        # In a gap, fold=1 reads the wall time before the jump and fold=0 after it: the
        # jump lies between, to the second (zone transitions fall on whole seconds).
        low, high = int(late.timestamp()), int(early.timestamp())
        while high - low > 1:
            middle = (low + high) // 2
            reading = datetime.fromtimestamp(middle, UTC).astimezone(self.zone)
            if reading.replace(tzinfo=None) >= wall:
                high = middle
            else:
                low = middle
        return datetime.fromtimestamp(high, UTC)


# --- parsing ------------------------------------------------------------------------------


def parse_calendar(data: Any, where: str, *, default_timezone: str | None = None,
                   default_holidays: frozenset[date] = frozenset()) -> BusinessCalendar:
    """A calendar from its config table (``[calendar]`` or a shift).

    ``where`` names the table in messages (``calendar``, ``technicians.alice.shift``).
    ``timezone`` is required unless ``default_timezone`` is given (a shift falls back to
    the desk calendar's zone); days not named in ``hours`` are closed.
    """
    table = known_table(data, where, _KEYS)
    zone_name = table.get("timezone", default_timezone)
    if zone_name is None:
        raise InvalidInput(f"{where}.timezone is required: an IANA time zone such as "
                           "\"Europe/London\" or \"America/New_York\"")
    zone_name = check_timezone(zone_name, f"{where}.timezone")
    if "hours" not in table:
        raise InvalidInput(f"{where}.hours is required, e.g. hours = "
                           "{ mon-fri = \"09:00-17:00\" } (days not named are closed)")
    raw_hours = table["hours"]
    if raw_hours == "always":
        hours = None
    else:
        hours = parse_hours(raw_hours, f"{where}.hours")
    holidays = (parse_holidays(table["holidays"], f"{where}.holidays")
                if "holidays" in table else default_holidays)
    return BusinessCalendar(timezone=zone_name, hours=hours, holidays=holidays)


def check_timezone(value: Any, where: str) -> str:
    """An IANA zone name that this machine's time-zone database knows."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{where} must be an IANA time zone name such as "
                           "\"Europe/London\"")
    name = value.strip()
    if name == "UTC":
        return name
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"{where}: unknown time zone {name!r}; use an IANA name such as "
                           "\"Europe/London\", \"America/New_York\" or \"UTC\"") from None
    return name


def parse_hours(data: Any, where: str) -> tuple[tuple[Span, ...], ...]:
    """``{ mon-fri = "09:00-17:00", sat = "10:00-13:00" }``: days or day ranges to one or
    more time ranges ("08:00-12:00, 13:00-17:00", or a list of them) or "closed"."""
    if not isinstance(data, Mapping):
        raise InvalidInput(f"{where} must be a table of days, e.g. "
                           "{ mon-fri = \"09:00-17:00\", sat = \"closed\" }")
    spans: list[tuple[Span, ...] | None] = [None] * 7
    named_by: dict[int, str] = {}
    for key, value in data.items():
        for index in _days(str(key), where):
            if index in named_by:
                raise InvalidInput(f"{where}: {_DAY_LABEL[DAYS[index]]} is given twice "
                                   f"({named_by[index]!r} and {key!r})")
            named_by[index] = str(key)
            spans[index] = _ranges(value, f"{where}.{key}")
    week = tuple(s or () for s in spans)
    if not any(week):
        raise InvalidInput(f"{where}: every day is closed; give at least one day's hours")
    return week


def _days(key: str, where: str) -> list[int]:
    names = key.strip().lower().split("-")
    if len(names) not in (1, 2) or any(n not in DAYS for n in names):
        raise InvalidInput(f"{where}: {key!r} is not a day; use mon, tue, wed, thu, fri, "
                           "sat, sun or a range such as mon-fri")
    first, last = DAYS.index(names[0]), DAYS.index(names[-1])
    return [(first + n) % 7 for n in range((last - first) % 7 + 1)]


def _ranges(value: Any, where: str) -> tuple[Span, ...]:
    parts: list[Any]
    if isinstance(value, list):
        parts = value
    elif isinstance(value, str):
        parts = [p for p in value.split(",") if p.strip()] or [value]
    else:
        parts = [value]
    spans: list[Span] = []
    for part in parts:
        text = part.strip().lower() if isinstance(part, str) else None
        if text == "closed" and len(parts) == 1:
            return ()
        match = _RANGE.fullmatch(text or "")
        if match is None:
            raise InvalidInput(f"{where}: {part!r} is not a time range; write HH:MM-HH:MM "
                               "(\"09:00-17:00\"; \"22:00-06:00\" runs over midnight), several "
                               "separated by commas, or \"closed\"")
        start_h, start_m, end_h, end_m = (int(g) for g in match.groups())
        start, end = start_h * 60 + start_m, end_h * 60 + end_m
        if start_h > 23 or start_m > 59 or end_m > 59 or end > _FULL_DAY:
            raise InvalidInput(f"{where}: {part!r} has a time that does not exist; hours run "
                               "00:00 to 24:00")
        if start == end:
            raise InvalidInput(f"{where}: {part!r} starts and ends at the same time; write "
                               "\"00:00-24:00\" for the whole day")
        spans.append(Span(start, end))
    ordered = sorted(spans)
    for earlier, later in zip(ordered, ordered[1:], strict=False):
        earlier_end = _FULL_DAY if earlier.overnight else earlier.end
        if later.start < earlier_end:
            raise InvalidInput(f"{where}: {earlier} and {later} overlap")
    if sum(1 for s in ordered if s.overnight) > 1:
        raise InvalidInput(f"{where}: only one range a day can run over midnight")
    return tuple(ordered)


def parse_holidays(data: Any, where: str) -> frozenset[date]:
    """A list of ISO dates (``"2026-12-25"``; TOML dates are accepted too)."""
    if not isinstance(data, list):
        raise InvalidInput(f"{where} must be a list of dates, e.g. [\"2026-12-25\"]")
    days: set[date] = set()
    for item in data:
        if isinstance(item, date) and not isinstance(item, datetime):
            days.add(item)
            continue
        try:
            days.add(date.fromisoformat(str(item).strip()))
        except ValueError:
            raise InvalidInput(f"{where}: {item!r} is not a date; write YYYY-MM-DD, e.g. "
                               "\"2026-12-25\"") from None
    return frozenset(days)


def parse_shift_text(text: str, where: str = "--shift", *,
                     default_timezone: str | None = None) -> BusinessCalendar:
    """The one-line form a command takes: ``"Europe/London mon-fri=09:00-17:00
    sat=10:00-13:00"`` (zone first, optional when a default is known; then DAYS=RANGES)."""
    words = text.split()
    if not words:
        raise InvalidInput(f"{where} is empty; write e.g. \"Europe/London "
                           "mon-fri=09:00-17:00\"")
    zone: str | None = default_timezone
    if "=" not in words[0]:
        zone = words.pop(0)
    hours: dict[str, str] = {}
    for word in words:
        day, sep, ranges = word.partition("=")
        if not sep or not ranges:
            raise InvalidInput(f"{where}: {word!r} is not DAYS=HH:MM-HH:MM; write e.g. "
                               "\"Europe/London mon-fri=09:00-17:00 sat=10:00-13:00\"")
        if day in hours:
            raise InvalidInput(f"{where}: {day!r} is given twice")
        hours[day] = ranges
    if not hours:
        raise InvalidInput(f"{where}: give the hours after the time zone, e.g. "
                           "\"Europe/London mon-fri=09:00-17:00\"")
    table: dict[str, Any] = {"hours": hours}
    if zone is not None:
        table["timezone"] = zone
    try:
        return parse_calendar(table, where)
    except InvalidInput as error:  # name the word, not the table it became
        message = error.message.replace(f"{where}.hours.", f"{where}: ")
        raise InvalidInput(message.replace(f"{where}.", f"{where}: ")) from None
