"""Ops queued by an earlier deskcli (values written by ``json.dumps``, with spaces) reach a
real server as the same ops beside those written now in the compact form
(``storage/encoding.py``), one at a time or by bulk creation (orjson). On SQLite and,
when DESKCLI_TEST_POSTGRES_URL is set, PostgreSQL (the ``server`` fixture)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlmodel import col, select

from deskcli.domain.intake import NewTicket
from deskcli.server.models import SrvOp

from .conftest import TeamServer, Tech

pytestmark = pytest.mark.subprocess

RECORDS: list[dict[str, Any]] = [
    {"summary": f"Disk almost full on srv-{i}", "caller": f"User {i % 3}",
     "email": f"user{i % 3}@acme.example", "client": "Acme", "priority": "P3",
     "verified": "callback" if i % 2 else None}
    for i in range(12)
]


def server_ops(server: TeamServer) -> list[SrvOp]:
    with server.session() as s:
        return list(s.exec(select(SrvOp).where(SrvOp.origin != "server")
                           .order_by(col(SrvOp.seq))).all())


def unnumbered(text: str) -> Any:
    """An op's value without the ticket number the server gives (it numbers new
    tickets itself: a store's provisional label becomes a number)."""
    value = json.loads(text)
    if isinstance(value, dict):
        value.pop("number", None)
        value.pop("provisional", None)
    return value


def test_an_op_queued_in_the_old_format_still_pushes(server: TeamServer,
                                                     team: dict[str, Tech]) -> None:
    """Ops an earlier deskcli queued (its values written by ``json.dumps`` with spaces)
    go out as before, beside ops written now, one at a time and in bulk."""
    ana = team["ana"]
    store = ana.desk.store
    ticket = ana.desk.tickets.create(NewTicket.from_mapping(
        {"summary": "Queued before the upgrade", "client": "Acme", "caller": "Zoe Park"}))
    with store.transaction():
        for row in list(store.db.execute("SELECT seq, value FROM outbox")):
            store.db.execute("UPDATE outbox SET value = ? WHERE seq = ?",
                             (json.dumps(json.loads(row["value"]), ensure_ascii=False,
                                         sort_keys=True), row["seq"]))
    spaced = [r["value"] for r in store.db.execute("SELECT value FROM outbox")]
    assert all(", " in v or ": " in v for v in spaced), "the old format has spaces"
    ana.desk.tickets.add_note(ticket["id"], "written by this version", internal=True)
    ana.desk.tickets.create_many([NewTicket.from_mapping(r) for r in RECORDS[:2]])
    expected = store.sync.outbox()

    report = ana.sync()
    assert report.rejected == [] and report.unsent == 0
    assert report.pushed == len(expected)
    on_server = {o.op_id: unnumbered(o.value) for o in server_ops(server)}
    assert on_server == {o["op_id"]: unnumbered(o["value"]) for o in expected}
