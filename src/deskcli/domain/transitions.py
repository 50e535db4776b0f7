"""Which status may follow which.

The table is deliberately small: a ticket can be resolved straight from any open
status (first-contact resolution is the common case at Tier 1), and only resolved or
closed tickets can be reopened, which always needs a reason so the timeline explains it.
"""

from __future__ import annotations

from deskcli.domain.enums import Status
from deskcli.domain.errors import Refused

_WORKING = {
    Status.OPEN,
    Status.IN_PROGRESS,
    Status.PENDING_CALLER,
    Status.PENDING_THIRD_PARTY,
    Status.ESCALATED,
    Status.RESOLVED,
}

ALLOWED: dict[Status, frozenset[Status]] = {
    Status.NEW: frozenset(_WORKING),
    Status.OPEN: frozenset(_WORKING - {Status.OPEN}),
    Status.IN_PROGRESS: frozenset(_WORKING - {Status.IN_PROGRESS}),
    Status.PENDING_CALLER: frozenset(_WORKING - {Status.PENDING_CALLER}),
    Status.PENDING_THIRD_PARTY: frozenset(_WORKING - {Status.PENDING_THIRD_PARTY}),
    Status.ESCALATED: frozenset(_WORKING - {Status.ESCALATED, Status.OPEN}),
    Status.RESOLVED: frozenset({Status.CLOSED, Status.OPEN}),
    Status.CLOSED: frozenset({Status.OPEN}),
}

#: Moving back to ``open`` from these is a reopen and needs a reason.
REOPENABLE = frozenset({Status.RESOLVED, Status.CLOSED})


def allowed_from(current: Status) -> list[Status]:
    """The statuses a ticket may move to next, in workflow order."""
    return [s for s in Status if s in ALLOWED[current]]


def is_reopen(current: Status, target: Status) -> bool:
    return current in REOPENABLE and target is Status.OPEN


def check_transition(current: Status, target: Status) -> None:
    """Refuse a move the workflow does not allow, naming the moves it does allow."""
    if target in ALLOWED[current]:
        return
    if current is target:
        raise Refused(f"the ticket is already {current.value}", field="status")
    options = ", ".join(s.value for s in allowed_from(current))
    raise Refused(
        f"cannot move a {current.value} ticket to {target.value}; from {current.value} "
        f"it can go to: {options}",
        field="status",
    )


#: Statuses reached only through the verb that enforces their rules.
_VERB_ONLY = {
    Status.ESCALATED: "escalating needs the handoff notes (queue, reproduction steps, "
                      "error, what was tried, user impact): use escalate",
    Status.RESOLVED: "resolving needs the root cause and a specific resolution note: "
                     "use resolve",
    Status.CLOSED: "closing needs a resolved ticket with time logged: use close",
}


def check_direct_move(target: Status) -> None:
    """Refuse a bare status change to a status whose verb carries rules of its own."""
    if target in _VERB_ONLY:
        raise Refused(f"cannot set the status to {target.value} directly: "
                      f"{_VERB_ONLY[target]}", field="status")
