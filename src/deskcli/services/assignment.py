"""Who a rule assigns a ticket to: a named technician, the next in a group's round-robin,
or the least-loaded technician of a group on shift.

The rules engine calls ``pick`` inside the transaction that makes the change, so the
round-robin turn it advances commits (or rolls back) with the assignment itself, and
``assigned_by_person`` before it reassigns anything: a ticket a technician took by hand
keeps its assignee whatever the rules say.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

from deskcli.domain.roster import (
    AssignSpec,
    Roster,
    Strategy,
    check_against,
    is_rule_actor,
    on_shift,
    parse_assign_spec,
    pick_least_loaded,
    pick_round_robin,
)
from deskcli.storage.store import Store
from deskcli.storage.workload import Workload


class AssignmentService:
    """Assignment decisions against one store and one roster.

    ``now`` is the moment the decision is for (shifts are checked at that time): a
    callable as elsewhere in the services, or a fixed datetime (``rules test --at``)."""

    def __init__(self, store: Store, roster: Roster,
                 now: Callable[[], datetime] | datetime) -> None:
        self.store = store
        self.roster = roster
        self._now = now
        self.workload = Workload(store)

    def now(self) -> datetime:
        return self._now if isinstance(self._now, datetime) else self._now()

    def validate(self, spec: str) -> None:
        """Raise ``InvalidInput`` naming the problem when ``spec`` is malformed or names
        a technician or group the roster does not have (for checking a rules file)."""
        check_against(parse_assign_spec(spec), self.roster)

    def parse(self, spec: str) -> AssignSpec:
        parsed = parse_assign_spec(spec)
        check_against(parsed, self.roster)
        return parsed

    def pick(self, spec: str, ticket_id: str, *, record: bool = True) -> str | None:
        """The handle ``spec`` assigns ``ticket_id`` to, or None when nobody in the group
        is on shift (the rule then leaves the ticket as it is).

        A named handle is returned as is, shift or not (the rule asked for that person).
        Round-robin remembers its turn per group in the store: with ``record`` (the
        default) the turn advances, which needs the caller's open transaction; picking
        again for the ticket that took the last turn gives the same handle without
        advancing, so re-running a rule on one ticket does not skip anyone. ``record=False``
        answers without writing (``rules test``). Least-loaded counts open tickets,
        leaving this ticket out."""
        parsed = self.parse(spec)
        at = self.now()
        if parsed.strategy is Strategy.HANDLE:
            return parsed.target
        group = parsed.target
        if parsed.strategy is Strategy.LEAST_LOADED:
            members = [t.handle for t in self.roster.members(group) if on_shift(t, at)]
            counts = self.workload.open_counts(members, excluding=ticket_id)
            return pick_least_loaded(group, self.roster, at, counts)
        last, last_ticket = self.workload.turn(group)
        if last_ticket == ticket_id and last is not None:
            tech = self.roster.get(last)
            if tech is not None and group in tech.groups and on_shift(tech, at):
                return last
        chosen = pick_round_robin(group, self.roster, at, last)
        if chosen is not None and record:
            self.workload.set_turn(group, chosen, ticket_id)
        return chosen

    def assigned_by_person(self, ticket_id: str) -> bool:
        """True when the ticket's current assignee was set by a person, so a rule must
        not change it ("taking a ticket by hand always wins over a rule").

        Read from the timeline: the latest entry that set the assignee (a field change of
        ``assignee``, or the creation when the ticket was created assigned) is a
        person's unless its actor is a rule's (``rule:<name>``, ``domain.roster.rule_actor``)
        or its detail names a ``rule``. An unassigned ticket is False: there is nothing
        to protect."""
        row = self.workload.last_assignment(ticket_id)
        if row is None:
            return False
        if row["kind"] == "created":
            ticket = self.store.tickets.by_id(ticket_id)
            if ticket is None or not ticket.get("assignee"):
                return False
        else:
            detail = _detail(row["detail"])
            if not detail.get("new"):
                return False  # a person unassigned it: nothing a rule would override
        return not (is_rule_actor(row["actor"]) or _detail(row["detail"]).get("rule"))


def _detail(raw: str | None) -> dict[str, object]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
