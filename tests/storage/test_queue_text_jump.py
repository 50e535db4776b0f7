"""A jump into a text search's history through the text index in the queue's order
(``storage/queue_text_jump.py``, migration 16) gives exactly the page the ``LIKE`` scan
gives at that offset, from the start or from the end, whichever tickets fall outside the
ordered index (clocks running, no number, a number too large for the code), and after
every kind of write: new tickets, edited summaries, priorities, statuses, numbers,
deletions, a bulk load and a store from before the index."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.helpers import FakeClock, SeqIds, like_scan_ids, make_desk, ordered_text_in_step

from deskcli.domain.enums import Priority, Status
from deskcli.domain.intake import NewTicket
from deskcli.services import demo
from deskcli.services.desk import Desk
from deskcli.storage import queue_pages, queue_text_jump
from deskcli.storage.migrations import ORDERED_BLOCK
from deskcli.storage.queue_pages import KEY_PARTS, QueuePages
from deskcli.storage.store import Store

EVERY = [s.value for s in Status]
TERMS = ["printer", "PRINTER", "vpn", "mail", "laptop", "not"]


@pytest.fixture
def jumps(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Long-list plans for a small store, and a record of each jump: whether the ordered
    index served it (``None`` from ``jump`` means the walk did)."""
    monkeypatch.setattr(queue_pages, "WALK_ABOVE", 5)
    monkeypatch.setattr(queue_pages, "ROWS_READ_FOR_TEXT", 0)
    served: list[bool] = []
    real = queue_text_jump.jump

    def spy(*args: Any, **kwargs: Any) -> list[int] | None:
        found = real(*args, **kwargs)
        served.append(found is not None)
        return found

    monkeypatch.setattr(queue_text_jump, "jump", spy)
    return served


def every_jump(store: Store, search: str, size: int = 7) -> None:
    """Each offset, reached by a jump (``at``) and from the end (``from_end``)."""
    want = like_scan_ids(store, search)
    total = len(want)
    assert store.queue.count(statuses=EVERY, search=search) == total
    pages = QueuePages(store)
    for at in range(total + 1):
        got = pages.at(at, size, total=total, statuses=EVERY, search=search)
        assert [str(r[0]) for r in got] == want[at:at + size], (search, at)
        end = max(total - at - size, 0)
        got = pages.from_end(at, size, total=total, statuses=EVERY, search=search)
        assert [str(r[0]) for r in got] == want[end:total - at], (search, "end", at)
        assert all(len(r) > len(KEY_PARTS) for r in got)


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    desk = make_desk(tmp_path_factory.mktemp("jump"), FakeClock())
    demo.seed(desk.store, count=500, now=desk.now(), policy=desk.config.sla,
              new_id=SeqIds(), open_share=0.3)
    with desk.store.transaction():
        db = desk.store.db
        # Numbers out of the rowids' order, tickets not numbered yet, numbers past the
        # code's block: every piece of the list is used.
        db.execute("UPDATE tickets SET number = 100000 - number * 3 WHERE rowid % 4 = 0")
        db.execute("UPDATE tickets SET number = NULL, provisional = 'L-x-' || rowid "
                   "WHERE rowid % 11 = 0")
        db.execute("UPDATE tickets SET number = ? + rowid WHERE rowid % 9 = 2",
                   (ORDERED_BLOCK - 20,))
    yield desk
    desk.close()


@pytest.mark.parametrize("search", TERMS)
def test_every_jump_is_the_scan_at_that_offset(desk: Desk, jumps: list[bool],
                                               search: str) -> None:
    every_jump(desk.store, search)
    assert jumps and all(jumps), "the ordered index served each jump"
    ordered_text_in_step(desk.store.db)


def test_the_pieces_outside_the_ordered_index_are_not_empty(desk: Desk) -> None:
    """The fixture is not vacuous: matches with a clock running, without a number and
    with numbers outside the code's range are all in the list."""
    db = desk.store.db
    rank, number = KEY_PARTS[0], KEY_PARTS[3]
    rows = db.execute(
        f"SELECT {rank} AS rank, {number} AS n FROM tickets t "
        "WHERE t.summary LIKE '%printer%'").fetchall()
    assert any(r["rank"] < 2 for r in rows)
    assert any(r["rank"] == 2 and r["n"] < 1 for r in rows)
    assert any(r["rank"] == 2 and r["n"] >= ORDERED_BLOCK for r in rows)


