"""Copy what can still be read out of a damaged store into a new, sound one.

SQLite's own ``.recover`` is not available everywhere (some builds of the ``sqlite3``
shell fail it on every file), so deskcli carries its own salvage: a fresh store is made
with the current schema, and every row of every table that can still be read is copied
into it. Rows are read by rowid, and a read that fails on a broken page skips ahead past
it, so one bad page costs the rows on that page, not the rest of the table. The search
index is rebuilt by the new store's own triggers as articles and tickets arrive; rows
whose parent was lost (a note of a ticket that could not be read) are dropped so the new
store's references hold, and a row whose optional reference was lost (a ticket whose caller
could not be read) keeps everything else, with that reference cleared.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

#: Derived tables: filled by the new store's triggers, never copied.
_DERIVED = ("kb_docs", "kb_fts", "ticket_text")
_SKIPS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 1 << 20, 1 << 24, 1 << 32)


@dataclass
class SalvageReport:
    copied: dict[str, int] = field(default_factory=dict)
    #: Tables with rows that could not be read (broken pages skipped), and orphans dropped.
    damaged_tables: set[str] = field(default_factory=set)
    orphans_dropped: int = 0
    unreadable_tables: list[str] = field(default_factory=list)


def _tables(connection: sqlite3.Connection, schema: str) -> list[str]:
    return [str(row[0]) for row in connection.execute(
        f"SELECT name FROM {schema}.sqlite_master WHERE type = 'table' AND name NOT LIKE "
        "'sqlite_%' ORDER BY rootpage")]


def _columns(connection: sqlite3.Connection, schema: str, table: str) -> list[str]:
    return [str(row[1]) for row in connection.execute(f'PRAGMA {schema}.table_info("{table}")')]


def _optional_reference(connection: sqlite3.Connection, table: str, key: int) -> str | None:
    """The column of foreign key ``key`` of ``table`` if it may be NULL, else None."""
    columns = [str(row[3]) for row in connection.execute(
        f'PRAGMA main.foreign_key_list("{table}")') if row[0] == key]
    if len(columns) != 1:
        return None
    nullable = {str(row[1]): not row[3] and not row[5] for row in connection.execute(
        f'PRAGMA main.table_info("{table}")')}
    return columns[0] if nullable.get(columns[0]) else None


def _rows(connection: sqlite3.Connection, table: str, columns: list[str],
          on_loss: Callable[[], None]) -> Iterator[tuple[object, ...]]:
    """Every readable row of ``table``; on a broken page, skip ahead past it.

    ``connection`` reads the damaged file only: an error on a broken page can leave a
    connection's transaction unusable, so the writes go through another one.
    """
    names = ", ".join(f'"{c}"' for c in columns)
    last = -(1 << 63)
    size = 500
    while True:
        try:
            batch = connection.execute(
                f'SELECT rowid, {names} FROM "{table}" WHERE rowid > ? ORDER BY rowid '
                "LIMIT ?", (last, size)).fetchall()
        except sqlite3.DatabaseError:
            if size > 1:
                size = 1  # find the row where reading breaks, keeping every row before it
                continue
            on_loss()
            for skip in _SKIPS:
                try:
                    connection.execute(f'SELECT rowid FROM "{table}" WHERE rowid > ? '
                                       "ORDER BY rowid LIMIT 1", (last + skip,)).fetchall()
                except sqlite3.DatabaseError:
                    continue
                last += skip
                break
            else:
                return
            continue
        if not batch:
            return
        for row in batch:
            yield tuple(row[1:])
        last = int(batch[-1][0])


def salvage(source: Path, target: Path, *, open_new: Callable[[Path], object]) -> SalvageReport:
    """Copy the readable rows of ``source`` into a new store at ``target``.

    ``open_new`` creates the new store (``Store.open`` with the current schema) and
    returns an object with ``close()``; the copy then runs on a plain connection.
    """
    report = SalvageReport()
    store = open_new(target)
    store.close()  # type: ignore[attr-defined]
    reader = sqlite3.connect(source.absolute().as_uri() + "?mode=ro", uri=True,
                             isolation_level=None)
    connection = sqlite3.connect(target.absolute().as_uri(), uri=True, isolation_level=None)
    try:
        connection.execute("PRAGMA foreign_keys=OFF")
        try:
            old_tables = set(_tables(reader, "main"))
        except sqlite3.DatabaseError:
            old_tables = set()
            report.unreadable_tables.append("(the list of tables)")
        connection.execute("BEGIN IMMEDIATE")
        for table in _tables(connection, "main"):
            if table.startswith(_DERIVED) or table not in old_tables:
                continue
            try:
                wanted = set(_columns(reader, "main", table))
            except sqlite3.DatabaseError:
                report.unreadable_tables.append(table)
                continue
            columns = [c for c in _columns(connection, "main", table) if c in wanted]
            verb = "INSERT OR REPLACE" if table == "meta" else "INSERT OR IGNORE"
            marks = ", ".join("?" for _ in columns)
            names = ", ".join(f'"{c}"' for c in columns)
            count = 0

            def lost(name: str = table) -> None:
                report.damaged_tables.add(name)

            for row in _rows(reader, table, columns, lost):
                connection.execute(f'{verb} INTO main."{table}" ({names}) VALUES ({marks})',
                                   row)
                count += 1
            report.copied[table] = count
        for table, rowid, _parent, key in connection.execute(
                "PRAGMA main.foreign_key_check").fetchall():
            report.damaged_tables.add(table)
            column = _optional_reference(connection, table, key)
            if column is not None:
                # A ticket whose caller was lost is still a ticket: keep it, without
                # the caller, rather than lose the whole row.
                connection.execute(f'UPDATE main."{table}" SET "{column}" = NULL '
                                   "WHERE rowid = ?", (rowid,))
                continue
            connection.execute(f'DELETE FROM main."{table}" WHERE rowid = ?', (rowid,))
            report.orphans_dropped += 1
        connection.execute("COMMIT")
    finally:
        connection.close()
        reader.close()
    return report
