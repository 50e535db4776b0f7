"""Bulk creation's batched path writes exactly what the one-row-at-a-time path writes:
the same rows, the same sync ops in the same order, the same clock and leases."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from deskcli.domain.intake import NewTicket
from deskcli.domain.numbering import Authority, Lease
from deskcli.services import tickets as tickets_module
from deskcli.services.desk import Desk, open_desk
from deskcli.storage.bulk import BulkWriter
from helpers import FakeClock, SeqIds, paths_under

RECORDS: list[dict[str, Any]] = [
    {"summary": "Disk full on srv-1", "caller": "Ana", "email": "ana@acme.example",
     "client": "Acme", "priority": "P2"},
    {"summary": "Disk full on srv-2", "caller": "Ana", "email": "ana@acme.example",
     "client": "Acme"},
    {"summary": "VPN drops", "caller": "ana", "client": "Acme", "phone": "+1 555 0100"},
    {"summary": "No client, no caller"},
    {"summary": "Globex printer", "caller": "Ben", "email": "ben@globex.example",
     "client": "Globex", "verified": "callback", "priority": "P1"},
    {"summary": "Ben again, another address", "caller": "Ben", "email": "b2@globex.example",
     "client": "Globex"},
    {"summary": "Old caller gets a phone", "caller": "Zed", "email": "zed@acme.example",
     "client": "Acme", "phone": "+1 555 0199"},
    {"summary": "Same name, other client", "caller": "Ana", "client": "Initech"},
]
#: Callers already in the store under other spellings: SQLite's NOCASE folds ASCII
#: letters only, so "ZED" finds "Zed" but "ÄRNE" is a new caller, and a later "ärne"
#: must still find the stored "ärne", not the batch's "ÄRNE" (the batch's cache once
#: folded names fully and did).
MORE: list[dict[str, Any]] = [
    {"summary": "Upper-case name, stored caller", "caller": "ZED", "client": "Acme"},
    {"summary": "Stored non-ASCII caller, other case", "caller": "ÄRNE", "client": "Acme"},
    {"summary": "Stored non-ASCII caller", "caller": "ärne", "client": "Acme"},
    {"summary": "Stored address, new name", "caller": "Zedediah", "email": "zed@acme.example",
     "client": "Acme", "priority": "4"},
    {"summary": "New in the batch", "caller": "Quinn", "email": "quinn@acme.example",
     "client": "Acme", "channel": "email", "users_affected": 12},
]
TABLES = ("tickets", "events", "step_records", "callers", "clients", "field_versions",
          "number_leases")


def _desk(root: Path) -> Desk:
    counter = itertools.count(1)
    return open_desk(paths_under(root), now=FakeClock().now,
                     ids=SeqIds(counter=counter), actor="dana")


def _dump(desk: Desk) -> dict[str, Any]:
    db = desk.store.db
    out: dict[str, Any] = {t: [dict(r) for r in db.execute(f"SELECT * FROM {t} ORDER BY 1, 2")]
                           for t in TABLES}
    out["outbox"] = [{k: v for k, v in r.items() if k != "seq"}
                     for r in db.execute("SELECT * FROM outbox ORDER BY seq")]
    out["hlc"] = desk.store.meta("hlc")
    # The queue's text index (filled in one statement by a large batch) and the schema
    # (its trigger dropped for the batch and made again).
    out["ticket_text"] = [tuple(r.values()) for r in
                          db.execute("SELECT rowid, text FROM ticket_text ORDER BY rowid")]
    out["schema"] = sorted(tuple(r.values()) for r in
                           db.execute("SELECT type, name, sql FROM sqlite_master"))
    return out


def _seed(desk: Desk, *, block_left: int | None = None) -> None:
    """A caller already in the store, without a phone: the import fills it in. With
    ``block_left``, the number block has only that many numbers left, so the batch has
    to take the next block part-way through."""
    desk.tickets.create(NewTicket.from_mapping({"summary": "earlier", "caller": "Zed",
                                                "email": "zed@acme.example",
                                                "client": "Acme"}))
    desk.tickets.create(NewTicket.from_mapping({"summary": "earlier too", "caller": "ärne",
                                                "client": "Acme"}))
    if block_left is not None:
        (lease,) = desk.store.sync.leases()
        with desk.store.transaction():
            desk.store.sync.save_lease(Lease(lease.start, lease.end, lease.end - block_left,
                                             Authority.LOCAL), "2026-11-24T09:00:00Z")


def _one_at_a_time(desk: Desk, drafts: list[NewTicket]) -> None:
    """What ``create_many`` did before it was batched."""
    service = desk.tickets
    now = service._now()
    with desk.store.transaction():
        for draft in drafts:
            service.insert_ticket(draft, now)


def test_batched_and_row_at_a_time_write_the_same(tmp_path: Path) -> None:
    drafts = [NewTicket.from_mapping(r) for r in RECORDS * 3]
    batched, plain = _desk(tmp_path / "a"), _desk(tmp_path / "b")
    try:
        _seed(batched)
        _seed(plain)
        batched.tickets.create_many(drafts)
        _one_at_a_time(plain, drafts)
        assert _dump(batched) == _dump(plain)
    finally:
        batched.close()
        plain.close()


def test_a_batch_that_fails_writes_nothing(tmp_path: Path) -> None:
    desk = _desk(tmp_path / "a")
    try:
        before = _dump(desk)
        drafts = [NewTicket.from_mapping(r) for r in RECORDS]
        service = desk.tickets

        def boom(*_: Any) -> None:
            raise RuntimeError("disk on fire")

        service.on_change = boom
        try:
            service.create_many(drafts)
        except RuntimeError:
            pass
        service.on_change = None
        assert _dump(desk) == before
        assert service._batch is None, "the next write is not buffered"
    finally:
        desk.close()


@pytest.mark.parametrize("flush_every", [tickets_module.FLUSH_EVERY, 7])
def test_a_long_batch_across_statements_and_number_blocks_writes_the_same(
        tmp_path: Path, flush_every: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Over 200 rows a table is written in several multi-row statements plus a shorter
    last one; the number block runs dry part-way (the next block must start after the
    numbers the batch still holds); stored callers are found under other spellings.
    Also when the batch writes what it holds every few tickets (``FLUSH_EVERY``), and
    the text index is filled after the rows (``INDEX_TOGETHER``)."""
    monkeypatch.setattr(tickets_module, "FLUSH_EVERY", flush_every)
    drafts = [NewTicket.from_mapping({**r, "summary": f"{r['summary']} {i}"})
              for i, r in enumerate((RECORDS + MORE) * 19)]
    assert len(drafts) > BulkWriter.ROWS_PER_STATEMENT
    batched, plain = _desk(tmp_path / "a"), _desk(tmp_path / "b")
    try:
        _seed(batched, block_left=7)
        _seed(plain, block_left=7)
        made = batched.tickets.create_many(drafts)
        _one_at_a_time(plain, drafts)
        assert _dump(batched) == _dump(plain)
        numbers = [int(ref.lstrip("#")) for _, ref in made]
        assert numbers == list(range(numbers[0], numbers[0] + len(drafts)))
        assert len(batched.store.sync.leases()) == 2
    finally:
        batched.close()
        plain.close()


