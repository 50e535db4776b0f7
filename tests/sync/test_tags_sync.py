"""Tags through a real team server: two technicians tagging offline both keep their tags."""

from __future__ import annotations

from typing import Any

import pytest

from deskcli.domain.intake import NewTicket
from deskcli.services.desk import Desk

from .conftest import Tech

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
