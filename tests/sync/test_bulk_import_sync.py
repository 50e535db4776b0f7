"""A bulk import, pushed to a real server and pulled by a second technician: the server
receives every op the import queued (the same values as the one-at-a-time path writes,
``tests/services/test_batch_create.py``), and the other store ends with the same
tickets, timelines and step records, found by its own text search. On SQLite and, when
DESKCLI_TEST_POSTGRES_URL is set, PostgreSQL (the ``server`` fixture)."""

from __future__ import annotations

from typing import Any

import pytest

from deskcli.domain.bulk import BulkAction
from deskcli.domain.intake import NewTicket
from deskcli.services import bulk as bulk_module
from deskcli.services import tickets as tickets_module
from deskcli.services.bulk import BulkService, batches

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


def push_sends_what_was_queued(ana: Tech, server: TeamServer, queued: list[Any],
                               pushed_before: set[str]) -> None:
    """``ana``'s next sync pushes exactly the ops the batch queued: none lost, added or
    changed on the way (numbers aside: the server gives them)."""
    report = ana.sync()
    assert report.rejected == [] and report.unsent == 0
    assert report.pushed == len(queued)
    on_server = {o.op_id: (o.entity, o.entity_id, o.kind, o.field, unnumbered(o.value))
                 for o in server_ops(server) if o.op_id not in pushed_before}
    assert on_server == {o["op_id"]: (o["entity"], o["entity_id"], o["kind"], o["field"],
                                      unnumbered(o["value"]))
                         for o in queued}


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


def test_bulk_actions_on_the_batched_path_reach_the_other_technician(
        server: TeamServer, team: dict[str, Tech], monkeypatch: pytest.MonkeyPatch) -> None:
    """Bulk set (fields, status, tags), an internal note and a reply, written through the
    batch (several flushes): every op reaches the server as queued, and the second
    store ends the same (tickets, timeline, notes, tags)."""
    monkeypatch.setattr(bulk_module, "FLUSH_EVERY", 40)
    ana, ben = team["ana"], team["ben"]
    made = ana.desk.tickets.create_many([NewTicket.from_mapping(r) for r in RECORDS])
    sync_all(ana, ben)
    assert len(made) == len(RECORDS)
    refs = [f"#{t['number']}" for t in ana.desk.store.db.execute(
        "SELECT number FROM tickets ORDER BY number")]
    service = BulkService(ana.desk.tickets)
    pushed_before = {o.op_id for o in server_ops(server)}
    for action in (BulkAction.set({"status": "in-progress", "assignee": "ana"},
                                  add_tags=["disk"]),
                   BulkAction.set({"priority": "P2"}, remove_tags=["disk"],
                                  add_tags=["storage"]),
                   BulkAction.note("Cleaning the volumes", internal=True),
                   BulkAction.note("We are cleaning the disk now", internal=False)):
        assert batches(action)
        result = service.apply(refs, action)
        assert result.applied and len(result.changed) >= len(RECORDS) * 2 // 3
    queued = [o for o in ana.desk.store.sync.outbox() if o["acked_seq"] is None]
    assert {o["kind"] for o in queued} == {"set", "append"}

    push_sends_what_was_queued(ana, server, queued, pushed_before)

    sync_all(ana, ben)
    assert state(ana.desk) == state(ben.desk)
    statuses = {t["status"] for t in state(ben.desk)["tickets"]}
    assert statuses == {"in-progress"}
    assert {t["tag"] for t in ben.desk.store.db.execute("SELECT tag FROM ticket_tags")} \
        == {"storage"}


def test_bulk_resolve_and_close_on_the_batched_path_reach_the_other_technician(
        server: TeamServer, team: dict[str, Tech], monkeypatch: pytest.MonkeyPatch) -> None:
    """Bulk resolve and close through the batch (several flushes): their status and
    resolution sets, events and step records reach the server as queued, and the second
    store ends the same, the knowledge base's documents included."""
    monkeypatch.setattr(bulk_module, "FLUSH_EVERY", 40)
    ana, ben = team["ana"], team["ben"]
    ana.desk.tickets.create_many([NewTicket.from_mapping(r) for r in RECORDS])
    sync_all(ana, ben)  # numbered by the server
    refs = [f"#{t['number']}" for t in ana.desk.store.db.execute(
        "SELECT number FROM tickets ORDER BY number")]
    service = BulkService(ana.desk.tickets)
    # Closable once resolved: the checklist settled and time logged (per-ticket kinds).
    reason = "monitoring alert: handled by the clean-up"
    for action in (BulkAction.complete_step("scope_decision", {
                       "decision": "tier1", "reason": "disk clean-up is a Tier 1 fix"}),
                   *[BulkAction.complete_step(key, skip=reason)
                     for key in ("capture_issue", "open_ticket", "record_errors",
                                 "check_changes", "reproduce", "search_kb", "apply_fix",
                                 "update_kb")],
                   BulkAction.log_time("15m")):
        assert service.apply(refs[::2], action).applied
    sync_all(ana, ben)
    pushed_before = {o.op_id for o in server_ops(server)}
    resolve = BulkAction.resolve(root_cause="log rotation was off on the host",
                                 resolution="Cleared /var/log on the host and turned daily "
                                 "log rotation on; KB 4567")
    close = BulkAction.close(category="problem")
    for action in (resolve, close):
        assert batches(action)
    resolved = service.apply(refs, resolve)
    assert resolved.applied and len(resolved.changed) == len(RECORDS)
    closed = service.apply(refs, close, keep_going=True)
    assert len(closed.changed) == len(refs[::2]) and len(closed.refused) == len(refs[1::2])
    queued = [o for o in ana.desk.store.sync.outbox() if o["acked_seq"] is None]

    push_sends_what_was_queued(ana, server, queued, pushed_before)

    sync_all(ana, ben)
    assert state(ana.desk) == state(ben.desk)
    statuses = sorted(t["status"] for t in state(ben.desk)["tickets"])
    assert statuses == sorted(["closed"] * len(refs[::2]) + ["resolved"] * len(refs[1::2]))
    for desk in (ana.desk, ben.desk):
        documents = desk.store.db.execute(
            "SELECT count(*) AS n FROM kb_docs WHERE kind = 'ticket'").fetchone()
        assert documents["n"] == len(RECORDS)
