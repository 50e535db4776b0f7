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
