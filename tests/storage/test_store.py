"""The SQLite store on a real file: schema upgrades, the outbox, and crash safety."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from deskcli.domain.intake import NewTicket
from deskcli.domain.timefmt import to_iso
from deskcli.services.desk import Desk
from deskcli.storage.migrations import LATEST
from deskcli.storage.store import SchemaTooNew, Store, StoreError
from helpers import FakeClock, SeqIds, make_desk, paths_under


def _open(path: Path, **kwargs: int) -> Store:
    clock = FakeClock()
    return Store.open(path, ids=SeqIds(), now_ms=lambda: 1_000,
                      now_iso=lambda: to_iso(clock.now()), **kwargs)


def test_new_store_uses_wal_and_full_sync(tmp_path: Path) -> None:
    store = _open(tmp_path / "d.db")
    assert store.schema_version == LATEST
    mode = store.db.execute("PRAGMA journal_mode").fetchone()["journal_mode"]
    assert mode == "wal"
    assert store.db.execute("PRAGMA synchronous").fetchone()["synchronous"] == 2  # FULL
    assert len(store.client_id) == 12
    store.close()


def test_database_from_an_older_version_opens_and_upgrades(tmp_path: Path) -> None:
    """A v1 store (before attachments existed) keeps its tickets and gains the new tables."""
    home = tmp_path / "home"
    db = paths_under(home).database
    old = _open(db, migrate_to=1)
    assert old.schema_version == 1
    client_id = old.client_id
    old.close()
    with sqlite3.connect(db) as raw:  # what deskcli 0.0 wrote: a ticket and its lease
        raw.execute(
            "INSERT INTO tickets (id, number, checklist, type, status, priority, summary,"
            " channel, created_at, created_by, updated_at, response_due, response_risk_at,"
            " resolve_due, resolve_risk_at, urgency_due) VALUES ('t-1', 1001, 'tier1',"
            " 'incident', 'open', 'P2', 'Old ticket', 'phone', '2025-01-01T09:00:00Z', 'eli',"
            " '2025-01-01T09:00:00Z', '2025-01-01T10:00:00Z', '2025-01-01T09:45:00Z',"
            " '2025-01-01T17:00:00Z', '2025-01-01T15:00:00Z', '2025-01-01T10:00:00Z')")
        raw.execute("INSERT INTO number_leases VALUES (1001, 2001, 1002, 'local', 'x')")
    with sqlite3.connect(db) as raw:
        tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "attachments" not in tables

    desk = make_desk(home)
    assert desk.store.schema_version == LATEST
    assert desk.store.client_id == client_id, "the store keeps its identity across upgrades"
    assert desk.tickets.find("1001")["summary"] == "Old ticket"
    new = desk.tickets.create(NewTicket(summary="After upgrade"))
    assert new["number"] == 1002
    desk.close()


def test_database_from_a_newer_version_is_refused_clearly(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    _open(db).close()
    with sqlite3.connect(db) as raw:
        raw.execute("PRAGMA user_version = 99")
    with pytest.raises(SchemaTooNew, match="written by a newer deskcli"):
        _open(db)


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    db.write_bytes(b"this is a spreadsheet, honest" * 100)
    with pytest.raises(StoreError, match="not a deskcli database"):
        _open(db)


def test_writes_outside_a_transaction_are_a_programming_error(tmp_path: Path) -> None:
    store = _open(tmp_path / "d.db")
    with pytest.raises(RuntimeError, match="inside Store.transaction"):
        store.insert("clients", {"id": "c", "name": "x", "created_at": "x"})


def test_a_failure_inside_a_transaction_leaves_neither_row_nor_op(desk: Desk) -> None:
    before = desk.store.sync.outbox_count()
    with pytest.raises(ZeroDivisionError), desk.store.transaction():
        desk.store.insert("clients", {"id": "c1", "name": "Acme", "contract_tier": "standard",
                                      "created_at": "2026-01-01T00:00:00Z"})
        1 / 0  # noqa: B018
    assert desk.store.contacts.client_by_name("Acme") is None
    assert desk.store.sync.outbox_count() == before


def test_every_synced_row_has_its_op(desk: Desk) -> None:
    t = desk.tickets.create(NewTicket(summary="Printer offline", caller="Ana Chen",
                                      client="Acme"))
    desk.tickets.add_note(str(t["number"]), "Checking the spooler", internal=True)
    desk.tickets.log_time(str(t["number"]), "15m")
    desk.tickets.set_status(str(t["number"]), "in-progress")
    ops = desk.store.sync.outbox()
    op_ids = {(o["entity"], o["entity_id"]) for o in ops}
    db = desk.store.db
    for table, entity in [("tickets", "ticket"), ("events", "event"), ("notes", "note"),
                          ("time_entries", "time_entry"), ("clients", "client"),
                          ("callers", "caller")]:
        for row in db.execute(f"SELECT id FROM {table}"):
            assert (entity, row["id"]) in op_ids, f"{table} row without an op"
    assert any(o["kind"] == "set" and o["field"] == "status" for o in ops)
    hlcs = [o["hlc"] for o in ops]
    assert hlcs == sorted(hlcs) and len(set(hlcs)) == len(hlcs), "HLC stamps strictly increase"


CRASH_SCRIPT = textwrap.dedent("""
    import os, signal, sys
    from deskcli.domain.intake import NewTicket
    from deskcli.services.desk import open_desk
    from deskcli.paths import Paths
    from deskcli.storage import store as store_mod

    root, kill_after = sys.argv[1], int(sys.argv[2])
    calls = {"n": 0}
    original = store_mod.Store._op
    def dying_op(self, *args, **kwargs):
        original(self, *args, **kwargs)
        calls["n"] += 1
        if calls["n"] == kill_after:
            os.kill(os.getpid(), signal.SIGKILL)
    desk = open_desk(Paths(__import__("pathlib").Path(root) / "data",
                           __import__("pathlib").Path(root) / "config"))
    store_mod.Store._op = dying_op
    desk.tickets.create(NewTicket.from_mapping({
        "summary": "Half-written", "caller": "Ana Chen", "client": "Acme",
        "verified": "callback", "priority": "P2"}))
    print("created")
