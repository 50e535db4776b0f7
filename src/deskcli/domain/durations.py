"""One way to write a length of time, for every command, screen and config file.

Before this module there were four parsers, and ``m`` meant minutes in one and months in
another: ``--since 6m`` searched six months back while ``log-time 6m`` logged six
minutes. Now every duration and every age goes through ``parse_duration`` with one unit
table. ``m`` is minutes everywhere; months are ``mo``.

Accepted forms: a number and a unit (``90m``, ``1.5h``, ``3d``), several of them
(``1h15m``, ``1d 12h``), hours and minutes on a clock (``1:15``), and, where the caller
allows it, a bare number in a default unit (``45`` minutes for a time entry).
"""

from __future__ import annotations

import re
from datetime import timedelta

from deskcli.domain.patterns import lazy

from .errors import InvalidInput

#: Every unit and the words that name it. A month is 30 days and a year 365: an age like
#: ``6mo`` is a rough window back in time, not a calendar computation.
_UNITS: dict[str, tuple[str, timedelta]] = {}
for _names, _span in (
        (("s", "sec", "secs", "second", "seconds"), timedelta(seconds=1)),
        (("m", "min", "mins", "minute", "minutes"), timedelta(minutes=1)),
        (("h", "hr", "hrs", "hour", "hours"), timedelta(hours=1)),
        (("d", "day", "days"), timedelta(days=1)),
        (("w", "wk", "wks", "week", "weeks"), timedelta(weeks=1)),
        (("mo", "month", "months"), timedelta(days=30)),
        (("y", "yr", "yrs", "year", "years"), timedelta(days=365))):
    for _name in _names:
        _UNITS[_name] = (_names[0], _span)

_WORDS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks",
          "mo": "months", "y": "years"}

#: The units as help text and error messages name them.
UNITS_HELP = ("s (seconds), m (minutes), h (hours), d (days), w (weeks), "
              "mo (months of 30 days), y (years of 365 days)")

_PART = lazy(r"(\d{1,9}(?:\.\d{1,6})?)\s*([a-z]+)\s*", re.IGNORECASE)
_CLOCK = lazy(r"(\d{1,6}):([0-5]\d)")
_BARE = lazy(r"\d{1,9}(?:\.\d{1,6})?")


def parse_duration(text: str, *, what: str = "", bare_unit: str | None = "m",
                   minimum: timedelta | None = None) -> timedelta:
    """``text`` as a length of time, or ``InvalidInput`` naming what is accepted.

    ``what`` names the value in the message (``--since``). ``bare_unit`` is the unit of a
    number written alone (``45``); ``None`` refuses a bare number, for ages, where a
    missing unit is more likely a slip than a choice. ``minimum`` refuses anything
    shorter, saying so; for an age it also catches ``6m`` written in the old sense of six
    months (the message points at ``mo``).
    """
    raw = text.strip() if isinstance(text, str) else ""
    named = f"{what} " if what else ""
    span = _parse(raw, bare_unit)
    if span is None:
        bare = f"; a number alone means {_WORDS[_UNITS[bare_unit][0]]}" if bare_unit else ""
        raise InvalidInput(
            f"{named}{text!r} is not a duration: write a number and a unit, {UNITS_HELP}, "
            f"e.g. 90m, 1h15m, 1.5h, 1:15 or 3d{bare}", field=what or "duration")
    if minimum is not None:
        at_least(span, text, minimum, what=what)
    return span


def at_least(span: timedelta, text: str, minimum: timedelta, *, what: str = "") -> None:
    """Refuse ``span`` (parsed from ``text``) if shorter than ``minimum``, saying so; a
    trailing ``m`` gets a reminder that months are ``mo``."""
    if span >= minimum:
        return
    hint = ""
    raw = text.strip()
    if re.search(r"\d\s*m$", raw, re.IGNORECASE):
        hint = f" (m is minutes; for months write {raw[:-1].strip()}mo)"
    named = f"{what} " if what else ""
    raise InvalidInput(f"{named}{text!r} is less than {describe(minimum)}{hint}",
                       field=what or "duration")


def _parse(raw: str, bare_unit: str | None) -> timedelta | None:
    try:
        if _BARE.fullmatch(raw):
            return float(raw) * _UNITS[bare_unit][1] if bare_unit else None
        if clock := _CLOCK.fullmatch(raw):
            return timedelta(hours=int(clock[1]), minutes=int(clock[2]))
        total = timedelta(0)
        seen: set[str] = set()
        position = 0
        while position < len(raw):
            part = _PART.match(raw, position)
            if part is None:
                return None
            unit = _UNITS.get(part[2].lower())
            if unit is None or unit[0] in seen:
                return None
            seen.add(unit[0])
            total += float(part[1]) * unit[1]
            position = part.end()
        return total if seen else None
    except OverflowError:
        return None


def describe(span: timedelta) -> str:
    """A span in the largest unit that divides it exactly: ``1h``, ``90m``, ``3d``."""
    seconds = int(span.total_seconds())
    for name, size in (("y", 365 * 86400), ("w", 7 * 86400), ("d", 86400), ("h", 3600),
                       ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{name}"
    return f"{seconds}s"
