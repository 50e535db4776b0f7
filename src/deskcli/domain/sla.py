"""SLA targets, due times and the state of a ticket's clocks.

Two clocks run per ticket: first response and resolution. Their targets come from the
policy for the ticket's priority, overridden per client contract tier. Due times are
*computed* here from creation time, target and paused time; the store keeps the result
only so the queue can sort and classify 100,000 rows without calling back into Python
per ticket. Pausing the resolution clock while waiting on the caller is a policy option,
because contracts differ on it.
"""

from collections.abc import Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, NamedTuple, Protocol, TypeVar

from deskcli.domain.enums import Priority, Status
from deskcli.domain.errors import InvalidInput
from deskcli.domain.values import Value


class SlaTarget(NamedTuple):
    response: timedelta
    resolve: timedelta


DEFAULT_TARGETS: dict[Priority, SlaTarget] = {
    Priority.P1: SlaTarget(timedelta(minutes=15), timedelta(hours=4)),
    Priority.P2: SlaTarget(timedelta(hours=1), timedelta(hours=8)),
    Priority.P3: SlaTarget(timedelta(hours=4), timedelta(hours=24)),
    Priority.P4: SlaTarget(timedelta(hours=8), timedelta(hours=72)),
}

# Contract tiers an MSP commonly sells. "standard" is the default targets above.
DEFAULT_TIERS: dict[str, dict[Priority, SlaTarget]] = {
    "premium": {
        Priority.P1: SlaTarget(timedelta(minutes=10), timedelta(hours=2)),
        Priority.P2: SlaTarget(timedelta(minutes=30), timedelta(hours=4)),
        Priority.P3: SlaTarget(timedelta(hours=2), timedelta(hours=12)),
        Priority.P4: SlaTarget(timedelta(hours=4), timedelta(hours=48)),
    },
    "standard": {},
    "basic": {
        Priority.P1: SlaTarget(timedelta(hours=1), timedelta(hours=8)),
        Priority.P2: SlaTarget(timedelta(hours=4), timedelta(hours=24)),
        Priority.P3: SlaTarget(timedelta(hours=8), timedelta(hours=72)),
        Priority.P4: SlaTarget(timedelta(hours=24), timedelta(hours=120)),
    },
}


class SlaPolicy(Value):
    """Targets per priority, per-tier overrides, and the two policy switches.

    A ``Value`` (compared by its fields, immutable), as the frozen dataclass it was: every
    command builds one, and ``dataclasses`` costs a short command more than its own work
    (issue 20, ``domain/values.py``)."""

    _fields = ("targets", "tiers", "pause_on_pending_caller", "at_risk_fraction")

    targets: Mapping[Priority, SlaTarget]
    tiers: Mapping[str, Mapping[Priority, SlaTarget]]
    #: Stop the resolution clock while the ticket waits on the caller.
    pause_on_pending_caller: bool
    #: A clock is "at risk" once less than this share of its target is left.
    at_risk_fraction: float

    def __init__(self, targets: Mapping[Priority, SlaTarget] | None = None,
                 tiers: Mapping[str, Mapping[Priority, SlaTarget]] | None = None,
                 pause_on_pending_caller: bool = True, at_risk_fraction: float = 0.25) -> None:
        self._set(targets=dict(DEFAULT_TARGETS) if targets is None else targets,
                  tiers=({k: dict(v) for k, v in DEFAULT_TIERS.items()} if tiers is None
                         else tiers),
                  pause_on_pending_caller=pause_on_pending_caller,
                  at_risk_fraction=at_risk_fraction)

    def target(self, priority: Priority, tier: str | None = None) -> SlaTarget:
        if tier:
            override = self.tiers.get(tier)
            if override is None:
                known = ", ".join(sorted(self.tiers)) or "none configured"
                raise InvalidInput(
                    f"unknown contract tier {tier!r}: known tiers are {known}", field="tier"
                )
            if priority in override:
                return override[priority]
        return self.targets[priority]

    def pauses(self, status: Status) -> bool:
        return self.pause_on_pending_caller and status is Status.PENDING_CALLER

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> "SlaPolicy":
        """Build a policy from the ``[sla]`` table of the config file.

        ``[sla.targets.P1] response = "15m"  resolve = "4h"`` and
        ``[sla.tiers.premium.P1] ...`` override the built-in defaults piecemeal.
        """
        from deskcli.domain.durations import parse_duration

        def read_targets(raw: Any, where: str) -> dict[Priority, SlaTarget]:
            if not isinstance(raw, Mapping):
                raise InvalidInput(f"{where} must be a table of P1..P4 entries")
            out: dict[Priority, SlaTarget] = {}
            for key, value in raw.items():
                prio = Priority.parse(str(key))
                if not isinstance(value, Mapping) or set(value) - {"response", "resolve"}:
                    raise InvalidInput(f"{where}.{key} takes only response and resolve")
                base = DEFAULT_TARGETS[prio]
                out[prio] = SlaTarget(
                    parse_duration(str(value["response"])) if "response" in value
                    else base.response,
                    parse_duration(str(value["resolve"])) if "resolve" in value
                    else base.resolve,
                )
            return out

        targets = dict(DEFAULT_TARGETS)
        targets.update(read_targets(data.get("targets", {}), "sla.targets"))
        tiers: dict[str, dict[Priority, SlaTarget]] = {k: dict(v) for k, v in DEFAULT_TIERS.items()}
        raw_tiers = data.get("tiers", {})
        if not isinstance(raw_tiers, Mapping):
            raise InvalidInput("sla.tiers must be a table of tier names")
        for name, raw in raw_tiers.items():
            tiers[str(name)] = read_targets(raw, f"sla.tiers.{name}")
        fraction = data.get("at_risk_fraction", 0.25)
        if not isinstance(fraction, int | float) or not 0 < fraction < 1:
            raise InvalidInput("sla.at_risk_fraction must be a number between 0 and 1")
        pause = data.get("pause_on_pending_caller", True)
        if not isinstance(pause, bool):
            raise InvalidInput("sla.pause_on_pending_caller must be true or false")
        return cls(targets, tiers, pause, float(fraction))


