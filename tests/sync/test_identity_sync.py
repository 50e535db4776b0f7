"""Account work resolved for an unverified caller by a client from before the identity
rule: sync keeps the data (it never stops or drops a change) but flags the ticket and says
why on the timeline, once, on every client (issue 13, item 1)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from deskcli.domain.enums import Status
from deskcli.domain.intake import NewTicket
from deskcli.services.desk import Desk
from deskcli.services.tickets import TicketService
from deskcli.sync.apply import ChangeApplier
from helpers import FakeClock, make_desk

from .conftest import Tech

MFA_FIX = "Reset the MFA registration for the user in Entra ID; KB 3390"


def _old_client_resolves(desk: Desk, *, resolution: str = MFA_FIX) -> str:
    """What a client without the rule could do: record a failed verification, then
    resolve and close with account work (written past today's service checks)."""
    t = desk.tickets
    ticket_id = str(t.create(NewTicket.from_mapping(
        {"summary": "MFA prompt loops", "caller": "Sam Ortiz", "client": "Acme"}))["id"])
    t.complete_step(ticket_id, "verify_identity", {"method": "none", "detail": "no answer"})
    at = "2026-11-24T09:30:00Z"
    with desk.store.transaction():
        ticket = t.write_changes(t.find(ticket_id), {"root_cause": "Lost phone",
                                                     "resolution": resolution}, at)
        ticket = t.change_status(ticket, Status.RESOLVED, at)
        t.change_status(ticket, Status.CLOSED, at)
    return ticket_id


def _changes(desk: Desk) -> list[dict[str, Any]]:
    """The old client's outbox, as the server would hand it to another client."""
    return [{"op_id": op["op_id"], "entity": op["entity"], "entity_id": op["entity_id"],
             "kind": op["kind"], "field": op["field"],
             "value": json.loads(op["value"]) if op["value"] is not None else None,
             "hlc": op["hlc"]} for op in desk.store.sync.outbox()]


def _apply(desk: Desk, changes: list[dict[str, Any]]) -> None:
    with desk.store.transaction():
        ChangeApplier(desk.store, desk.tickets).apply(changes)


def test_applied_but_flagged_with_one_event(tmp_path: Path) -> None:
    clock = FakeClock()
    old = make_desk(tmp_path / "old", clock, actor="old")
    new = make_desk(tmp_path / "new", clock, actor="ana")
    try:
        ticket_id = _old_client_resolves(old)
        changes = _changes(old)
        _apply(new, changes)
        ticket = new.tickets.find(ticket_id)
        assert ticket["status"] == "closed" and ticket["resolution"] == MFA_FIX, \
            "sync keeps what arrived"
        assert ticket["flagged"] == TicketService.IDENTITY_FLAG
        flags = [e for e in new.store.timeline.events(ticket_id) if e["kind"] == "identity_flagged"]
        assert len(flags) == 1
        assert "names 'MFA'" in flags[0]["summary"]
        # The same changes again (a re-sent page) and a settled flag: nothing new.
        new.tickets.update(ticket_id, {"flagged": ""})
        _apply(new, changes)
        assert not new.tickets.find(ticket_id)["flagged"]
        assert len([e for e in new.store.timeline.events(ticket_id)
                    if e["kind"] == "identity_flagged"]) == 1
    finally:
        old.close()
        new.close()


def test_work_that_touches_no_account_is_not_flagged(tmp_path: Path) -> None:
    clock = FakeClock()
    old = make_desk(tmp_path / "old", clock, actor="old")
    new = make_desk(tmp_path / "new", clock, actor="ana")
    try:
        ticket_id = _old_client_resolves(
            old, resolution="Replaced the worn pickup roller on HP-4 following KB 77")
        _apply(new, _changes(old))
        assert not new.tickets.find(ticket_id)["flagged"]
    finally:
        old.close()
        new.close()


@pytest.mark.subprocess
def test_the_flag_reaches_the_team_through_the_server(team: dict[str, Tech]) -> None:
    """Ana's laptop ran an old version: Ben's pull flags the ticket, his push carries the
    flag and the event to Ana, who sees one event, not one per client."""
    ana, ben = team["ana"], team["ben"]
    ticket_id = _old_client_resolves(ana.desk)
    ana.sync()
    ben.sync()
    assert ben.desk.tickets.find(ticket_id)["flagged"] == TicketService.IDENTITY_FLAG
    ben.sync()
    ana.sync()
    ana.sync()
    assert ana.desk.tickets.find(ticket_id)["flagged"] == TicketService.IDENTITY_FLAG
    for desk in (ana.desk, ben.desk):
        assert len([e for e in desk.store.timeline.events(ticket_id)
                    if e["kind"] == "identity_flagged"]) == 1
