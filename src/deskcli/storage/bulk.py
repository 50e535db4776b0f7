"""Bulk loading in bounded transactions: many rows per statement, a checkpoint between
batches, so a large load keeps the write-ahead log (and memory) the size of one batch.

Used by the sample data (``services.demo``), whose rows never sync, and by
``storage/batch.py`` for bulk creation, which writes each row's sync op beside it in the
same transaction.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import chain
from typing import Any

from .bulk_load import (
    ORDERED_TEXT_TRIGGER,
    TEXT_REFILLS,
    TEXT_TRIGGER,
    first_value,
    hold_text_triggers,
    last_ticket_rowid,
    refill_text,
)
from .store import Store

__all__ = ["ORDERED_TEXT_TRIGGER", "TEXT_REFILLS", "TEXT_TRIGGER", "BulkWriter", "big_batch",
           "null_columns"]


def null_columns(rows: Sequence[Sequence[Any]], width: int) -> tuple[bool, ...]:
    """For each of ``width`` columns, whether it is ``None`` in every row; ``()`` when no
    column is, or every one is (transposed with ``zip``, so the work is in C, not a loop
    per value)."""
    empty = tuple(column.count(None) == len(column) for column in zip(*rows, strict=True))
    if len(empty) != width:
        raise ValueError(f"rows of {len(empty)} values for {width} columns")
    return empty if any(empty) and not all(empty) else ()


@contextmanager
def big_batch(store: Store, cache_mib: int = 64, *,
              pause_collector: bool = True) -> Iterator[None]:
    """For one large batch of writes (bulk creation): a page cache of ``cache_mib`` on the
    store's connection, so the transaction's pages stay in memory until its commit rather
    than spilling to the write-ahead log part-way (10,000 imported tickets dirty about
    50 MB; the default cache is 2 MB), and Python's cyclic garbage collector paused: the
    batch makes a few hundred thousand tuples and dicts, none of them in a cycle, and
    each collection walks them all (about 2% of an import's instructions). Both are put
    back after, however the block ends; memory stays bounded by ``cache_mib`` and by
    the batch's own flushes.

    ``pause_collector=False`` keeps the collector running: a long-lived process (the
    console) whose other threads keep making cyclic garbage meanwhile."""
    db = store.db
    found = db.execute("PRAGMA cache_size").fetchone()
    old_cache = int(first_value(found))
    collecting = gc.isenabled() and pause_collector
    db.execute(f"PRAGMA cache_size = {-int(cache_mib) * 1024}")
    if collecting:
        gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()
        db.execute(f"PRAGMA cache_size = {old_cache}")


class BulkWriter:
    """``insert`` must run inside ``store.transaction()``; ``checkpoint`` outside it."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._db = store.db
        self._sql: dict[tuple[str, tuple[str, ...], int, str, tuple[bool, ...]], str] = {}

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], *,
               upsert: str = "") -> None:
        """Rows given as tuples in ``columns`` order, up to ``ROWS_PER_STATEMENT`` per
        ``INSERT … VALUES (…), (…)`` statement; ``upsert`` is an ``ON CONFLICT`` clause
        to append (rows are applied in order, so a later row's update wins).

        Many rows per statement rather than one ``executemany`` row at a time: each
        statement on a table with triggers runs in a statement savepoint, and the full-text
        index (``kb_fts``, fed by a trigger on tickets) writes its pending terms to disk at
        every savepoint, so row-at-a-time inserts build one tiny index segment per ticket
        and spend their time merging them.

        A column that is NULL in every row is written as the literal ``NULL`` in the
        statement, not bound: the same rows, but Python's ``sqlite3`` (3.11) looks for an
        adapter for every ``None`` it binds, and that look-up raises and formats an
        ``AttributeError`` each time (about a fifth of binding a new ticket's row, most
        of whose columns are empty)."""
        self.store.require_tx()
        if not rows:
            return
        empty = null_columns(rows, len(columns))
        if empty:
            kept = (column for column, unused in zip(zip(*rows, strict=True), empty,
                                                     strict=True) if not unused)
            rows = list(zip(*kept, strict=True))
        per = max(1, min(self.ROWS_PER_STATEMENT, self.MAX_VARIABLES // len(columns)))
        whole = len(rows) - len(rows) % per
        if whole:
            sql = self._statement(table, columns, per, upsert, empty)
            self._db.executemany(sql, (tuple(chain.from_iterable(rows[i:i + per]))
                                       for i in range(0, whole, per)))
        if whole < len(rows):
            rest = rows[whole:]
            self._db.execute(self._statement(table, columns, len(rest), upsert, empty),
                             tuple(chain.from_iterable(rest)))

    #: Rows per statement, and SQLite's limit on parameters in one (32,766 since 3.32).
    ROWS_PER_STATEMENT = 200
    MAX_VARIABLES = 32_000

    def _statement(self, table: str, columns: Sequence[str], count: int,
                   upsert: str = "", empty: tuple[bool, ...] = ()) -> str:
        key = (table, tuple(columns), count, upsert, empty)
        sql = self._sql.get(key)
        if sql is None:
            names = ", ".join(f'"{c}"' for c in columns)
            marks = "(" + ", ".join("NULL" if empty and empty[i] else "?"
                                    for i in range(len(columns))) + ")"
            sql = self._sql[key] = (f"INSERT INTO {table} ({names}) VALUES "
                                    + ", ".join(marks for _ in range(count))
                                    + (f" {upsert}" if upsert else ""))
        return sql

    @contextmanager
    def tickets_indexed_together(self) -> Iterator[None]:
        """Inside one transaction: tickets written in the block are put in the knowledge
        base's index (``KnowledgeBase.index_tickets_after``) and the queue's text indexes
        (``TEXT_TRIGGER``, ``ORDERED_TEXT_TRIGGER``) together at its end instead of one by
        one by their triggers, which are dropped for the block and created again from
        their own saved text before the transaction commits. A failure rolls the whole
        transaction back, the triggers' removal with it."""
        self.store.require_tx()
        db = self._db
        held = hold_text_triggers(db)
        if not held:  # nothing to hold back (an older schema)
            yield
            return
        after = last_ticket_rowid(db)
        yield
        refill_text(db, held, after)

    def checkpoint(self) -> None:
        """Copy the log into the database file and let the next batch reuse it from the
        start (a reader still on old pages only delays this; nothing waits for it)."""
        self._db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    @contextmanager
    def loading(self, cache_mib: int = 64, log_limit_mib: int = 64,
                check_references: bool = True) -> Iterator[None]:
        """A larger page cache for the load (fewer index pages re-read and re-written per
        batch), and the log file cut back to ``log_limit_mib`` after each checkpoint;
        both are put back afterwards. Memory stays bounded by ``cache_mib``.

        ``check_references=False`` turns foreign-key checks off for the load (entered
        outside a transaction, where SQLite allows it): each row's parent is otherwise
        looked up in its index, about 20 look-ups per sample ticket. Only for rows made
        together with their parents, as the sample data is (its tests check for orphans).
        """
        db = self._db
        old_cache = first_value(db.execute("PRAGMA cache_size").fetchone())
        old_limit = first_value(db.execute("PRAGMA journal_size_limit").fetchone())
        old_keys = first_value(db.execute("PRAGMA foreign_keys").fetchone())
        db.execute(f"PRAGMA cache_size = {-int(cache_mib) * 1024}")
        db.execute(f"PRAGMA journal_size_limit = {int(log_limit_mib) * 1024 * 1024}")
        if not check_references:
            db.execute("PRAGMA foreign_keys = OFF")
        try:
            yield
        finally:
            db.execute(f"PRAGMA cache_size = {int(old_cache)}")
            db.execute(f"PRAGMA journal_size_limit = {int(old_limit)}")
            db.execute(f"PRAGMA foreign_keys = {'ON' if old_keys else 'OFF'}")
