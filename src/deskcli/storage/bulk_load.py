"""Large loads into a standalone store: the secondary indexes of the loaded tables are
built once, after the rows, instead of kept up row by row.

Keeping an index up during a load costs a B-tree descent per row per index (a sample
ticket and its timeline touch about twenty); building it afterwards is one scan and a
sort. While the indexes are away, their definitions sit in ``meta`` under
``DEFERRED_KEY``, written in the same transaction that drops them. So a load stopped
part-way (Ctrl-C, a kill, a power cut) leaves that record behind, and the next
``Store.open`` builds the indexes again (``restore_deferred``) before anything reads the
store: no store is ever left without its indexes once a deskcli command has opened it.

Only plain indexes are deferred. A ``UNIQUE`` index (and every primary key) enforces a
rule while rows go in, so it stays.

The full-text indexes fed per new ticket (the knowledge base's, ``kb_fts``, and the
queue's two trigram indexes of summaries, ``ticket_text`` and ``ticket_text_ordered``)
can be deferred the same way
(``indexes_deferred(…, text=True)``): their insert triggers are dropped and the tickets
loaded are indexed in one statement each at the end, which writes a few large index
segments instead of many small ones merged again and again as the index grows. The
record (``TEXT_KEY``: the last ticket rowid before the load and the triggers' text)
commits with the drop, and the end of the load, or the next ``Store.open`` after a kill,
indexes every ticket after that rowid and creates the triggers again, in the same
transaction as the indexes.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import kb
from .migrations import ordered_code

if TYPE_CHECKING:
    from .store import Store

#: ``meta`` key holding ``[[name, sql], …]`` of the indexes dropped for a load in progress.
DEFERRED_KEY = "deferred_indexes"

#: ``meta`` key holding ``{"after": rowid, "triggers": [[name, sql], …]}``: the tickets
#: after ``rowid`` are owed to the full-text indexes whose insert triggers were dropped.
TEXT_KEY = "deferred_text"

#: The trigger that puts each new resolved or closed ticket in the knowledge base's index.
KB_TRIGGER = "kb_ticket_indexed"
#: The trigger that puts each new ticket's summary in the text index (migration 15).
TEXT_TRIGGER = "ticket_text_added"
#: The one that puts it in the text index in the queue's order (migration 16).
ORDERED_TEXT_TRIGGER = "ticket_text_ordered_added"
#: The insert triggers that feed the full-text indexes one ticket at a time.
TEXT_TRIGGERS = (KB_TRIGGER, TEXT_TRIGGER, ORDERED_TEXT_TRIGGER)
#: What each held queue-text trigger would have written, for the tickets after a rowid
#: (the knowledge base's is ``kb.index_tickets_after``).
TEXT_REFILLS = {
    TEXT_TRIGGER: "INSERT INTO ticket_text(rowid, text) "
                  "SELECT rowid, lower(summary) FROM tickets WHERE rowid > ?",
    # OR REPLACE: a ticket of the block updated in it was put there by the update's trigger.
    ORDERED_TEXT_TRIGGER: "INSERT OR REPLACE INTO ticket_text_ordered(rowid, text) "
                          "SELECT code, lower(summary) FROM (SELECT "
                          f"{ordered_code('t')} AS code, t.summary FROM tickets t "
                          "WHERE t.rowid > ?) WHERE code IS NOT NULL ORDER BY code",
}

#: Sorter threads for the index builds (SQLite's own; the load's row generator is done
#: by then, so its core is free).
SORT_THREADS = 2

#: Stores this process is loading with their indexes away (``indexes_deferred``).
_LOADING: set[Path] = set()


def deferrable(store: Store, tables: Sequence[str]) -> list[tuple[str, str]]:
    """(name, CREATE statement) of each plain index on ``tables``, in schema order."""
    marks = ", ".join("?" for _ in tables)
    rows = store.db.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
        f"AND tbl_name IN ({marks}) AND sql NOT LIKE 'CREATE UNIQUE%' ORDER BY rowid",
        tuple(tables)).fetchall()
    return [(str(row["name"]), str(row["sql"])) for row in rows]


@contextmanager
def loading_lock(path: Path, *, wait: bool) -> Iterator[bool]:
    """An exclusive lock on ``<store>-load`` beside the store, held by a process while its
    load has indexes away; yields whether it was taken (with ``wait=False``, False when a
    live process holds it). The kernel lets go of it when that process dies, however it
    dies, which is what tells a running load from a killed one. A file of its own: closing
    any descriptor of the store itself would drop SQLite's own locks on it."""
    try:
        import fcntl
    except ImportError:  # no POSIX locks (Windows): every load counts as stopped
        yield True
        return
    lock = path.with_name(path.name + "-load")
    descriptor = os.open(lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        try:
            fcntl.lockf(descriptor, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except OSError:
            yield False
            return
        try:
            yield True
        finally:
            # Removed while still held: whoever opens the name next makes a new file,
            # and whoever already waits on this one finds the work done.
            with contextlib.suppress(OSError):
                lock.unlink()
    finally:
        os.close(descriptor)  # and with it the lock


@contextmanager
def indexes_deferred(store: Store, tables: Sequence[str], *,
                     text: bool = False) -> Iterator[list[str]]:
    """Drop the plain indexes of ``tables`` (recording them in ``meta`` in the same
    transaction), yield their names, and build them again when the block ends, however
    it ends. With ``text``, the full-text indexes' insert triggers are held back too, and
    the tickets written meanwhile are indexed at the end. Entered and left outside a
    transaction: the block commits its own.

    A process killed inside the block leaves the record; ``restore_deferred`` (run by
    ``Store.open``) finishes the job."""
    key = store.path.absolute()
    with loading_lock(store.path, wait=True):
        # POSIX locks belong to the process: another connection of this one would take
        # the lock too (and drop it when it closed), so the process notes its own loads.
        _LOADING.add(key)
        try:
            with _deferred(store, tables, text) as dropped:
                yield dropped
        finally:
            _LOADING.discard(key)


@contextmanager
def _deferred(store: Store, tables: Sequence[str], text: bool) -> Iterator[list[str]]:
    import json  # a bulk load's bookkeeping: not loaded by every open of the store

    with store.transaction():
        dropped = deferrable(store, tables)
        waiting = _pending(store.meta(DEFERRED_KEY)) + dropped
        store.set_meta(DEFERRED_KEY, json.dumps(waiting))
        for name, _sql in dropped:
            store.db.execute(f'DROP INDEX "{name}"')
        if text:
            _hold_text(store.db, store)
    try:
        yield [name for name, _sql in dropped]
    finally:
        with store.transaction():
            _finish(store.db, store.meta(DEFERRED_KEY), store.meta(TEXT_KEY))
            store.set_meta(DEFERRED_KEY, None)
            store.set_meta(TEXT_KEY, None)


def _hold_text(db: sqlite3.Connection, store: Store) -> None:
    """Drop the full-text insert triggers, recording them and the last ticket's rowid
    (an earlier record still owed keeps its rowid: its tickets come first)."""
    import json  # a bulk load's bookkeeping: not loaded by every open of the store

    owed = json.loads(store.meta(TEXT_KEY) or "null")
    held = [(str(n), str(q)) for n, q in owed["triggers"]] if owed else []
    held += hold_text_triggers(db)
    if not held:
        return
    after = int(owed["after"]) if owed else last_ticket_rowid(db)
    store.set_meta(TEXT_KEY, json.dumps({"after": after, "triggers": held}))


def hold_text_triggers(db: sqlite3.Connection) -> list[tuple[str, str]]:
    """Drop whichever of ``TEXT_TRIGGERS`` the store has (an older schema lacks some),
    inside the caller's transaction; (name, CREATE statement) of each, for
    ``refill_text``. Shared by the one-transaction bulk writes
    (``BulkWriter.tickets_indexed_together``) and the loads that record what they owe
    (``indexes_deferred(…, text=True)``)."""
    held: list[tuple[str, str]] = []
    for name in TEXT_TRIGGERS:
        found = db.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?",
                           (name,)).fetchone()
        if found is not None:
            held.append((name, str(first_value(found))))
            db.execute(f'DROP TRIGGER "{name}"')
    return held


def last_ticket_rowid(db: sqlite3.Connection) -> int:
    """The highest ticket rowid so far (0 for none): the tickets after it are a load's."""
    return int(first_value(db.execute("SELECT coalesce(max(rowid), 0) FROM tickets")
                           .fetchone()))


def refill_text(db: sqlite3.Connection, held: list[tuple[str, str]], after: int, *,
                skip_indexed: bool = False) -> None:
    """Index the tickets after rowid ``after`` in each full-text index whose trigger is
    in ``held`` and not in the schema, then create the trigger again from its saved
    text, inside the caller's transaction. ``skip_indexed``: see
    ``kb.index_tickets_after`` (for a load whose trigger was away across transactions)."""
    present = {str(first_value(row)) for row in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    for name, sql in held:
        if name in present:
            continue
        if name == KB_TRIGGER:
            kb.index_tickets_after(db, after, skip_indexed=skip_indexed)
        elif name in TEXT_REFILLS:
            # What the trigger would have written for each ticket after ``after``. No other
            # statement adds rows to ``ticket_text`` while its trigger is away (an update of
            # a summary updates the row that is not there yet: nothing); the ordered index's
            # update trigger may have, and its refill replaces those.
            db.execute(TEXT_REFILLS[name], (after,))
        db.execute(sql)
        present.add(name)


def first_value(row: object) -> Any:
    """The first column of a fetched row, whichever row factory made it (the store's
    dict rows, a raw connection's tuples, ``sqlite3.Row``)."""
    if isinstance(row, dict):
        return next(iter(row.values()))
    if isinstance(row, tuple | sqlite3.Row):
        return row[0]
    raise TypeError(f"not a row: {row!r}")


def _finish(connection: sqlite3.Connection, indexes: str | None, text: str | None) -> None:
    """What a load owes, inside the caller's transaction: the tickets' full-text entries
    and their triggers, then the plain indexes."""
    import json  # a bulk load's bookkeeping: not loaded by every open of the store

    if text:
        _fill_text(connection, json.loads(text))
    _rebuild(connection, _pending(indexes))


def _fill_text(connection: sqlite3.Connection, owed: dict[str, object]) -> None:
    """What a recorded load owes the full-text indexes (``refill_text``); another
    connection may have indexed some of its tickets meanwhile."""
    triggers = owed["triggers"]
    assert isinstance(triggers, list)
    refill_text(connection, [(str(n), str(q)) for n, q in triggers],
                int(str(owed["after"])), skip_indexed=True)


def restore_deferred(connection: sqlite3.Connection, path: Path) -> bool:
    """Build the indexes a stopped load left out (see the module's docstring); whether
    it did. For ``Store.open``, on its raw connection, before the migrations (the
    recorded statements belong to the schema they were taken from). A load still running
    (its process holds ``loading_lock``) is left to build them itself."""
    try:
        found = connection.execute("SELECT value FROM meta WHERE key IN (?, ?)",
                                   (DEFERRED_KEY, TEXT_KEY)).fetchone()
    except sqlite3.OperationalError:  # a new file: no meta table yet
        return False
    if found is None:
        return False
    if path.absolute() in _LOADING:  # this very process is loading it
        return False
    with loading_lock(path, wait=False) as free:
        if not free:
            return False
        return _restore(connection)


def _restore(connection: sqlite3.Connection) -> bool:
    connection.execute("BEGIN IMMEDIATE")
    try:
        # Another process may have finished it while this one waited for the lock.
        found = dict(connection.execute("SELECT key, value FROM meta WHERE key IN (?, ?)",
                                        (DEFERRED_KEY, TEXT_KEY)).fetchall())
        if found:
            _finish(connection, found.get(DEFERRED_KEY), found.get(TEXT_KEY))
            connection.execute("DELETE FROM meta WHERE key IN (?, ?)",
                               (DEFERRED_KEY, TEXT_KEY))
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    return bool(found)


def _pending(value: str | None) -> list[tuple[str, str]]:
    import json  # a bulk load's bookkeeping: not loaded by every open of the store

    return [(str(name), str(sql)) for name, sql in json.loads(value or "[]")]


def _rebuild(connection: sqlite3.Connection, indexes: list[tuple[str, str]]) -> None:
    """Each recorded index that is not there, from its own statement (so the schema reads
    exactly as before). SQLite sorts each index's keys with worker threads meanwhile:
    at a million tickets the largest sorts spill to temporary files."""
    present = {str(first_value(row)) for row in connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index'")}
    threads = first_value(connection.execute("PRAGMA threads").fetchone())
    connection.execute(f"PRAGMA threads = {SORT_THREADS}")
    try:
        for name, sql in indexes:
            if name not in present:
                connection.execute(sql)
                present.add(name)
    finally:
        connection.execute(f"PRAGMA threads = {int(str(threads))}")


@contextmanager
def rollback_journal(store: Store) -> Iterator[bool]:
    """The store in rollback-journal mode for a load, back to its write-ahead log after;
    yields whether it could switch (only a store no other connection has open can).

    A rollback journal keeps the old contents of the pages a transaction changes; the
    pages a load adds past the end of the file have none, so the journal stays a few
    pages long however many rows go in, and each row is written once (a write-ahead
    log takes every new page, then copies it into the database). Atomic and durable as
    before: a crash mid-transaction leaves a hot journal that the next connection rolls
    back. Entered and left outside a transaction."""
    db = store.db
    patience = first_value(db.execute("PRAGMA busy_timeout").fetchone())
    db.execute("PRAGMA busy_timeout = 0")  # another connection's hold will not end soon
    try:
        mode = first_value(db.execute("PRAGMA journal_mode = DELETE").fetchone())
        switched = str(mode).lower() == "delete"
    except sqlite3.OperationalError:  # another connection has the store open
        switched = False
    finally:
        db.execute(f"PRAGMA busy_timeout = {int(patience)}")
    try:
        yield switched
    finally:
        if switched:
            db.execute("PRAGMA journal_mode = WAL").fetchone()