@pytest.mark.parametrize("search", ["pr", "p%r", "#1", "1", "dana", "durand", "Harbor"])
def test_searches_the_ordered_index_cannot_serve_walk_as_before(
        desk: Desk, jumps: list[bool], search: str) -> None:
    """Short terms, wildcards, numbers and names: the walk serves them, same pages."""
    want = like_scan_ids(desk.store, search)
    total = len(want)
    pages = QueuePages(desk.store)
    for at in (1, total // 3, total // 2):
        got = pages.at(at, 5, total=total, statuses=EVERY, search=search)
        assert [str(r[0]) for r in got] == want[at:at + 5]
    assert not any(jumps)


def test_writes_keep_the_ordered_index_and_the_jumps_right(tmp_path: Path,
                                                           jumps: list[bool]) -> None:
    with make_desk(tmp_path, FakeClock()) as desk:
        demo.seed(desk.store, count=150, now=desk.now(), policy=desk.config.sla,
                  new_id=SeqIds(), open_share=0.3)
        store, db = desk.store, desk.store.db
        ordered_text_in_step(db)
        made = [desk.tickets.create(NewTicket(summary=f"Printer {i} offline",
                                              priority=Priority.P3))["id"]
                for i in range(6)]
        every_jump(store, "printer")
        for ticket_id in made[:3]:  # closed: into the ordered index
            with store.transaction():
                db.execute("UPDATE tickets SET status = 'closed', urgency_due = NULL "
                           "WHERE id = ?", (ticket_id,))
        with store.transaction():
            db.execute("UPDATE tickets SET summary = 'Scanner offline' WHERE id = ?",
                       (made[0],))
            db.execute("UPDATE tickets SET priority = 'P1' WHERE id = ?", (made[1],))
            db.execute("UPDATE tickets SET number = number + 5000 WHERE id = ?", (made[2],))
            # A closed ticket reopened (a clock again), one renamed to match, one renumbered
            # past the code's range, one deleted.
            db.execute("UPDATE tickets SET status = 'open', urgency_due = '2026-12-01T00:00:00Z' "
                       "WHERE rowid = (SELECT min(rowid) FROM tickets WHERE status = 'closed' "
                       "AND summary LIKE '%printer%')")
            db.execute("UPDATE tickets SET summary = 'printer ' || summary WHERE rowid IN "
                       "(SELECT rowid FROM tickets WHERE status = 'closed' "
                       "AND summary NOT LIKE '%printer%' LIMIT 5)")
            db.execute("UPDATE tickets SET number = ? WHERE rowid = (SELECT max(rowid) "
                       "FROM tickets WHERE status = 'closed' AND summary LIKE '%printer%')",
                       (ORDERED_BLOCK + 1,))
        ordered_text_in_step(db)
        every_jump(store, "printer")
        every_jump(store, "scanner")
        db.execute("PRAGMA foreign_keys = OFF")  # its timeline stays behind
        with store.transaction():
            db.execute("DELETE FROM tickets WHERE rowid IN (SELECT rowid FROM tickets "
                       "WHERE summary LIKE '%printer%' AND status = 'closed' LIMIT 3)")
        db.execute("PRAGMA foreign_keys = ON")
        ordered_text_in_step(db)
        every_jump(store, "printer")
        assert jumps and all(jumps)


def test_a_store_from_before_the_index_gets_it_on_opening(tmp_path: Path,
                                                          jumps: list[bool]) -> None:
    with make_desk(tmp_path, FakeClock()) as desk:
        demo.seed(desk.store, count=200, now=desk.now(), policy=desk.config.sla,
                  new_id=SeqIds())
        path = Path(desk.store.db.execute("PRAGMA database_list").fetchone()["file"])
    old = sqlite3.connect(path, isolation_level=None)
    for trigger in ("added", "changed", "removed"):
        old.execute(f"DROP TRIGGER ticket_text_ordered_{trigger}")
    old.execute("DROP TABLE ticket_text_ordered")
    old.execute("PRAGMA user_version = 15")  # as a store written before migration 16
    old.close()
    store = Store.open(path, ids=SeqIds(), now_ms=lambda: 0,
                       now_iso=lambda: "2026-01-01T00:00:00Z")
    try:
        assert store.schema_version >= 16
        ordered_text_in_step(store.db)
        every_jump(store, "printer")
        assert jumps and all(jumps)
    finally:
        store.close()


def test_the_codes_sort_as_the_queue_key(desk: Desk) -> None:
    """``ordered_code`` is the queue key's order for the tickets it codes: the key with
    its rank and due time held (2, '') orders them by priority then number, so a change
    to ``KEY_PARTS`` that breaks this shows here."""
    from deskcli.storage.migrations import ordered_code
    from deskcli.storage.queue_pages import KEY

    cursor = desk.store.db.cursor()
    cursor.row_factory = None
    code = ordered_code("t")
    by_key = [r[0] for r in cursor.execute(
        f"SELECT {code} FROM tickets t WHERE {code} IS NOT NULL ORDER BY {KEY}")]
    assert len(by_key) > 100
    assert by_key == sorted(by_key)
