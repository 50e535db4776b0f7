"""The sample-data load in bounded batches: every batch commits whole with its count,
the write-ahead log stays the size of one batch, an interrupted load leaves only whole
batches, and the ids it makes sort in the order they were made."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from deskcli.domain.intake import NewTicket
from deskcli.services import demo
from deskcli.services.desk import Desk
from deskcli.storage.bulk import BulkWriter
from helpers import FakeClock, SeqIds, make_desk

TABLES = ("tickets", "events", "notes", "time_entries", "step_records", "csat_responses")


def count(desk: Desk, table: str) -> int:
    return int(desk.store.db.execute(f"SELECT count(*) AS n FROM {table}").fetchone()["n"])


def dump(desk: Desk) -> dict[str, list[dict[str, Any]]]:
    return {t: [dict(r) for r in desk.store.db.execute(f"SELECT * FROM {t} ORDER BY rowid")]
            for t in TABLES}


def test_batches_write_everything_once_and_nothing_to_sync(desk: Desk) -> None:
    result = demo.seed(desk.store, count=1_000, now=desk.now(), policy=desk.config.sla,
                       new_id=SeqIds(), batch=256)
    assert (result.first_number, result.last_number) == (1001, 2000)
    assert count(desk, "tickets") == 1_000
    assert desk.store.meta("demo_tickets") == "1000"
    assert desk.store.sync.outbox_count() == 0 and count(desk, "outbox") == 0
    for table in TABLES:
        ids = [r["id"] for r in desk.store.db.execute(f"SELECT id FROM {table}")]
        assert len(ids) == len(set(ids)), table
    numbers = [r["number"] for r in desk.store.db.execute(
        "SELECT number FROM tickets ORDER BY rowid")]
    assert numbers == list(range(1001, 2001))
    # Loaded without per-row reference checks: none is broken, and checks are back on.
    assert desk.store.db.execute("PRAGMA foreign_key_check").fetchall() == []
    assert desk.store.db.execute("PRAGMA foreign_keys").fetchone()["foreign_keys"] == 1
    assert desk.tickets.create(NewTicket(summary="Real ticket"))["number"] == 2001


def test_same_seed_same_sample_data_whatever_the_batch(tmp_path: Path) -> None:
    clock = FakeClock()
    dumps = []
    for n, batch in enumerate((10_000, 97)):
        with make_desk(tmp_path / str(n), clock) as desk:
            demo.seed(desk.store, count=700, now=clock.now(), policy=desk.config.sla,
                      new_id=SeqIds(counter=iter(range(1, 10**6))), batch=batch)
            dumps.append(dump(desk))
    assert dumps[0] == dumps[1]


def test_the_log_stays_the_size_of_one_batch(desk: Desk,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    wal = desk.store.path.with_name(desk.store.path.name + "-wal")
    sizes: list[int] = []
    checkpoint = BulkWriter.checkpoint

    def measured(self: BulkWriter) -> None:
        sizes.append(wal.stat().st_size)
        checkpoint(self)

    monkeypatch.setattr(BulkWriter, "checkpoint", measured)
    demo.seed(desk.store, count=4_000, now=desk.now(), policy=desk.config.sla,
              new_id=SeqIds(), batch=500)
    assert len(sizes) == 8
    # One transaction would leave a log about eight batches long by the end.
    assert max(sizes) <= 2.5 * sizes[0], sizes


def test_an_interrupted_load_keeps_whole_counted_batches(desk: Desk,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    made = demo._TicketMaker.ticket

    def failing(self: demo._TicketMaker, i: int, number: int, rows: demo._Rows) -> None:
        if i == 650:
            raise KeyboardInterrupt  # the technician pressed Ctrl-C mid-load
        made(self, i, number, rows)

    monkeypatch.setattr(demo._TicketMaker, "ticket", failing)
    monkeypatch.setattr(demo, "CHUNK", 70)
    with pytest.raises(KeyboardInterrupt):
        demo.seed(desk.store, count=1_000, now=desk.now(), policy=desk.config.sla,
                  new_id=SeqIds(), batch=300)
    assert count(desk, "tickets") == 600           # two whole batches of 300
    assert desk.store.meta("demo_tickets") == "600"
    assert count(desk, "events") > 600 and desk.store.sync.outbox_count() == 0
    orphans = desk.store.db.execute(
        "SELECT count(*) AS n FROM events WHERE ticket_id NOT IN (SELECT id FROM tickets)"
    ).fetchone()["n"]
    assert orphans == 0
    # The whole block stays taken: the next ticket is numbered after it.
    assert desk.tickets.create(NewTicket(summary="Real ticket"))["number"] == 2001


def test_load_ids_sort_in_the_order_they_are_made() -> None:
    ids = demo.fast_ids(1_790_000_000_000)
    made = [ids() for _ in range(70_000)]  # across the counter's 16-bit boundary
    assert made == sorted(made) and len(set(made)) == len(made)
    parsed = uuid.UUID(made[-1])
    assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
    assert demo.fast_ids(1_790_000_000_000)() != made[0]  # another run, another range


def test_iso_matches_to_iso() -> None:
    from datetime import UTC, datetime, timedelta

    from deskcli.domain.timefmt import to_iso

    start = datetime(2024, 2, 28, 23, 59, 58, 999_999, tzinfo=UTC)
    for step in range(0, 400_000, 7_919):
        moment = start + timedelta(seconds=step * 13, microseconds=step)
        assert demo._iso(moment) == to_iso(moment)


def twins(desk: Desk) -> None:
    """Two copies of the first resolved ticket (new ids and numbers, the same times)."""
    db = desk.store.db
    first = db.execute("SELECT * FROM tickets WHERE status IN ('resolved', 'closed') "
                       "ORDER BY rowid LIMIT 1").fetchone()
    top = db.execute("SELECT max(number) AS n FROM tickets").fetchone()["n"]
    for n in (1, 2):
        row = {**first, "id": f"{first['id'][:-1]}{'xy'[n - 1]}", "number": top + n}
        names = ", ".join(f'"{c}"' for c in row)
        db.execute(f"INSERT INTO tickets ({names}) VALUES ({', '.join('?' for _ in row)})",
                   tuple(row.values()))


def test_the_index_built_per_batch_is_what_the_trigger_builds(tmp_path: Path) -> None:
    """The demo holds the knowledge base's per-ticket trigger back and indexes each batch
    in two statements: the same documents, numbered the same, with the same text, as
    the trigger gives the same tickets inserted one by one; and the trigger is back."""
    clock = FakeClock()
    with make_desk(tmp_path / "bulk", clock) as desk:
        trigger = desk.store.db.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'kb_ticket_indexed'").fetchone()
        demo.seed(desk.store, count=900, now=clock.now(), policy=desk.config.sla,
                  new_id=SeqIds(), batch=400)
        assert desk.store.db.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'kb_ticket_indexed'").fetchone() == trigger
        # Two more tickets resolved in the same second as one already indexed: they take
        # the next slots of that second, in order.
        with desk.store.transaction(), BulkWriter(desk.store).tickets_indexed_together():
            twins(desk)
        source = desk.store.path
    with make_desk(tmp_path / "rows", clock) as desk:
        db = desk.store.db
        db.execute("ATTACH DATABASE ? AS src", (str(source),))
        with desk.store.transaction():
            for table in ("clients", "callers", "tickets"):
                # One row at a time through the trigger, in the demo's order.
                for row in db.execute(f"SELECT * FROM src.{table} ORDER BY rowid").fetchall():
                    names = ", ".join(f'"{c}"' for c in row)
                    marks = ", ".join("?" for _ in row)
                    db.execute(f"INSERT INTO main.{table} ({names}) VALUES ({marks})",
                               tuple(row.values()))
        query = ("SELECT d.doc, d.kind, d.ref_id, d.client_id, d.tags, d.at, f.title, "
                 "f.codes, f.body FROM {s}.kb_docs d JOIN {s}.kb_fts f ON f.rowid = d.doc "
                 "WHERE d.kind = 'ticket' ORDER BY d.doc")
        expected = [dict(r) for r in db.execute(query.format(s="main"))]
        built = [dict(r) for r in db.execute(query.format(s="src"))]
        resolved = db.execute("SELECT count(*) AS n FROM src.tickets "
                              "WHERE status IN ('resolved', 'closed')").fetchone()["n"]
        db.execute("DETACH DATABASE src")
    assert len(expected) == resolved > 400
    # The twins share a second with the ticket they copy: numbered in order after it.
    assert len({r["doc"] >> 20 for r in expected}) == len(expected) - 2
    assert built == expected
    with make_desk(tmp_path / "bulk", clock) as desk:
        desk.store.db.execute("INSERT INTO kb_fts(kb_fts) VALUES ('integrity-check')")


def test_a_failed_batch_keeps_the_index_trigger(desk: Desk) -> None:
    bulk = BulkWriter(desk.store)
    with pytest.raises(RuntimeError), desk.store.transaction(), \
            bulk.tickets_indexed_together():
        assert desk.store.db.execute(
            "SELECT count(*) AS n FROM sqlite_master WHERE name = 'kb_ticket_indexed'"
        ).fetchone()["n"] == 0
        raise RuntimeError("the load stopped")
    assert desk.store.db.execute(
        "SELECT count(*) AS n FROM sqlite_master WHERE name = 'kb_ticket_indexed'"
    ).fetchone()["n"] == 1


def test_a_second_load_adds_more_and_indexes_only_its_own(desk: Desk) -> None:
    for _ in range(2):
        demo.seed(desk.store, count=300, now=desk.now(), policy=desk.config.sla,
                  new_id=SeqIds(), batch=128)
    db = desk.store.db
    assert count(desk, "tickets") == 600 and desk.store.meta("demo_tickets") == "600"
    indexed = db.execute("SELECT count(*) AS n FROM kb_docs WHERE kind = 'ticket'").fetchone()
    resolved = db.execute("SELECT count(*) AS n FROM tickets "
                          "WHERE status IN ('resolved', 'closed')").fetchone()
    assert indexed["n"] == resolved["n"] > 0
    db.execute("INSERT INTO kb_fts(kb_fts) VALUES ('integrity-check')")
