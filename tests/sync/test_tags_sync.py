"""Tags through a real team server: two technicians tagging offline both keep their tags."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from deskcli.domain.intake import NewTicket
from deskcli.services.desk import Desk
from deskcli.sync.client import SyncClient
from deskcli.sync.credentials import Credentials
from helpers import FakeClock, make_desk

from .conftest import TeamServer, Tech

pytestmark = pytest.mark.subprocess


def _new(desk: Desk, summary: str, **extra: Any) -> str:
    return str(desk.tickets.create(NewTicket.from_mapping(
        {"summary": summary, "client": "Acme", **extra}))["id"])


def _sync(*techs: Tech, rounds: int = 2) -> None:
    for _ in range(rounds):
        for tech in techs:
            tech.sync()


def _records(desk: Desk) -> list[dict[str, Any]]:
    return [dict(row) for row in desk.store.db.execute(
        "SELECT id, ticket_id, tag, action, removes FROM tag_changes ORDER BY id")]


def test_different_tags_added_offline_are_both_kept(team: dict[str, Tech]) -> None:
    ana, ben = team["ana"].desk, team["ben"].desk
    ticket = _new(ana, "ERP posting fails for everyone")
    _sync(team["ana"], team["ben"])
    ana.tickets.tag(ticket, add=["outage"])
    ben.tickets.tag(ticket, add=["erp", "vip"])
    _sync(team["ana"], team["ben"])
    assert ana.tickets.tags_of(ticket) == ben.tickets.tags_of(ticket) == [
        "erp", "outage", "vip"]
    assert _records(ana) == _records(ben)
    assert ana.store.sync.outbox_count() == ben.store.sync.outbox_count() == 0


def test_a_remove_only_takes_the_tags_it_saw(team: dict[str, Tech]) -> None:
    """Ben removes "vip" while Ana, offline, adds it again: Ana's add was never seen by
    Ben's remove, so it survives (nothing added disappears unseen); Ben's removal of "old"
    holds everywhere."""
    ana, ben = team["ana"].desk, team["ben"].desk
    ticket = _new(ana, "Shared drive slow")
    ana.tickets.tag(ticket, add=["vip", "old"])
    _sync(team["ana"], team["ben"])
    assert ben.tickets.tags_of(ticket) == ["old", "vip"]
    ben.tickets.tag(ticket, remove=["vip", "old"])
    ana.tickets.tag(ticket, remove=["vip"])
    ana.tickets.tag(ticket, add=["vip"])
    _sync(team["ana"], team["ben"])
    assert ana.tickets.tags_of(ticket) == ben.tickets.tags_of(ticket) == ["vip"]
    # Filtering by tag reads the same set on both laptops.
    for desk in (ana, ben):
        assert [row[0] for row in desk.tickets.queue(tags=["vip"])] == [ticket]
        assert list(desk.tickets.queue(tags=["old"])) == []


def test_a_server_refuses_a_malformed_tag(team: dict[str, Tech]) -> None:
    """A tag written around the service (an old or hostile client) is refused by the
    server's schema check, naming the accepted form; the store's other changes go on."""
    ana = team["ana"].desk
    ticket = _new(ana, "Printer jam")
    with ana.store.transaction():
        ana.store.insert("tag_changes", {
            "id": "bad-tag-1", "ticket_id": ticket, "tag": "Not A Tag", "action": "add",
            "removes": None, "at": "2026-11-24T09:00:00Z", "author": "ana"})
    report = team["ana"].sync()
    rejected = ana.store.sync.rejections()
    assert [r["entity_id"] for r in rejected] == ["bad-tag-1"], report
    assert "lower-case word" in rejected[0]["reason"]
    assert ana.tickets.find(ticket)["number"] is not None


def _state(desk: Desk) -> dict[str, Any]:
    db = desk.store.db
    local_only = {"response_due", "response_risk_at", "resolve_due", "resolve_risk_at",
                  "urgency_due", "updated_at"}
    out: dict[str, Any] = {}
    for table in ("tickets", "events", "notes", "time_entries", "tag_changes"):
        out[table] = [{k: v for k, v in row.items() if k not in local_only}
                      for row in db.execute(f"SELECT * FROM {table} ORDER BY id")]
    return out


def test_the_same_merge_made_on_two_laptops_converges(team: dict[str, Tech]) -> None:
    ana, ben = team["ana"].desk, team["ben"].desk
    target = _new(ana, "ERP posting fails", caller="Zoe", email="zoe@acme.example")
    dup = _new(ana, "Cannot post invoices", caller="Yan", email="yan@acme.example")
    _sync(team["ana"], team["ben"])
    ana.tickets.merge(dup, target)
    ben.tickets.add_note(dup, "Yan says it started at 09:10", internal=True)
    ben.tickets.merge(dup, target)
    _sync(team["ana"], team["ben"])
    assert _state(ana) == _state(ben)
    for desk in (ana, ben):
        row = desk.tickets.find(dup)
        assert (row["merged_into"], row["status"]) == (target, "closed")
        detail = desk.tickets.detail(target)
        assert [d["id"] for d in detail.merged] == [dup]
        notes = [e for e in detail.timeline if e.get("from_ref") and e.get("note_body")]
        assert [e["note_body"] for e in notes] == ["Yan says it started at 09:10"]
        assert desk.tickets.party_emails(desk.tickets.find(target)) == {
            "zoe@acme.example", "yan@acme.example"}


def test_merges_into_different_targets_offline_agree_on_one(team: dict[str, Tech]) -> None:
    """Ana merges the duplicate into one ticket, Ben into another: every replica ends with
    the same target (last writer wins), and the losing choice is on the timeline."""
    ana, ben = team["ana"].desk, team["ben"].desk
    first, second = _new(ana, "ERP down (sales)"), _new(ana, "ERP down (finance)")
    dup = _new(ana, "ERP down")
    _sync(team["ana"], team["ben"])
    ana.tickets.merge(dup, first)
    clock = ben.now.__self__  # type: ignore[attr-defined]
    clock.advance(seconds=5)
    ben.tickets.merge(dup, second)
    _sync(team["ana"], team["ben"])
    assert _state(ana) == _state(ben)
    assert ana.tickets.find(dup)["merged_into"] == second
    conflicts = [e for e in ana.tickets.detail(dup).timeline if e["kind"] == "conflict"]
    assert any("merged into" in e["summary"] for e in conflicts)


def test_a_server_refuses_a_merge_across_clients(server: TeamServer, tmp_path: Path) -> None:
    """A technician of two clients cannot merge (or link) across them, even around the
    service: the server names the field and the rule, and applies nothing of it."""
    token = server.add("cy", ["Acme", "Globex"])
    desk = make_desk(tmp_path / "cy", FakeClock(), actor="cy")
    client = SyncClient(desk, Credentials(server.url, token, "test"))
    try:
        mine = _new(desk, "Printer jam")
        theirs = _new(desk, "Printer jam too", client="Globex")
        client.sync()
        with desk.store.transaction():  # around the service, as an old or hostile client
            desk.store.update_ticket(mine, {"merged_into": theirs}, "2026-11-24T09:00:00Z")
            desk.store.update_ticket(mine, {"parent_id": theirs}, "2026-11-24T09:00:00Z")
        client.sync()
        rejected = {r["field"]: r["reason"] for r in desk.store.sync.rejections()}
        assert set(rejected) == {"merged_into", "parent_id"}
        assert all("another client" in reason for reason in rejected.values()), rejected
    finally:
        client.close()
        desk.close()
