"""A large sample load builds the secondary indexes after the rows, in a rollback journal:
the store it leaves is the store the row-by-row path leaves (schema, indexes, triggers,
rows, knowledge-base index, nothing to sync, back in write-ahead-log mode), and a load
killed part-way leaves whole batches and indexes that the next opening of the store
builds again."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from deskcli.clock import new_id
from deskcli.domain.intake import NewTicket
from deskcli.services import demo
from deskcli.services.desk import Desk
from deskcli.storage import bulk_load
from deskcli.storage.store import Store
from helpers import FakeClock, SeqIds, make_desk, ordered_text_in_step, paths_under

TABLES = ("clients", "callers", "tickets", "events", "notes", "time_entries",
          "step_records", "csat_responses", "kb_docs", "meta", "number_leases")
SRC = Path(__file__).resolve().parents[2] / "src"


def schema(db: Any) -> set[tuple[str, str, str, str]]:
    return {(r["type"], r["name"], r["tbl_name"], r["sql"] or "") for r in db.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_master")}


def contents(desk: Desk) -> dict[str, list[dict[str, Any]]]:
    db = desk.store.db
    found = {t: [dict(r) for r in db.execute(f"SELECT * FROM {t} ORDER BY rowid")]
             for t in TABLES}
    found["meta"] = [r for r in found["meta"] if r["key"] not in ("client_id", "created_at")]
    found["kb_fts"] = [dict(r) for r in db.execute(
        "SELECT rowid, title, codes, body FROM kb_fts ORDER BY rowid")]
    found["ticket_text"] = [dict(r) for r in db.execute(
        "SELECT rowid, text FROM ticket_text ORDER BY rowid")]
    found["ticket_text_ordered"] = [dict(r) for r in db.execute(
        "SELECT rowid, text FROM ticket_text_ordered ORDER BY rowid")]
    return found


def loaded(root: Path, *, indexes_after: bool, count: int = 1_500,
           batch: int = 400) -> tuple[set[tuple[str, str, str, str]], dict[str, Any], str]:
    clock = FakeClock()
    with make_desk(root, clock) as desk:
        demo.seed(desk.store, count=count, now=clock.now(), policy=desk.config.sla,
                  new_id=SeqIds(counter=iter(range(1, 10**7))), batch=batch,
                  indexes_after=indexes_after)
        db = desk.store.db
        assert db.execute("PRAGMA integrity_check").fetchone()["integrity_check"] == "ok"
        db.execute("INSERT INTO kb_fts(kb_fts) VALUES ('integrity-check')")
        db.execute("INSERT INTO ticket_text(ticket_text) VALUES ('integrity-check')")
        ordered_text_in_step(db)
        mode = str(db.execute("PRAGMA journal_mode").fetchone()["journal_mode"])
        return schema(db), contents(desk), mode


def test_indexes_built_after_leave_the_same_store(tmp_path: Path) -> None:
    before, rows_before, mode_before = loaded(tmp_path / "rows", indexes_after=False)
    after, rows_after, mode_after = loaded(tmp_path / "after", indexes_after=True)
    assert mode_before == mode_after == "wal"
    assert after == before
    # Migration 14's queue-key indexes are among those rebuilt.
    assert {"tickets_queue_key_by_assignee", "tickets_queue_key_by_client",
            "tickets_queue_key_by_priority", "step_records_by_ticket",
            "events_by_kind_at"} <= {name for kind, name, *_ in after if kind == "index"}
    assert rows_after == rows_before
    assert not (tmp_path / "after" / "data" / "deskcli.db-load").exists()
    assert len(rows_after["ticket_text"]) == 1_500
    # The closed sample tickets are in the queue-ordered index too (migration 16).
    assert len(rows_after["ticket_text_ordered"]) > 1_000
    assert not any(r["key"] in (bulk_load.DEFERRED_KEY, bulk_load.TEXT_KEY)
                   for r in rows_after["meta"])
    assert not any(r["key"] == "demo_tickets" and r["value"] != "1500"
                   for r in rows_after["meta"])


def test_the_journal_stays_a_few_pages_while_the_rows_go_in(
        desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    journal = desk.store.path.with_name(desk.store.path.name + "-journal")
    wal = desk.store.path.with_name(desk.store.path.name + "-wal")
    sizes: list[tuple[int, int]] = []
    write = demo._Rows.write

    def measured(self: demo._Rows, bulk: Any) -> None:
        write(self, bulk)
        sizes.append((journal.stat().st_size if journal.exists() else 0,
                      wal.stat().st_size if wal.exists() else 0))

    monkeypatch.setattr(demo._Rows, "write", measured)
    monkeypatch.setattr(demo, "CHUNK", 100)
    demo.seed(desk.store, count=3_000, now=desk.now(), policy=desk.config.sla,
              new_id=SeqIds(), batch=1_000, indexes_after=True)
    added = desk.store.path.stat().st_size
    assert len(sizes) == 30
    # A batch adds about 9 MB of pages; the journal holds only the old contents of the
    # existing pages a batch changes (about 70 here), and nothing goes to a log.
    assert max(j for j, _ in sizes) < added / 3 / 10, sizes
    assert max(w for _, w in sizes) == 0
    assert desk.store.db.execute("PRAGMA journal_mode").fetchone()["journal_mode"] == "wal"


def test_a_store_open_elsewhere_keeps_its_log_and_its_indexes(desk: Desk) -> None:
    other = Store.open(desk.store.path, ids=new_id, now_ms=lambda: 0,
                       now_iso=lambda: "2026-01-01T00:00:00Z")
    try:
        seen: list[str] = []
        desk.store.db.set_trace_callback(seen.append)
        demo.seed(desk.store, count=600, now=desk.now(), policy=desk.config.sla,
                  new_id=SeqIds(), batch=200, indexes_after=True)
        desk.store.db.set_trace_callback(None)
        assert not any(s.startswith("DROP INDEX") for s in seen)
        assert other.tickets.count() == 600
        assert desk.store.db.execute("PRAGMA journal_mode").fetchone()["journal_mode"] == "wal"
    finally:
        other.close()


def test_a_failed_load_builds_its_indexes_before_it_returns(
        desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = schema(desk.store.db)
    made = demo._TicketMaker.ticket

    def failing(self: demo._TicketMaker, i: int, number: int, rows: demo._Rows) -> None:
        if i == 450:
            raise KeyboardInterrupt  # Ctrl-C mid-load
        made(self, i, number, rows)

    monkeypatch.setattr(demo._TicketMaker, "ticket", failing)
    monkeypatch.setattr(demo, "CHUNK", 50)
    with pytest.raises(KeyboardInterrupt):
        demo.seed(desk.store, count=1_000, now=desk.now(), policy=desk.config.sla,
                  new_id=SeqIds(), batch=200, indexes_after=True)
    assert desk.store.tickets.count() == 400 and desk.store.meta("demo_tickets") == "400"
    assert {(k, n, t) for k, n, t, _ in schema(desk.store.db) if k == "index"} == {
        (k, n, t) for k, n, t, _ in expected if k == "index"}
    assert desk.store.meta(bulk_load.DEFERRED_KEY) is None


KILLED = """
import os, signal, sys
from pathlib import Path
sys.path.insert(0, {src!r})
sys.path.insert(0, {tests!r})
from deskcli.services import demo
from deskcli.storage import bulk_load
from helpers import FakeClock, SeqIds, make_desk