class SlaClock(NamedTuple):
    """The due times implied by a policy; what the store keeps for sorting."""

    response_due: datetime
    response_risk_at: datetime
    resolve_due: datetime
    resolve_risk_at: datetime

    @property
    def urgency_due(self) -> datetime:
        return min(self.response_due, self.resolve_due)

    def queue_key(self, *, is_open: bool, paused: bool, responded: bool) -> datetime | None:
        """The due time that orders the queue: the next clock still running.

        Closed tickets and paused ones already answered have none and sort last.
        """
        if not is_open:
            return None
        if paused:
            return None if responded else self.response_due
        return self.resolve_due if responded else self.urgency_due


#: The ticket columns a ticket's stored SLA columns (due times, risk times, queue urgency)
#: are computed from: its creation time, priority, pause record, first response, status,
#: and its client (whose contract tier picks the targets). A change to any other column
#: leaves them as they are, so a store applying synced changes recomputes only after one
#: of these changed. Status also decides whether a ticket can need an identity flag
#: (only resolved and closed ones do).
CLOCK_INPUTS = frozenset({"created_at", "priority", "sla_paused_seconds", "sla_paused_since",
                          "first_response_at", "status", "client_id"})


def queue_rank(*, priority: str, is_open: bool, responded: bool,
               urgency_due: str | datetime | None) -> int:
    """Which band of the queue a ticket sorts in; within a band, ``urgency_due`` first.

    0. an open P1 nobody has answered yet (respond in minutes: whatever else is late, this
       is what the technician picks up next);
    1. every other ticket with a clock running, by its due time (breached ones first);
    2. tickets with no clock running (paused and answered, resolved, closed).

    ``store.queue.rows`` orders by exactly this (in SQL, so 100,000 rows need no Python);
    a test holds the two together.
    """
    if is_open and priority == Priority.P1.value and not responded:
        return 0
    return 1 if urgency_due is not None else 2


def compute_clock(
    created_at: datetime,
    priority: Priority,
    policy: SlaPolicy,
    *,
    tier: str | None = None,
    paused: timedelta = timedelta(0),
) -> SlaClock:
    """Due times for a ticket; paused time pushes only the resolution clock out."""
    target = policy.target(priority, tier)
    keep = 1 - policy.at_risk_fraction
    resolve_start = created_at + paused
    return SlaClock(
        response_due=created_at + target.response,
        response_risk_at=created_at + target.response * keep,
        resolve_due=resolve_start + target.resolve,
        resolve_risk_at=resolve_start + target.resolve * keep,
    )


class SlaState(StrEnum):
    """One word for the queue: how worried should the technician be?"""

    BREACHED = "breached"
    AT_RISK = "at-risk"
    OK = "ok"
    PAUSED = "paused"
    MET = "met"
    MISSED = "missed"

    @property
    def marker(self) -> str:
        """A glyph that carries the state without colour (NO_COLOR, colour-blind users)."""
        return {
            "breached": "!!",
            "at-risk": "! ",
            "ok": "  ",
            "paused": "||",
            "met": "ok",
            "missed": "x ",
        }[self.value]


class _Comparable(Protocol):
    def __lt__(self, other: Any, /) -> bool: ...
    def __le__(self, other: Any, /) -> bool: ...


T = TypeVar("T", bound=_Comparable)


def classify(
    *,
    now: T,
    is_open: bool,
    paused: bool,
    response_due: T,
    response_risk_at: T,
    first_response_at: T | None,
    resolve_due: T,
    resolve_risk_at: T,
    resolved_at: T | None,
) -> SlaState:
    """The worst of the response and resolution clocks.

    Works on datetimes or on the store's fixed-format ISO strings (they order the same),
    which lets the queue classify rows straight from SQLite.
    """
    if not is_open:
        done = resolved_at if resolved_at is not None else now
        responded = first_response_at if first_response_at is not None else done
        missed = resolve_due < done or response_due < responded
        return SlaState.MISSED if missed else SlaState.MET
    worst = SlaState.OK
    if first_response_at is None:
        if response_due <= now:
            return SlaState.BREACHED
        if response_risk_at <= now:
            worst = SlaState.AT_RISK
    if paused:
        return SlaState.PAUSED if worst is SlaState.OK else worst
    if resolve_due <= now:
        return SlaState.BREACHED
    if resolve_risk_at <= now:
        return SlaState.AT_RISK
    return worst


