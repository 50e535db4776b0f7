"""Assignment against a real store: round-robin turns that survive a reopened store and
roll back with the caller's transaction, least-loaded counts from an index, and the
timeline telling a person's assignment from a rule's."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from deskcli.domain.calendar import parse_calendar
from deskcli.domain.errors import InvalidInput
from deskcli.domain.intake import NewTicket
from deskcli.domain.roster import Roster, Technician, rule_actor
from deskcli.services.assignment import AssignmentService
from deskcli.services.desk import Desk
from deskcli.storage.workload import Workload
from helpers import FakeClock, make_desk

DAY = parse_calendar({"timezone": "UTC", "hours": {"mon-fri": "09:00-17:00"}}, "shift")
NOON = datetime(2026, 6, 3, 12, 0, tzinfo=UTC)
EVENING = datetime(2026, 6, 3, 19, 0, tzinfo=UTC)
ROSTER = Roster((
    Technician("dana", frozenset({"tier2"}), DAY),
    Technician("eli", frozenset({"tier2"}), None),
    Technician("kai", frozenset({"tier2"}), DAY),
))


def new_ticket(desk: Desk, **extra: object) -> str:
    row = desk.tickets.create(NewTicket(summary="Printer offline", **extra))  # type: ignore[arg-type]
    return str(row["id"])


def round_robin(desk: Desk, ticket_id: str, at: datetime = NOON) -> str | None:
    service = AssignmentService(desk.store, ROSTER, at)
    with desk.store.transaction():
        return service.pick("round-robin:tier2", ticket_id)


def test_round_robin_order_survives_a_reopened_store(isolated_home: Path,
                                                     clock: FakeClock) -> None:
    with make_desk(isolated_home, clock) as desk:
        ids = [new_ticket(desk) for _ in range(5)]
        first = [round_robin(desk, t) for t in ids[:2]]
    with make_desk(isolated_home, clock) as desk:
        rest = [round_robin(desk, t) for t in ids[2:]]
    assert first + rest == ["dana", "eli", "kai", "dana", "eli"]


def test_round_robin_skips_off_shift_and_none_when_nobody_works(desk: Desk) -> None:
    ids = [new_ticket(desk) for _ in range(3)]
    assert [round_robin(desk, t, EVENING) for t in ids] == ["eli", "eli", "eli"]
    day_only = AssignmentService(desk.store, Roster((ROSTER.get("dana"),)), EVENING)  # type: ignore[arg-type]
    with desk.store.transaction():
        assert day_only.pick("round-robin:tier2", ids[0]) is None


def test_round_robin_turn_rolls_back_with_the_callers_transaction(desk: Desk) -> None:
    ids = [new_ticket(desk) for _ in range(2)]
    service = AssignmentService(desk.store, ROSTER, NOON)
    with pytest.raises(RuntimeError, match="boom"), desk.store.transaction():
        assert service.pick("round-robin:tier2", ids[0]) == "dana"
        raise RuntimeError("boom")
    assert Workload(desk.store).turn("tier2") == (None, None)
    assert round_robin(desk, ids[1]) == "dana"


def test_round_robin_picks_the_same_again_for_the_same_ticket(desk: Desk) -> None:
    ticket = new_ticket(desk)
    assert round_robin(desk, ticket) == "dana"
    assert round_robin(desk, ticket) == "dana"
    assert round_robin(desk, new_ticket(desk)) == "eli"


def test_round_robin_needs_a_transaction_but_a_preview_does_not(desk: Desk) -> None:
    ticket = new_ticket(desk)
    service = AssignmentService(desk.store, ROSTER, NOON)
    with pytest.raises(RuntimeError, match="transaction"):
        service.pick("round-robin:tier2", ticket)
    assert service.pick("round-robin:tier2", ticket, record=False) == "dana"
    assert Workload(desk.store).turn("tier2") == (None, None)


def test_least_loaded_counts_open_tickets_with_ties_by_handle(desk: Desk) -> None:
    for handle, count in (("dana", 2), ("eli", 1), ("kai", 1)):
        for _ in range(count):
            new_ticket(desk, assignee=handle)
    closed = new_ticket(desk, assignee="eli")
    desk.store.db.execute("BEGIN")
    desk.store.db.execute("UPDATE tickets SET status = 'closed' WHERE id = ?", (closed,))
    desk.store.db.execute("COMMIT")
    target = new_ticket(desk)
    service = AssignmentService(desk.store, ROSTER, NOON)
    assert Workload(desk.store).open_counts(["dana", "eli", "kai", "zoe"]) == {
        "dana": 2, "eli": 1, "kai": 1, "zoe": 0}
    assert service.pick("least-loaded:tier2", target) == "eli"      # eli and kai tie at 1
    assert AssignmentService(desk.store, ROSTER, EVENING).pick(
        "least-loaded:tier2", target) == "eli"                      # dana and kai off shift
    # The ticket being assigned is not counted against its own assignee.
    mine = new_ticket(desk, assignee="kai")
    assert service.pick("least-loaded:tier2", mine) == "eli"
    desk.tickets.update(mine, {"assignee": "eli"})
    assert service.pick("least-loaded:tier2", mine) == "eli"


def test_open_counts_use_the_index(desk: Desk) -> None:
    plan = " ".join(str(r["detail"]) for r in desk.store.db.execute(
        "EXPLAIN QUERY PLAN SELECT assignee, count(*) AS n FROM tickets "
        "WHERE assignee IN (?, ?) AND status IN (?, ?) GROUP BY assignee",
        ("dana", "eli", "new", "open")))
    assert "SEARCH tickets USING COVERING INDEX tickets_by_assignee_status" in plan, plan
    last = " ".join(str(r["detail"]) for r in desk.store.db.execute(
        "EXPLAIN QUERY PLAN SELECT kind, actor, detail, at FROM events WHERE ticket_id = ? "
        "AND (kind = 'created' OR (kind = 'field_changed' "
        "AND json_extract(detail, '$.field') = 'assignee')) "
        "ORDER BY at DESC, rowid DESC LIMIT 1", ("x",)))
    assert "events_by_ticket" in last and "TEMP B-TREE" not in last, last


def test_validate_names_unknown_groups_and_handles(desk: Desk) -> None:
    service = AssignmentService(desk.store, ROSTER, NOON)
    service.validate("dana")
    service.validate("round-robin:tier2")
    with pytest.raises(InvalidInput, match=r"no group 'billing' \(groups: tier2\)"):
        service.validate("least-loaded:billing")
    with pytest.raises(InvalidInput, match="no technician 'zoe'"):
        service.validate("zoe")
    with pytest.raises(InvalidInput, match="unknown way to assign"):
        service.validate("random:tier2")
    with pytest.raises(InvalidInput, match="no group"):
        with desk.store.transaction():
            service.pick("round-robin:billing", new_ticket(desk))


def test_a_named_handle_is_assigned_even_off_shift(desk: Desk) -> None:
    service = AssignmentService(desk.store, ROSTER, EVENING)
    assert service.pick("dana", new_ticket(desk)) == "dana"


def test_assigned_by_person_reads_the_timeline(isolated_home: Path, clock: FakeClock) -> None:
    with make_desk(isolated_home, clock) as desk:
        unassigned = new_ticket(desk)
        created_assigned = new_ticket(desk, assignee="kai")
        taken = new_ticket(desk)
        desk.tickets.update(taken, {"assignee": "dana"})
        service = AssignmentService(desk.store, ROSTER, NOON)
        assert not service.assigned_by_person(unassigned)
        assert service.assigned_by_person(created_assigned)
        assert service.assigned_by_person(taken)
    with make_desk(isolated_home, clock, actor=rule_actor("tier2 round robin")) as rules:
        rules.tickets.update(unassigned, {"assignee": "eli"})
        clock.advance(minutes=1)
        rules.tickets.update(taken, {"assignee": "eli"})  # what a rule must not do; here
        service = AssignmentService(rules.store, ROSTER, NOON)
        assert not service.assigned_by_person(unassigned)   # a rule's pick
        assert not service.assigned_by_person(taken)        # the last word was a rule's
    with make_desk(isolated_home, clock) as desk:
        clock.advance(minutes=1)
        desk.tickets.update(unassigned, {"assignee": "kai"})  # taken by hand after the rule
        service = AssignmentService(desk.store, ROSTER, NOON)
        assert service.assigned_by_person(unassigned)
        clock.advance(minutes=1)
        desk.tickets.update(unassigned, {"assignee": None})
        assert not service.assigned_by_person(unassigned)