@pytest.mark.parametrize("table", ["tickets", "events", "outbox", "field_versions"])
def test_a_write_failing_at_any_table_leaves_nothing(tmp_path: Path, table: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The flush writes table after table; a failure at any of them (the disk, a
    constraint) rolls back every row, op, field version, lease and the clock."""
    desk = _desk(tmp_path / "a")
    try:
        _seed(desk)
        before = _dump(desk)
        original = BulkWriter.insert

        def failing(self: BulkWriter, name: str, *args: Any, **kwargs: Any) -> None:
            original(self, name, *args, **kwargs)
            if name == table:
                raise RuntimeError("disk unplugged")

        monkeypatch.setattr(BulkWriter, "insert", failing)
        with pytest.raises(RuntimeError, match="disk unplugged"):
            desk.tickets.create_many([NewTicket.from_mapping(r) for r in RECORDS * 60])
        monkeypatch.undo()
        assert _dump(desk) == before
        assert desk.tickets._batch is None, "the next write is not buffered"
        desk.tickets.create(NewTicket(summary="after the failure"))  # the store still works
    finally:
        desk.close()


def test_a_listener_that_flushes_mid_ticket_still_writes_the_same(tmp_path: Path) -> None:
    """A change listener (the outbound planner) makes the batch flush in the middle of a
    ticket: the rows and ops are still exactly those of the one-at-a-time path."""
    drafts = [NewTicket.from_mapping(r) for r in RECORDS + MORE]
    batched, plain = _desk(tmp_path / "a"), _desk(tmp_path / "b")
    heard: list[str] = []
    try:
        _seed(batched)
        _seed(plain)
        for desk in (batched, plain):
            desk.tickets.on_change = lambda what, *_: heard.append(what)
        batched.tickets.create_many(drafts)
        _one_at_a_time(plain, drafts)
        assert "created" in heard
        assert _dump(batched) == _dump(plain)
    finally:
        batched.close()
        plain.close()


def test_a_failed_large_batch_leaves_the_text_index_and_its_trigger(tmp_path: Path) -> None:
    """A batch large enough to fill the text index after its rows drops the index's
    trigger for the transaction; when it fails, the rollback puts the trigger back, and
    the next ticket is indexed by it as before."""
    desk = _desk(tmp_path / "a")
    try:
        _seed(desk)
        before = _dump(desk)
        drafts = [NewTicket.from_mapping({**r, "summary": f"{r['summary']} {i}"})
                  for i, r in enumerate(RECORDS * 30)]
        assert len(drafts) >= tickets_module.INDEX_TOGETHER
        service = desk.tickets
        made: list[str] = []

        def boom(what: str, *_: Any) -> None:
            made.append(what)
            if len(made) > 200:
                raise RuntimeError("disk on fire")

        service.on_change = boom
        with pytest.raises(RuntimeError, match="disk on fire"):
            service.create_many(drafts)
        service.on_change = None
        assert _dump(desk) == before
        desk.tickets.create(NewTicket(summary="Indexed by the trigger again"))
        found = desk.store.db.execute(
            "SELECT count(*) AS n FROM ticket_text WHERE text MATCH ?",
            ('"indexed by the trigger"',)).fetchone()
        assert found["n"] == 1
    finally:
        desk.close()


@pytest.mark.parametrize("fails", [None, RuntimeError, KeyboardInterrupt])
def test_a_large_batch_puts_the_page_cache_and_the_collector_back(
        tmp_path: Path, fails: type[BaseException] | None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch of ``INDEX_TOGETHER`` tickets or more runs with a larger page cache and the
    cyclic garbage collector paused (``storage.bulk.big_batch``); both are as before
    afterwards, also when the batch fails part-way or is interrupted (ctrl-c), and then
    nothing is written."""
    import gc

    desk = _desk(tmp_path / "a")
    try:
        db = desk.store.db
        cache_before = next(iter(db.execute("PRAGMA cache_size").fetchone().values()))
        seen: list[tuple[bool, int]] = []
        original = BulkWriter.insert

        def watching(self: BulkWriter, name: str, *args: Any, **kwargs: Any) -> None:
            cache = next(iter(db.execute("PRAGMA cache_size").fetchone().values()))
            seen.append((gc.isenabled(), cache))
            original(self, name, *args, **kwargs)
            if fails is not None and name == "events":
                raise fails("disk unplugged")

        monkeypatch.setattr(BulkWriter, "insert", watching)
        drafts = [NewTicket.from_mapping(r) for r in RECORDS * 13]
        assert len(drafts) >= tickets_module.INDEX_TOGETHER
        if fails is not None:
            with pytest.raises(fails, match="disk unplugged"):
                desk.tickets.create_many(drafts)
            assert db.execute("SELECT count(*) AS n FROM tickets").fetchone()["n"] == 0
        else:
            desk.tickets.create_many(drafts)
        assert seen and all(not collecting and cache == -64 * 1024
                            for collecting, cache in seen)
        assert gc.isenabled()
        assert next(iter(db.execute("PRAGMA cache_size").fetchone().values())) == cache_before
    finally:
        desk.close()


def test_big_batch_puts_back_what_it_found_when_nested_or_already_paused(
        tmp_path: Path) -> None:
    """``big_batch`` restores the state it found, not a default: a collector someone else
    paused stays paused, and a nested batch leaves the outer one's settings in place
    until the outer one ends."""
    import gc

    from deskcli.storage.bulk import big_batch

    desk = _desk(tmp_path / "a")
    try:
        def cache() -> int:
            return int(next(iter(desk.store.db.execute("PRAGMA cache_size")
                                 .fetchone().values())))

        before = cache()
        with big_batch(desk.store):
            with big_batch(desk.store, cache_mib=8):
                assert cache() == -8 * 1024 and not gc.isenabled()
            assert cache() == -64 * 1024 and not gc.isenabled()
        assert cache() == before and gc.isenabled()
        gc.disable()
        try:
            with big_batch(desk.store):
                assert not gc.isenabled()
            assert not gc.isenabled() and cache() == before
        finally:
            gc.enable()
    finally:
        desk.close()


def test_only_the_cli_runs_big_batches() -> None:
    """``big_batch`` pauses the cyclic collector for the whole process. In a one-shot
    command (``new --from``) that costs nothing; in the console or the server, whose
    other threads (the sync worker, request threads, Textual's widgets, which do make
    cycles) keep allocating meanwhile, a long batch would hold all their garbage. So
    ``create_many`` (which enters it for large batches) and ``big_batch`` are called from
    the CLI and the service layer only, and the bulk actions, which the console runs too,
    pause the collector only when the CLI says so (``test_bulk_batched``); using them
    elsewhere needs a look at this first."""
    src = Path(tickets_module.__file__).resolve().parents[1]
    allowed = {"cli/tickets.py", "services/tickets.py", "services/bulk.py",
               "storage/bulk.py"}
    callers = sorted(
        str(path.relative_to(src)) for path in src.rglob("*.py")
        if ("create_many(" in path.read_text() or "big_batch(" in path.read_text()))
    assert set(callers) <= allowed, callers
    assert "cli/tickets.py" in callers
