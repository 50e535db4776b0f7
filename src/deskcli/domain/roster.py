"""Technicians, their groups and shifts, and who gets a ticket next.

The roster comes from config.toml for a solo store (``[technicians.HANDLE]``, with
named ``[shifts.NAME]``) and from the technician records on a team server; both build
the same ``Roster``. The pickers are pure: the caller hands them the time, the last
round-robin pick or each technician's open-ticket count, so the same answer comes out
for the same inputs (ties broken by handle) and tests need no database.

Assignment specs, as rules write them (docs/rules.md, "Calendar and technicians"):
a handle (``dana``), ``round-robin:GROUP`` or ``least-loaded:GROUP``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from .calendar import BusinessCalendar, parse_calendar
from .errors import InvalidInput
from .validation import known_table

#: Same rule as the team server's technician handles (``server.auth``).
HANDLE = re.compile(r"[a-z][a-z0-9._-]{1,31}")
GROUP = re.compile(r"[a-z0-9][a-z0-9._-]{0,39}")
_TECH_KEYS = frozenset({"groups", "shift"})

#: Actors whose timeline entries are a rule's work, not a person's: the rules engine
#: records its changes as ``rule:<rule name>`` (or puts ``"rule"`` in the event detail).
RULE_ACTOR_PREFIX = "rule:"


def rule_actor(rule_name: str) -> str:
    """The timeline actor for a change made by the rule ``rule_name``."""
    return f"{RULE_ACTOR_PREFIX}{rule_name}"


def is_rule_actor(actor: str | None) -> bool:
    return bool(actor) and str(actor).startswith(RULE_ACTOR_PREFIX)


@dataclass(frozen=True)
class Technician:
    handle: str
    groups: frozenset[str] = frozenset()
    #: When the technician works; None: no shift configured, always available.
    shift: BusinessCalendar | None = None


def on_shift(tech: Technician, at: datetime) -> bool:
    """True when ``tech`` is working at ``at`` (aware). No shift means always."""
    return tech.shift is None or tech.shift.is_open(at)


@dataclass(frozen=True)
class Roster:
    """The technicians a desk assigns to, in handle order. Iterates ``Technician``s, so
    it can be passed wherever the pickers take an iterable of technicians."""

    technicians: tuple[Technician, ...] = ()
    _by_handle: Mapping[str, Technician] = field(default_factory=dict, repr=False,
                                                 compare=False)

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.technicians, key=lambda t: t.handle))
        object.__setattr__(self, "technicians", ordered)
        object.__setattr__(self, "_by_handle", {t.handle: t for t in ordered})

    def __iter__(self) -> Iterator[Technician]:
        return iter(self.technicians)

    def __len__(self) -> int:
        return len(self.technicians)

    def __contains__(self, handle: object) -> bool:
        return handle in self._by_handle

    def get(self, handle: str) -> Technician | None:
        return self._by_handle.get(handle)

    @property
    def groups(self) -> frozenset[str]:
        return frozenset(g for t in self.technicians for g in t.groups)

    def members(self, group: str) -> tuple[Technician, ...]:
        return tuple(t for t in self.technicians if group in t.groups)


# --- the pickers ------------------------------------------------------------------------


def _available(group: str, roster: Iterable[Technician], at: datetime) -> list[str]:
    return sorted({t.handle for t in roster if group in t.groups and on_shift(t, at)})


def pick_round_robin(group: str, roster: Iterable[Technician], at: datetime,
                     last: str | None) -> str | None:
    """The next technician of ``group`` on shift at ``at`` after ``last``, in handle
    order, wrapping round; None when nobody in the group is on shift.

    ``last`` need not be on shift or still in the group (someone left): the turn goes to
    whoever follows that handle alphabetically, so nobody is skipped or served twice."""
    handles = _available(group, roster, at)
    if not handles:
        return None
    if last is not None:
        for handle in handles:
            if handle > last:
                return handle
    return handles[0]


def pick_least_loaded(group: str, roster: Iterable[Technician], at: datetime,
                      open_counts: Mapping[str, int]) -> str | None:
    """The technician of ``group`` on shift with the fewest open tickets (a handle
    missing from ``open_counts`` has none); ties go to the first handle alphabetically.
    None when nobody in the group is on shift."""
    handles = _available(group, roster, at)
    if not handles:
        return None
    return min(handles, key=lambda h: (open_counts.get(h, 0), h))


# --- assignment specs -------------------------------------------------------------------


class Strategy(StrEnum):
    HANDLE = "handle"
    ROUND_ROBIN = "round-robin"
    LEAST_LOADED = "least-loaded"


@dataclass(frozen=True)
class AssignSpec:
    strategy: Strategy
    #: The handle for ``HANDLE``, else the group.
    target: str


def parse_assign_spec(spec: str) -> AssignSpec:
    """``dana``, ``round-robin:tier2`` or ``least-loaded:tier2`` (checked for form only;
    whether the handle or group exists is the roster's question)."""
    text = str(spec).strip()
    strategy_name, sep, target = text.partition(":")
    if not sep:
        if not HANDLE.fullmatch(text):
            raise InvalidInput(f"assign: {spec!r} is not a technician handle, "
                               "round-robin:GROUP or least-loaded:GROUP")
        return AssignSpec(Strategy.HANDLE, text)
    if strategy_name not in (Strategy.ROUND_ROBIN, Strategy.LEAST_LOADED):
        raise InvalidInput(f"assign: unknown way to assign {strategy_name!r}; use a handle, "
                           "round-robin:GROUP or least-loaded:GROUP")
    target = target.strip()
    if not GROUP.fullmatch(target):
        raise InvalidInput(f"assign: {target!r} is not a group name (lowercase letters, "
                           "digits, '.', '_' or '-')")
    return AssignSpec(Strategy(strategy_name), target)


def check_against(spec: AssignSpec, roster: Roster) -> None:
    """Refuse a spec naming a technician or group the roster does not have."""
    if spec.strategy is Strategy.HANDLE:
        if spec.target not in roster:
            known = ", ".join(t.handle for t in roster) or "none configured"
            raise InvalidInput(f"assign: no technician {spec.target!r} (technicians: "
                               f"{known})")
        return
    if spec.target not in roster.groups:
        known = ", ".join(sorted(roster.groups)) or "none configured"
        raise InvalidInput(f"assign: no group {spec.target!r} (groups: {known})")


# --- config -----------------------------------------------------------------------------


def parse_roster(technicians: Any, shifts: Any, *, calendar: BusinessCalendar | None,
                 calendar_configured: bool) -> Roster:
    """The ``[technicians.HANDLE]`` and ``[shifts.NAME]`` tables of config.toml.

    A technician's ``shift`` is a shift name or an inline table like ``[calendar]``; its
    ``timezone`` may be left out when ``[calendar]`` gives one, and without its own
    ``holidays`` a shift keeps the desk calendar's."""
    default_zone = calendar.timezone if calendar is not None and calendar_configured else None
    default_holidays: frozenset[date] = (calendar.holidays if calendar is not None
                                         else frozenset())
    named: dict[str, BusinessCalendar] = {}
    if shifts is not None:
        if not isinstance(shifts, Mapping):
            raise InvalidInput("shifts must be a table of named shifts: [shifts.NAME] with "
                               "timezone and hours")
        for name, table in shifts.items():
            if not GROUP.fullmatch(str(name)):
                raise InvalidInput(f"shifts.{name}: a shift name is lowercase letters, digits, "
                                   "'.', '_' or '-'")
            named[str(name)] = parse_calendar(table, f"shifts.{name}",
                                              default_timezone=default_zone,
                                              default_holidays=default_holidays)
    if technicians is None:
        return Roster()
    if not isinstance(technicians, Mapping):
        raise InvalidInput("technicians must be a table: [technicians.HANDLE] with groups "
                           "and shift")
    out = []
    for handle, raw in technicians.items():
        where = f"technicians.{handle}"
        if not HANDLE.fullmatch(str(handle)):
            raise InvalidInput(f"{where}: {handle!r} is not a valid handle: 2-32 characters, "
                               "lowercase letters, digits, '.', '_' or '-', starting with a "
                               "letter")
        table = known_table(raw, where, _TECH_KEYS)
        groups = parse_groups(table.get("groups", []), f"{where}.groups")
        shift: BusinessCalendar | None = None
        if "shift" in table:
            value = table["shift"]
            if isinstance(value, str):
                if value not in named:
                    known = ", ".join(sorted(named)) or "none defined"
                    raise InvalidInput(f"{where}.shift: no shift {value!r} in [shifts] "
                                       f"(shifts: {known})")
                shift = named[value]
            else:
                shift = parse_calendar(value, f"{where}.shift", default_timezone=default_zone,
                                       default_holidays=default_holidays)
        out.append(Technician(str(handle), groups, shift))
    return Roster(tuple(out))


def parse_groups(value: Any, where: str) -> frozenset[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise InvalidInput(f"{where} must be a list of group names, e.g. [\"tier2\"]")
    groups = set()
    for item in value:
        name = str(item).strip().lower()
        if not GROUP.fullmatch(name):
            raise InvalidInput(f"{where}: {item!r} is not a group name (lowercase letters, "
                               "digits, '.', '_' or '-', up to 40)")
        groups.add(name)
    return frozenset(groups)
