"""Every shape a queued op can have in the outbox reaches a real server as the same ops:
bulk creation's one row per new ticket (``storage/opbundle.py``), and ops queued by an
earlier deskcli (values written by ``json.dumps``, with spaces). On SQLite and, when
DESKCLI_TEST_POSTGRES_URL is set, PostgreSQL (the ``server`` fixture)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlmodel import col, select

from deskcli.domain.intake import NewTicket
from deskcli.server.models import SrvOp
from deskcli.services.desk import Desk

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


def raw_kinds(desk: Desk) -> list[str]:
    return [r["kind"] for r in desk.store.db.execute("SELECT kind FROM outbox ORDER BY seq")]


def test_bulk_created_tickets_push_as_their_separate_ops(server: TeamServer,
                                                         team: dict[str, Tech]) -> None:
    """An import writes one outbox row per ticket; the push sends each op it holds, in
    order, with its own id, stamp and value, and the other technician gets the tickets."""
    ana, ben = team["ana"], team["ben"]
    made = ana.desk.tickets.create_many([NewTicket.from_mapping(r) for r in RECORDS])
    ana.desk.tickets.add_note(made[0][0], "after the import", internal=True)
    assert raw_kinds(ana.desk).count("bundle") == len(RECORDS)
    expected = ana.desk.store.sync.outbox()  # read as ops, nothing written
    assert ana.desk.store.sync.outbox_count() == len(expected)
    assert raw_kinds(ana.desk).count("bundle") == len(RECORDS), "reading wrote nothing"

    ana.client.whoami()
    ana.client.join("ana")  # hands the local numbers back: amends the unsent creates
    assert "bundle" not in raw_kinds(ana.desk)
    joined = ana.desk.store.sync.outbox()
    assert [(o["op_id"], o["hlc"]) for o in joined] == [(o["op_id"], o["hlc"])
                                                         for o in expected]
    report = ana.sync()
    assert report.rejected == [] and report.unsent == 0
    pushed = [(o.op_id, o.entity, o.entity_id, o.kind, o.hlc, unnumbered(o.value))
              for o in server_ops(server)]
    assert pushed == [(o["op_id"], o["entity"], o["entity_id"], o["kind"], o["hlc"],
                       unnumbered(o["value"])) for o in joined]

    ben.sync()
    ids = {row[0] for row in made}
    got = {r["id"] for r in ben.desk.store.db.execute("SELECT id FROM tickets")}
    assert ids <= got
    events = ben.desk.store.db.execute("SELECT count(*) AS n FROM events WHERE ticket_id IN "
                                       f"({', '.join('?' for _ in ids)})", list(ids))
    assert events.fetchone()["n"] == ana.desk.store.db.execute(
        "SELECT count(*) AS n FROM events").fetchone()["n"]


def test_an_op_queued_in_the_old_format_still_pushes(server: TeamServer,
                                                     team: dict[str, Tech]) -> None:
    """Ops an earlier deskcli queued (its values written by ``json.dumps`` with spaces)
    go out as before, beside ops written now and a bundle."""
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
