"""The queue's text search through its index (``text_condition``, migration 15) finds
exactly what the ``LIKE`` scan it replaced found: the same tickets, counts and order,
for tricky terms (shorter than a trigram, wildcards, quotes, non-ASCII case, numbers),
after edits and deletions, and on a store that had tickets before the index existed."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.helpers import FakeClock, SeqIds, like_scan_ids, make_desk

from deskcli.domain.enums import Status
from deskcli.domain.intake import NewTicket
from deskcli.services import demo
from deskcli.services.desk import Desk
from deskcli.storage import queue_pages
from deskcli.storage.queue import Queue
from deskcli.storage.queue_ids import QueueIds
from deskcli.storage.queue_pages import KEY_PARTS, QueuePages, key_of
from deskcli.storage.store import Store

EVERY = [s.value for s in Status]

#: (summary, caller, client) of the tickets with tricky text.
TRICKY = [
    ("50% off the printer toner", "Zoë O'Brien", "100% Fitness"),
    ("a_b test of the scanner", "ann lee", "Acme_Corp"),
    ("ÉCRAN cassé au 3e étage", "Émile Durand", "Acme_Corp"),
    ("écran noir", "émile durand", None),
    ("Straße gesperrt, STRASSE frei", "Jörg Weiß", None),
    ("İstanbul office VPN", "Ayşe Yıldız", "Harbor Logistics"),
    ("Kelvin \u212a sign in the log", None, None),
    ('Quote "here" and it\'s fine', "O\"Neil", None),
    ("back\\slash path C:\\temp", None, None),
    ("emoji 🖨️ printer jam", None, None),
    ("ab", None, None),
    ("x", "xy", None),
    ("Printer PRINTER printer", "Pri Nter", None),
    ("tab\there", None, None),
    ("1001 nights of outage", None, None),
]

TERMS = [
    "e", "E", "ab", "AB", "pr", "PR", "printer", "PRINTER", "Printer", "rin", "%", "_",
    "%%", "50%", "50%_", "0% o", "a_b", "A_B", "a%b", "p%r%t", "%printer%", "pri_ter",
    '"here"', '"', "'", "it's", "O'Brien", "écran", "ÉCRAN", "Écran", "cassé", "CASSÉ",
    "straße", "STRASSE", "strasse", "istanbul", "İstanbul", "İSTANBUL", "\u212a", "k s",
    "\\", "back\\s", "c:\\temp", "🖨", "🖨️ p", "#12", "#", "##1", "12", "0", "00",
    "1001", "#1001", "1001 n", "10%", "1_0", "Zoë", "zoë", "ZOË", "acme_corp", "100%",
    " ", "tab\t", "xxx", "xy", "er s", "weiß", "yıldız", "ayşe", "nter", "-", "#-1",
    "AND", "OR", "NEAR", "*", "^", "(", ":",
]


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    desk = make_desk(tmp_path_factory.mktemp("text"), FakeClock())
    demo.seed(desk.store, count=600, now=desk.now(), policy=desk.config.sla,
              new_id=SeqIds(), open_share=0.3)
    for summary, caller, client in TRICKY:
        desk.tickets.create(NewTicket(summary=summary, caller=caller, client=client))
    with desk.store.transaction():
        # Numbers of every width, and tickets not numbered yet (made offline).
        desk.store.db.execute("UPDATE tickets SET number = number * 7 + 3 "
                              "WHERE rowid % 5 = 0")
        desk.store.db.execute("UPDATE tickets SET number = NULL, provisional = 'L-x-' || "
                              "rowid WHERE rowid % 97 = 0")
    yield desk
    desk.close()


def old_filtered(store: Store, filters: dict[str, Any]) -> list[str]:
    """The reference under other filters too: the queue's filter without the search,
    and the old ``LIKE`` clause."""
    search = str(filters["search"])
    body, params = Queue.filter(**{**filters, "search": None})
    body += (" AND " if " WHERE " in body else " WHERE ") + (
        "(t.summary LIKE ? OR c.name LIKE ? OR k.name LIKE ? "
        "OR CAST(t.number AS TEXT) LIKE ?)")
    cursor = store.db.cursor()
    cursor.row_factory = None
    rows = cursor.execute(f"SELECT t.id {body} ORDER BY {Queue.ORDER}",
                          [*params, *[f"%{search}%"] * 3, f"{search.lstrip('#')}%"])
    return [str(row[0]) for row in rows]


COMBINED: list[dict[str, Any]] = [
    {"statuses": ["closed"], "search": "printer", "priorities": ["P2", "P3"]},
    {"statuses": EVERY, "search": "e", "assignee": "dana"},
    {"statuses": EVERY, "search": "printer", "client": "Harbor Logistics"},
    {"statuses": ["resolved"], "search": "#10"},
    {"statuses": EVERY, "search": "er", "priorities": ["P1", "P4"]},
    {"statuses": None, "open_only": True, "search": "mail"},
]


@pytest.mark.parametrize("filters", COMBINED, ids=lambda f: ",".join(
    f"{k}={v}" for k, v in f.items() if v))
@pytest.mark.parametrize(("walk_above", "rows_read"), [(5, 0), (5, 20_000), (2000, 0)])
def test_a_search_with_other_filters_pages_as_the_scan(
        desk: Desk, monkeypatch: pytest.MonkeyPatch, filters: dict[str, Any],
        walk_above: int, rows_read: int) -> None:
    monkeypatch.setattr(queue_pages, "WALK_ABOVE", walk_above)
    monkeypatch.setattr(queue_pages, "ROWS_READ_FOR_TEXT", rows_read)
    want = old_filtered(desk.store, filters)
    assert desk.store.queue.count(**filters) == len(want)
    pages = QueuePages(desk.store)
    total = len(want)
    got: list[str] = []
    rows = pages.page(0, 9, total=total, **filters)
    while rows:
        got += [str(row[0]) for row in rows]
        rows = pages.page(len(got), 9, total=total, after=key_of(rows[-1]), **filters)
    assert got == want
    for at in (total // 2, max(total - 9, 0)):
        assert [str(r[0]) for r in pages.page(at, 9, total=total, **filters)] == \
            want[at:at + 9]


def new_ids(store: Store, search: str, statuses: list[str] | None = None) -> list[str]:
    rows = store.queue.rows(statuses=statuses or EVERY, search=search)
    return [str(row[0]) for row in rows]


def test_the_reference_sees_the_tricky_tickets(desk: Desk) -> None:
    """The terms are not vacuous: many find tickets, some find none."""
    found = [t for t in TERMS if like_scan_ids(desk.store, t)]
    assert len(found) > len(TERMS) // 2
    assert len(found) < len(TERMS)


@pytest.mark.parametrize("search", TERMS)
def test_the_index_finds_what_the_scan_found(desk: Desk, search: str) -> None:
    want = like_scan_ids(desk.store, search)
    assert new_ids(desk.store, search) == want
    assert desk.store.queue.count(statuses=EVERY, search=search) == len(want)
    assert sorted(QueueIds(desk.store).ids(statuses=EVERY, search=search)) == sorted(want)
    open_only = like_scan_ids(desk.store, search, ["new", "open", "in-progress"])
    assert new_ids(desk.store, search, ["new", "open", "in-progress"]) == open_only


@pytest.mark.parametrize("search", ["printer", "e", "#10", "p%r", "durand", "acme_corp", "1001"])
@pytest.mark.parametrize(("walk_above", "rows_read"), [(5, 0), (5, 20_000), (2000, 0)])
def test_history_pages_of_a_search_are_the_scan_in_order(
        desk: Desk, monkeypatch: pytest.MonkeyPatch, search: str, walk_above: int,
        rows_read: int) -> None:
    """Every way to reach a page (first, by key either way, the End key, a jump), on
    the short-list plan and on the walks a long list gets (reading rows near an end,
    the text index's matches further in)."""
    monkeypatch.setattr(queue_pages, "WALK_ABOVE", walk_above)
    monkeypatch.setattr(queue_pages, "ROWS_READ_FOR_TEXT", rows_read)
    want = like_scan_ids(desk.store, search)
    total = len(want)
    assert total >= 2
    pages = QueuePages(desk.store)
    filters: dict[str, Any] = {"statuses": EVERY, "search": search}
    size = 7

    def ids(rows: list[tuple[Any, ...]]) -> list[str]:
        return [str(row[:-len(KEY_PARTS)][0]) for row in rows]

    rows = pages.page(0, size, total=total, **filters)
    forward = list(rows)
    while rows:
        rows = pages.page(len(forward), size, total=total, after=key_of(rows[-1]),
                          **filters)
        forward += rows
    assert ids(forward) == want
    start = max(total - size, 0)
    rows = pages.page(start, size, total=total, **filters)
    backward = list(rows)
    while rows and start > 0:
        start = max(start - size, 0)
        rows = pages.page(start, size, total=total, before=key_of(rows[0]), **filters)
        backward = rows + backward
    assert ids(backward) == want
    for at in (total // 2, total // 3, 1):
        assert ids(pages.page(at, size, total=total, **filters)) == want[at:at + size]


def test_edits_and_deletions_keep_the_index_in_step(tmp_path: Path) -> None:
    with make_desk(tmp_path, FakeClock()) as desk:
        demo.seed(desk.store, count=60, now=desk.now(), policy=desk.config.sla,
                  new_id=SeqIds())
        created = desk.tickets.create(NewTicket(summary="Plotter jams on tray 2"))
        assert new_ids(desk.store, "plotter") == [created["id"]]
        with desk.store.transaction():
            desk.store.db.execute("UPDATE tickets SET summary = 'Scanner ÉCRAN dead' "
                                  "WHERE id = ?", (created["id"],))
        for term in ("plotter", "scanner", "écran", "ÉCRAN", "SCANNER"):
            assert new_ids(desk.store, term) == like_scan_ids(desk.store, term), term
        desk.store.db.execute("PRAGMA foreign_keys = OFF")  # its timeline stays behind
        with desk.store.transaction():
            desk.store.db.execute("DELETE FROM tickets WHERE id = ?", (created["id"],))
        desk.store.db.execute("PRAGMA foreign_keys = ON")
        assert new_ids(desk.store, "scanner") == like_scan_ids(desk.store, "scanner") == []
        # A later ticket may take the deleted one's rowid: it finds only its own text.
        again = desk.tickets.create(NewTicket(summary="Fresh keyboard request"))
        assert new_ids(desk.store, "scanner") == []
        assert new_ids(desk.store, "keyboard") == [again["id"]]
        assert desk.store.db.execute(
            "SELECT count(*) AS n FROM ticket_text").fetchone()["n"] == desk.store.tickets.count()


def test_a_store_with_tickets_from_before_the_index_gets_it_on_opening(
        tmp_path: Path) -> None:
    with make_desk(tmp_path, FakeClock()) as desk:
        demo.seed(desk.store, count=200, now=desk.now(), policy=desk.config.sla,
                  new_id=SeqIds())
        path = Path(desk.store.db.execute("PRAGMA database_list").fetchone()["file"])
        want = {t: like_scan_ids(desk.store, t) for t in ("printer", "e", "#10", "pr")}
    old = sqlite3.connect(path, isolation_level=None)
    for trigger in ("added", "changed", "removed"):
        old.execute(f"DROP TRIGGER ticket_text_{trigger}")
    old.execute("DROP TABLE ticket_text")
    old.execute("DROP INDEX tickets_by_caller")
    old.execute("PRAGMA user_version = 14")  # as a store written before migration 15
    old.close()
    store = Store.open(path, ids=SeqIds(), now_ms=lambda: 0,
                       now_iso=lambda: "2026-01-01T00:00:00Z")
    try:
        assert store.schema_version >= 15
        for term, ids in want.items():
            assert new_ids(store, term) == ids, term
    finally:
        store.close()