from deskcli.storage import kb

where = {where!r}
made = demo._TicketMaker.ticket
rebuild = bulk_load._rebuild
index_kb = kb.index_tickets_after

def killed(self, i, number, rows):
    if where == "rows" and i == 2_900:
        os.kill(os.getpid(), signal.SIGKILL)  # no clean-up of any kind
    made(self, i, number, rows)

def killed_building(connection, indexes):
    connection.execute(indexes[0][1])  # one index built, the rest not
    os.kill(os.getpid(), signal.SIGKILL)

def killed_indexing(connection, after, **options):
    index_kb(connection, after, **options)  # the knowledge base done, the queue's not
    os.kill(os.getpid(), signal.SIGKILL)

demo._TicketMaker.ticket = killed
if where == "indexes":
    bulk_load._rebuild = killed_building
if where == "text":
    kb.index_tickets_after = killed_indexing
demo.CHUNK = 100
clock = FakeClock()
desk = make_desk(Path({root!r}), clock)
demo.seed(desk.store, count=4_000, now=clock.now(), policy=desk.config.sla,
          new_id=SeqIds(), batch=1_000, indexes_after=True)
"""


@pytest.mark.parametrize("where", ["rows", "text", "indexes"])
def test_a_killed_load_is_finished_by_the_next_open(tmp_path: Path, where: str) -> None:
    """SIGKILL in the middle of a batch (or of the full-text or index build at the end):
    the next ``Store.open`` rolls the open batch back, puts every loaded ticket in both
    full-text indexes, creates their triggers again, builds every index the load dropped,
    and leaves a sound store in write-ahead-log mode with whole, counted batches."""
    with make_desk(tmp_path / "fresh", FakeClock()) as fresh:
        expected = schema(fresh.store.db)
    root = tmp_path / "killed"
    script = KILLED.format(src=str(SRC), tests=str(SRC.parent / "tests"), where=where,
                           root=str(root))
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(script)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == -signal.SIGKILL, done.stderr
    database = paths_under(root).database
    # What the kill left (once SQLite has rolled the open batch back, as any connection
    # does first): the indexes recorded as owed, not there.
    raw = sqlite3.connect(database)
    try:
        owed = raw.execute("SELECT value FROM meta WHERE key = ?",
                           (bulk_load.DEFERRED_KEY,)).fetchone()
        text = raw.execute("SELECT value FROM meta WHERE key = ?",
                           (bulk_load.TEXT_KEY,)).fetchone()
        present = {r[0] for r in raw.execute("SELECT name FROM sqlite_master")}
        texts = raw.execute("SELECT count(*) FROM ticket_text").fetchone()[0]
        ordered = raw.execute("SELECT count(*) FROM ticket_text_ordered").fetchone()[0]
        documents = raw.execute("SELECT count(*) FROM kb_docs").fetchone()[0]
    finally:
        raw.close()
    assert owed is not None and "step_records_by_ticket" not in present
    assert text is not None and json.loads(text[0])["after"] == 0
    assert not {"kb_ticket_indexed", "ticket_text_added", "ticket_text_ordered_added"} & present
    # No ticket was indexed before the end (the end, if it began, rolled back).
    assert texts == 0 and documents == 0 and ordered == 0
    with make_desk(root, FakeClock()) as desk:
        db = desk.store.db
        assert schema(db) == expected
        assert db.execute("PRAGMA integrity_check").fetchone()["integrity_check"] == "ok"
        assert db.execute("PRAGMA journal_mode").fetchone()["journal_mode"] == "wal"
        assert desk.store.meta(bulk_load.DEFERRED_KEY) is None
        assert desk.store.meta(bulk_load.TEXT_KEY) is None
        tickets = desk.store.tickets.count()
        assert tickets == (2_000 if where == "rows" else 4_000)
        db.execute("INSERT INTO ticket_text(ticket_text) VALUES ('integrity-check')")
        assert db.execute("SELECT count(*) AS n FROM ticket_text").fetchone()["n"] == tickets
        assert db.execute("SELECT count(*) AS n FROM ticket_text WHERE text MATCH 'printer'"
                          ).fetchone()["n"] > 0
        ordered_text_in_step(db)
        assert desk.store.meta("demo_tickets") == str(tickets)
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        db.execute("INSERT INTO kb_fts(kb_fts) VALUES ('integrity-check')")
        indexed = db.execute("SELECT count(*) AS n FROM kb_docs WHERE kind = 'ticket'"
                             ).fetchone()["n"]
        assert indexed == db.execute("SELECT count(*) AS n FROM tickets WHERE status IN "
                                     "('resolved', 'closed')").fetchone()["n"] > 0
        assert not os.path.exists(f"{database}-journal")
        assert not os.path.exists(f"{database}-load")


def test_a_running_load_is_left_to_build_its_own_indexes(desk: Desk) -> None:
    """Another deskcli opening the store while a load has its indexes away (this process,
    or another that holds the load's lock) does not build them under the load's feet;
    once no live process holds the lock, the next opening does."""
    path = desk.store.path
    before = schema(desk.store.db)

    def reopen() -> bool:
        other = Store.open(path, ids=new_id, now_ms=lambda: 0,
                           now_iso=lambda: "2026-01-01T00:00:00Z")
        try:
            return other.meta(bulk_load.DEFERRED_KEY) is None and bool(other.db.execute(
                "SELECT 1 FROM sqlite_master WHERE name = 'step_records_by_ticket'"
            ).fetchone())
        finally:
            other.close()

    with bulk_load.indexes_deferred(desk.store, demo.LOADED_TABLES) as dropped:
        assert "tickets_queue_key" in dropped
        assert not reopen()  # this process's own load
    assert reopen()
    # A load in another process (its indexes away, its record in meta) holds the lock
    # until it dies.
    with desk.store.transaction():
        indexes = bulk_load.deferrable(desk.store, demo.LOADED_TABLES)
        desk.store.set_meta(bulk_load.DEFERRED_KEY, json.dumps(indexes))
        for name, _sql in indexes:
            desk.store.db.execute(f"DROP INDEX {name}")
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, os, sys\n"
         f"d = os.open({str(path) + '-load'!r}, os.O_RDWR | os.O_CREAT)\n"
         "fcntl.lockf(d, fcntl.LOCK_EX)\nprint('held', flush=True)\nsys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        assert not reopen()
    finally:
        holder.kill()
        holder.wait()
    assert reopen()
    assert schema(desk.store.db) == before


@pytest.mark.parametrize(("count", "share", "digest"), [
    (3_000, None, "34784998c240eb4f"),
    (1_200, 0.5, "aa37cfe3d55ec58d"),
])
def test_the_generator_makes_the_rows_it_always_made(count: int, share: float | None,
                                                     digest: str) -> None:
    """Every row of the sample tickets, hashed: the same as the generator of 624257c made
    (before its id stream and draws were made cheaper), across a 16-bit boundary of the
    ordered ids."""
    import hashlib
    import itertools
    import random
    from datetime import UTC, datetime

    from deskcli.domain.sla import SlaPolicy

    now = datetime(2026, 12, 1, 9, 17, 3, 250_000, tzinfo=UTC)
    counter = itertools.count(1)
    callers = [(f"caller-{i}", f"client-{i % 8}", ("premium", "standard", "basic")[i % 3])
               for i in range(120)]
    own = demo._Stream(int(now.timestamp() * 1000), counter=65_536 * 3 - 500,
                       low=0x5A3D1E70).next
    maker = demo._TicketMaker(
        random.Random(7), now, SlaPolicy(), lambda: f"id-{next(counter):012d}", own,
        demo._AfterCare(random.Random(7 * 7919 + 1), now, own), callers, count, share)
    hashed = hashlib.sha256()
    for start in range(0, count, 1_000):
        rows = demo._Rows()
        for i in range(start, min(start + 1_000, count)):
            maker.ticket(i, 1001 + i, rows)
        for table in (rows.tickets, rows.events, rows.notes, rows.times, rows.steps,
                      rows.answers):
            for row in table:
                hashed.update(repr(row).encode())
    assert hashed.hexdigest()[:16] == digest


def test_a_ticket_indexed_by_its_update_during_a_load_is_indexed_once(desk: Desk) -> None:
    """While a load keeps the full-text triggers away, another writer adds a ticket (not
    indexed: the trigger is away) and resolves it (its update's trigger indexes it):
    the load's end indexes the rest and leaves that one as the update did."""
    demo.seed(desk.store, count=300, now=desk.now(), policy=desk.config.sla,
              new_id=SeqIds(), batch=100)
    db = desk.store.db
    with bulk_load.indexes_deferred(desk.store, demo.LOADED_TABLES, text=True):
        assert desk.store.meta(bulk_load.TEXT_KEY) is not None
        ticket = desk.tickets.create(NewTicket(summary="Scanner jams on page two"))
        assert db.execute("SELECT count(*) AS n FROM ticket_text WHERE text MATCH 'scanner'"
                          ).fetchone()["n"] == 0
        with desk.store.transaction():
            db.execute("UPDATE tickets SET status = 'resolved', resolved_at = updated_at "
                       "WHERE id = ?", (ticket["id"],))
        assert desk.store.kb.has_doc(ticket["id"])
    assert desk.store.meta(bulk_load.TEXT_KEY) is None
    assert db.execute("SELECT count(*) AS n FROM kb_docs WHERE ref_id = ?",
                      (ticket["id"],)).fetchone()["n"] == 1
    assert db.execute("SELECT count(*) AS n FROM kb_fts WHERE kb_fts MATCH 'scanner'"
                      ).fetchone()["n"] == 1
    assert db.execute("SELECT count(*) AS n FROM ticket_text WHERE text MATCH 'scanner'"
                      ).fetchone()["n"] == 1
    db.execute("INSERT INTO kb_fts(kb_fts) VALUES ('integrity-check')")
    db.execute("INSERT INTO ticket_text(ticket_text) VALUES ('integrity-check')")
    names = {r["name"] for r in db.execute("SELECT name FROM sqlite_master "
                                           "WHERE type = 'trigger'")}
    assert set(bulk_load.TEXT_TRIGGERS) <= names