def pause_update(
    policy: SlaPolicy,
    old: Status,
    new: Status,
    now: datetime,
    paused_since: datetime | None,
    paused_total: timedelta,
) -> tuple[datetime | None, timedelta]:
    """Start or stop the resolution clock's pause as the status changes."""
    was, will = policy.pauses(old), policy.pauses(new)
    if will and not was:
        return now, paused_total
    if was and not will and paused_since is not None:
        return None, paused_total + max(now - paused_since, timedelta(0))
    return paused_since, paused_total


def time_left(due: datetime, now: datetime) -> timedelta:
    """Negative once breached, so callers can show "-1h20m" overdue."""
    return due - now


def format_span(span: timedelta) -> str:
    """Compact ``2h05m`` / ``-15m`` / ``3d4h`` for tables that must stay narrow."""
    seconds = int(span.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{sign}{days}d{hours}h"
    if hours:
        return f"{sign}{hours}h{minutes:02d}m"
    return f"{sign}{minutes}m"


class ClockState(StrEnum):
    """Where one clock stands; ``met`` and ``missed`` once it stopped."""

    RUNNING = "running"
    AT_RISK = "at-risk"
    OVERDUE = "overdue"
    PAUSED = "paused"
    MET = "met"
    MISSED = "missed"


class ClockReading(NamedTuple):
    """One SLA clock as every front end states it (the ticket header, ``deskcli show``).

    A resolved or closed ticket's clocks have stopped: they read met or missed, never time
    left. A ticket resolved with no reply on record counts the resolution as its answer,
    as ``classify`` does for the queue's ``sla_state``.
    """

    name: str
    state: ClockState
    due: datetime
    #: When the clock stopped (the first reply, the resolution); None while it runs.
    stopped_at: datetime | None = None

    def span(self, now: datetime) -> timedelta:
        """Time left (running, at risk), over (overdue), or by how much it was missed."""
        if self.state is ClockState.MISSED and self.stopped_at is not None:
            return self.stopped_at - self.due
        if self.state is ClockState.OVERDUE:
            return now - self.due
        return self.due - now

    def words(self, now: datetime) -> str:
        """``met``, ``missed by 1h05m``, ``2h05m left``, ``15m over`` or ``paused``."""
        if self.state is ClockState.MET:
            return "met"
        if self.state is ClockState.MISSED:
            return f"missed by {format_span(self.span(now))}"
        if self.state is ClockState.PAUSED:
            return "paused (waiting on the caller)"
        if self.state is ClockState.OVERDUE:
            return f"{format_span(self.span(now))} over"
        return f"{format_span(self.span(now))} left"


def _running(name: str, now: datetime, due: datetime, risk_at: datetime) -> ClockReading:
    if now >= due:
        return ClockReading(name, ClockState.OVERDUE, due)
    if now >= risk_at:
        return ClockReading(name, ClockState.AT_RISK, due)
    return ClockReading(name, ClockState.RUNNING, due)


def _stopped(name: str, due: datetime, at: datetime) -> ClockReading:
    return ClockReading(name, ClockState.MET if at <= due else ClockState.MISSED, due, at)


def read_clocks(*, now: datetime, is_open: bool, paused: bool, response_due: datetime,
                response_risk_at: datetime, first_response_at: datetime | None,
                resolve_due: datetime, resolve_risk_at: datetime,
                resolved_at: datetime | None) -> tuple[ClockReading, ClockReading]:
    """The response and resolution clocks of one ticket, by the rules of ``classify``."""
    if not is_open:
        done = resolved_at or now
        return (_stopped("response", response_due, first_response_at or done),
                _stopped("resolve", resolve_due, done))
    response = (_stopped("response", response_due, first_response_at)
                if first_response_at is not None
                else _running("response", now, response_due, response_risk_at))
    resolve = (ClockReading("resolve", ClockState.PAUSED, resolve_due) if paused
               else _running("resolve", now, resolve_due, resolve_risk_at))
    return response, resolve


def clocks_of(ticket: Mapping[str, Any], now: datetime) -> tuple[ClockReading, ClockReading]:
    """``read_clocks`` for a stored ticket row (ISO strings as the store keeps them)."""
    from deskcli.domain.timefmt import from_iso

    def at(key: str) -> datetime | None:
        value = ticket.get(key)
        return from_iso(value) if value else None

    status = Status(ticket["status"])
    return read_clocks(
        now=now, is_open=status.is_open, paused=ticket.get("sla_paused_since") is not None,
        response_due=at("response_due") or now, response_risk_at=at("response_risk_at") or now,
        first_response_at=at("first_response_at"), resolve_due=at("resolve_due") or now,
        resolve_risk_at=at("resolve_risk_at") or now,
        resolved_at=at("resolved_at") if not status.is_open else None)