""")


@pytest.mark.subprocess
@pytest.mark.parametrize("kill_after", [1, 3, 6])
def test_killed_mid_write_leaves_no_half_ticket(tmp_path: Path, kill_after: int) -> None:
    """SIGKILL in the middle of creating a ticket: after reopening, nothing of it remains."""
    root = tmp_path / "home"
    make_desk(root).close()  # create the store first, so only the ticket write is at risk
    result = subprocess.run([sys.executable, "-c", CRASH_SCRIPT, str(root), str(kill_after)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == -9, result.stderr
    desk = make_desk(root)
    db = desk.store.db
    assert db.execute("PRAGMA integrity_check").fetchone()["integrity_check"] == "ok"
    for table in ("tickets", "events", "clients", "callers", "step_records", "outbox"):
        assert db.execute(f"SELECT count(*) AS n FROM {table}").fetchone()["n"] == 0, table
    # The number was not burned either: the next ticket gets the first number.
    assert desk.tickets.create(NewTicket(summary="Next"))["number"] == 1001
    desk.close()


@pytest.mark.subprocess
def test_killed_after_commit_keeps_everything(tmp_path: Path) -> None:
    root = tmp_path / "home"
    make_desk(root).close()
    script = CRASH_SCRIPT.replace('print("created")',
                                  'print("created", flush=True); os.kill(os.getpid(), 9)')
    result = subprocess.run([sys.executable, "-c", script, str(root), "10000"],
                            capture_output=True, text=True, timeout=60)
    assert "created" in result.stdout
    desk = make_desk(root)
    ticket = desk.tickets.find("1001")
    assert ticket["summary"] == "Half-written" and ticket["verification"] == "callback"
    ops = desk.store.sync.outbox()
    assert {o["entity"] for o in ops} >= {"ticket", "event", "client", "caller", "step_record"}
    desk.close()
