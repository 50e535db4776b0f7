"""A bulk import, pushed to a real server and pulled by a second technician: the server
receives every op the import queued (the same values as the one-at-a-time path writes,
``tests/services/test_batch_create.py``), and the other store ends with the same
tickets, timelines and step records, found by its own text search. On SQLite and, when
DESKCLI_TEST_POSTGRES_URL is set, PostgreSQL (the ``server`` fixture)."""

from __future__ import annotations

from typing import Any

import pytest

from deskcli.domain.intake import NewTicket
from deskcli.services import tickets as tickets_module

from .conftest import TeamServer, Tech
from .test_outbox_formats import server_ops, unnumbered
from .test_sync import state, sync_all

pytestmark = pytest.mark.subprocess

RECORDS: list[dict[str, Any]] = [
    {"summary": f"Monitoring alert {i}: disk almost full on srv-{i % 7}",
     "caller": f"User {i % 5}", "email": f"user{i % 5}@acme.example", "client": "Acme",
     "priority": ("P2", "P3", "P4")[i % 3], "channel": "monitoring", "category": "storage",
     "asset": f"SRV-{i % 7:04d}", **({"verified": "callback"} if i % 4 == 0 else {})}
    for i in range(tickets_module.INDEX_TOGETHER + 30)
]


def test_a_bulk_import_reaches_the_other_technician_whole(
        server: TeamServer, team: dict[str, Tech], monkeypatch: pytest.MonkeyPatch) -> None:
    # Written in several flushes, with the text index filled after the rows.
    monkeypatch.setattr(tickets_module, "FLUSH_EVERY", 40)
    ana, ben = team["ana"], team["ben"]
    made = ana.desk.tickets.create_many([NewTicket.from_mapping(r) for r in RECORDS])
    assert len(made) == len(RECORDS)
    queued = ana.desk.store.sync.outbox()

    report = ana.sync()
    assert report.rejected == [] and report.unsent == 0
    assert report.pushed == len(queued)
    on_server = {o.op_id: (o.entity, o.entity_id, o.kind, unnumbered(o.value))
                 for o in server_ops(server)}
    assert on_server == {o["op_id"]: (o["entity"], o["entity_id"], o["kind"],
                                      unnumbered(o["value"]))
                         for o in queued}

    sync_all(ana, ben)
    assert state(ana.desk) == state(ben.desk)
    tickets = state(ben.desk)["tickets"]
    assert sorted(t["summary"] for t in tickets) == sorted(r["summary"] for r in RECORDS)
    assert len(state(ben.desk)["events"]) == len(state(ana.desk)["events"]) >= 2 * len(RECORDS)
    for desk in (ana.desk, ben.desk):
        found = desk.store.db.execute(
            "SELECT count(*) AS n FROM ticket_text WHERE text MATCH ?",
            ('"disk almost full on srv-3"',)).fetchone()
        assert found["n"] == sum(1 for r in RECORDS if "srv-3" in r["summary"])
