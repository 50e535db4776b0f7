"""The console's queue pages (``storage/queue_pages.py``): the same rows in the same order
as ``Queue.rows`` whichever way a page is reached, and each long-list page served
by the queue key's index, not by a sort of every ticket."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.helpers import FakeClock, SeqIds, make_desk

from deskcli.domain.enums import Status
from deskcli.services import demo
from deskcli.services.desk import Desk
from deskcli.storage import queue_pages
from deskcli.storage.migrations import MIGRATIONS, V11_QUEUE_KEY, V14_FILTERED_QUEUE_KEYS
from deskcli.storage.queue_pages import (
    FILTER_INDEXES,
    INDEX_SQL,
    KEY_PARTS,
    QueuePages,
    key_of,
)
from deskcli.storage.store import Store

EVERY = [s.value for s in Status]
FILTERS: list[dict[str, Any]] = [
    {"statuses": EVERY},
    {"statuses": None, "open_only": True},
    {"statuses": None, "open_only": False},
    {"statuses": ["resolved", "closed"]},
    {"statuses": EVERY, "priorities": ["P1", "P3"]},
    {"statuses": EVERY, "priorities": ["P4", "P1", "P2", "P3"]},
    {"statuses": ["closed"], "priorities": ["P3", "P2"]},
    {"statuses": EVERY, "client": "Harbor Logistics"},
    {"statuses": None, "open_only": True, "search": "printer"},
    {"statuses": EVERY, "assignee": "DANA"},
    {"statuses": EVERY, "priorities": ["P2"]},
    {"statuses": EVERY, "client": "harbor logistics", "priorities": ["P2", "P3"]},
    {"statuses": ["resolved", "closed"], "assignee": "sam", "client": "Harbor Logistics"},
]
#: The history view's filters, each walked in its own index (``FILTER_INDEXES``).
WALKED = {
    "every": ({"statuses": EVERY}, "tickets_queue_key "),
    "assignee": ({"statuses": EVERY, "assignee": "Dana"}, "tickets_queue_key_by_assignee"),
    "client": ({"statuses": EVERY, "client": "harbor logistics"},
               "tickets_queue_key_by_client"),
    "priority": ({"statuses": EVERY, "priorities": ["P2"]}, "tickets_queue_key_by_priority"),
    # Several priorities: a merge of the priority index's ranges, one per priority.
    "priorities": ({"statuses": EVERY, "priorities": ["P1", "P2"]},
                   "tickets_queue_key_by_priority"),
    "priorities-closed": ({"statuses": ["closed"], "priorities": ["P4", "P2", "P3"]},
                          "tickets_queue_key_by_priority"),
    # One status (the console's filter offers one): checked on each entry, no sort.
    "closed": ({"statuses": ["closed"]}, "tickets_queue_key "),
    "priority-closed": ({"statuses": ["closed"], "priorities": ["P3"]},
                        "tickets_queue_key_by_priority"),
    "client-closed": ({"statuses": ["closed"], "client": "harbor logistics"},
                      "tickets_queue_key_by_client"),
}
PAGE = 37  # not a divisor of the counts: partial last pages


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    desk = make_desk(tmp_path_factory.mktemp("pages"), FakeClock())
    demo.seed(desk.store, count=1500, now=desk.now(), policy=desk.config.sla,
              new_id=SeqIds(), open_share=0.3)
    with desk.store.transaction():
        # Tickets not numbered yet (made offline) and equal keys: ties the rowid breaks.
        desk.store.db.execute("UPDATE tickets SET number = NULL, provisional = 'L-x-' || "
                              "rowid WHERE rowid % 97 = 0")
    yield desk
    desk.close()


def expected(desk: Desk, filters: dict[str, Any]) -> list[tuple[Any, ...]]:
    return list(desk.store.queue.rows(**filters))


def strip(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return [row[:-len(KEY_PARTS)] for row in rows]


@pytest.mark.parametrize("filters", FILTERS, ids=lambda f: ",".join(
    f"{k}={v}" for k, v in f.items() if v))
def test_pages_reached_any_way_are_the_queue_in_order(desk: Desk,
                                                      filters: dict[str, Any]) -> None:
    pages = QueuePages(desk.store)
    want = expected(desk, filters)
    total = len(want)
    for count in (total, None):  # with the count (the console's way) and without
        # Forward from the top, each page from the key of the one above.
        rows = pages.page(0, PAGE, total=count, **filters)
        forward = list(rows)
        while rows:
            rows = pages.page(len(forward), PAGE, total=count, after=key_of(rows[-1]),
                              **filters)
            forward += rows
        assert strip(forward) == want
        # Backward from the end (the End key), each page from the key of the one below.
        start = max(total - PAGE, 0)
        rows = pages.page(start, PAGE, total=total, **filters)
        backward = list(rows)
        while rows and start > 0:
            start = max(start - PAGE, 0)
            rows = pages.page(start, PAGE, total=count, before=key_of(rows[0]), **filters)
            backward = rows + backward
        assert strip(backward) == want
        # A jump into the middle.
        middle = total // 2
        assert strip(pages.page(middle, PAGE, total=count, **filters)) == \
            want[middle:middle + PAGE]


def test_the_migration_creates_the_index_the_pages_name(desk: Desk) -> None:
    assert V11_QUEUE_KEY.strip().rstrip(";") == INDEX_SQL
    found = desk.store.db.execute(
        "SELECT sql FROM sqlite_master WHERE name = 'tickets_queue_key'").fetchone()
    assert found is not None
    scripts = [s.strip().rstrip(";") for s in V14_FILTERED_QUEUE_KEYS.split(";\n")]
    assert [s for s in scripts if s] == list(FILTER_INDEXES.values())
    for name in FILTER_INDEXES:
        assert desk.store.db.execute(
            "SELECT 1 FROM sqlite_master WHERE name = ?",
            (f"tickets_queue_key_by_{name}",)).fetchone() is not None


def plans(desk: Desk, monkeypatch: pytest.MonkeyPatch, read: Any) -> list[str]:
    """EXPLAIN QUERY PLAN of every statement ``read`` runs on the store."""
    seen: list[str] = []
    pages = QueuePages(desk.store)
    real = pages._db

    class Spy:
        def cursor(self) -> Any:
            cursor = real.cursor()

            class Cursor:
                row_factory = None

                def execute(self, sql: str, params: Any = ()) -> Any:
                    explain = real.cursor()
                    explain.row_factory = None
                    seen.extend(r[3] for r in explain.execute("EXPLAIN QUERY PLAN " + sql,
                                                              params))
                    cursor.row_factory = self.row_factory
                    return cursor.execute(sql, params)
            return Cursor()

    monkeypatch.setattr(pages, "_db", Spy())
    read(pages)
    return seen


@pytest.mark.parametrize("view", sorted(WALKED))
@pytest.mark.parametrize("how", ["first", "after", "before", "end", "middle"])
def test_history_pages_use_the_queue_key_and_sort_nothing(
        desk: Desk, monkeypatch: pytest.MonkeyPatch, how: str, view: str) -> None:
    filters, index = WALKED[view]
    total = len(expected(desk, filters))
    # This store is small; the walk is for long lists (a million tickets in history).
    monkeypatch.setattr(queue_pages, "WALK_ABOVE", 50)
    assert total > 50
    at = total // 3
    some = QueuePages(desk.store).page(at, PAGE, total=total, **filters)
    reads = {
        "first": lambda p: p.page(0, PAGE, total=total, **filters),
        "after": lambda p: p.page(at + PAGE, PAGE, total=total, after=key_of(some[-1]),
                                  **filters),
        "before": lambda p: p.page(at - PAGE, PAGE, total=total, before=key_of(some[0]),
                                   **filters),
        "end": lambda p: p.page(total - 10, PAGE, total=total, **filters),
        "middle": lambda p: p.page(total // 2, PAGE, total=total, **filters),
    }
    seen = plans(desk, monkeypatch, reads[how])
    assert seen
    assert not [p for p in seen if "TEMP B-TREE" in p], seen
    scans = [p for p in seen if p.startswith(("SCAN t", "SEARCH t"))]
    assert scans and all(f"{index}" in f"{p} " or "PRIMARY KEY" in p for p in scans), seen
    assert any(index in f"{p} " for p in scans), seen


@pytest.mark.parametrize("view", sorted(WALKED))
def test_a_filtered_count_reads_its_filter_index_alone(desk: Desk, view: str) -> None:
    """The history view's count (``Queue.count``) is a range of a covering index on
    the filter's column: no ticket row is read, only the matches' index entries."""
    filters, index = WALKED[view]
    seen: list[str] = []
    desk.store.db.set_trace_callback(seen.append)
    try:
        assert desk.store.queue.count(**filters) == len(expected(desk, filters))
    finally:
        desk.store.db.set_trace_callback(None)
    plan = [r["detail"] for r in desk.store.db.execute("EXPLAIN QUERY PLAN " + seen[0])]
    if view in ("assignee", "client", "priority"):
        # This index, or a narrower one on the same column (tickets_by_client).
        column = {"client": "client_id"}.get(view, view)
        assert any(p.startswith("SEARCH t USING COVERING INDEX tickets_") and
                   f"({column}=?)" in p for p in plan), plan
    assert not [p for p in plan if p.startswith("SCAN t ") or "TEMP B-TREE" in p
                or p.startswith("SCAN t\n")], plan


def test_a_key_of_the_wrong_shape_is_refused(desk: Desk) -> None:
    with pytest.raises(ValueError, match="parts"):
        QueuePages(desk.store).after((1, 2), 10, statuses=EVERY)


def test_a_store_from_before_the_index_gets_it_on_opening(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = sqlite3.connect(path, isolation_level=None)
    for number, _description, script in MIGRATIONS:
        if "tickets_queue_key" in script:
            break
        old.executescript(script)
        old.execute(f"PRAGMA user_version = {number}")
    old.close()
    store = Store.open(path, ids=SeqIds(), now_ms=lambda: 0,
                       now_iso=lambda: "2026-01-01T00:00:00Z")
    try:
        names = {r["name"] for r in store.db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert "tickets_queue_key" in names
    finally:
        store.close()



def test_a_store_from_before_the_filter_indexes_gets_them_and_pages_by_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A version-13 store with tickets opens at 14 with the three filter indexes, and
    its filtered history then pages by them, with the same rows as the plain listing."""
    with make_desk(tmp_path, FakeClock()) as desk:
        demo.seed(desk.store, count=300, now=desk.now(), policy=desk.config.sla,
                  new_id=SeqIds())
        path = Path(desk.store.db.execute("PRAGMA database_list").fetchone()["file"])
        client = str(desk.store.db.execute("SELECT name FROM clients").fetchone()["name"])
    old = sqlite3.connect(path, isolation_level=None)
    for name in FILTER_INDEXES:
        old.execute(f"DROP INDEX tickets_queue_key_by_{name}")
    old.execute("PRAGMA user_version = 13")  # as a store written before migration 14
    old.close()
    store = Store.open(path, ids=SeqIds(), now_ms=lambda: 0,
                       now_iso=lambda: "2026-01-01T00:00:00Z")
    try:
        assert store.schema_version >= 14  # later migrations ran too
        names = {r["name"] for r in store.db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert {f"tickets_queue_key_by_{n}" for n in FILTER_INDEXES} <= names
        monkeypatch.setattr(queue_pages, "WALK_ABOVE", 10)
        for extra in ({"assignee": "DANA"}, {"client": client.upper()},
                      {"priorities": ["P3"]}):
            filters: dict[str, Any] = {"statuses": EVERY, **extra}
            want = list(store.queue.rows(**filters))
            assert len(want) > 20 and store.queue.count(**filters) == len(want)
            got = QueuePages(store).page(len(want) // 2, 10, total=len(want), **filters)
            assert strip(got) == want[len(want) // 2:len(want) // 2 + 10]
    finally:
        store.close()
