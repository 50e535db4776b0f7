"""Bulk reads and writes for applying a page of the team server's feed (``sync.apply``).

A page holds up to thousands of rows. Looking each one up and writing it with its own
statements made a pull about ten times slower than writing the same rows directly, so the
applier reads what a page touches in a few ``IN (...)`` queries, decides every row in
memory, and writes the result here with one ``executemany`` per table and shape. Every
method runs inside the caller's transaction (the page and its cursor commit together).

Table and column names come from ``sync.protocol.ENTITY_TABLES`` and the store's own
``PRAGMA table_info``, never from the feed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import chain
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from deskcli.storage.store import Store

#: Parameters per ``IN (...)``: far below SQLite's limit of 32,766.
CHUNK = 500
#: Rows per ``INSERT`` statement, and the parameters one may hold (SQLite: 32,766).
ROWS_PER_STATEMENT = 200
MAX_VARIABLES = 32_000


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]


class PulledRows:
    def __init__(self, store: Store) -> None:
        self.store = store

    def existing_ids(self, table: str, ids: Iterable[str]) -> set[str]:
        wanted = sorted(set(ids))
        found: set[str] = set()
        for chunk in _chunks(wanted):
            marks = ", ".join("?" for _ in chunk)
            found.update(r["id"] for r in self.store.db.execute(
                f"SELECT id FROM {table} WHERE id IN ({marks})", list(chunk)))
        return found

    def versions(self, entity_ids: Iterable[str]) -> dict[tuple[str, str, str], str]:
        """Every stored field stamp of these records, keyed (entity, entity_id, field)."""
        wanted = sorted(set(entity_ids))
        found: dict[tuple[str, str, str], str] = {}
        for chunk in _chunks(wanted):
            marks = ", ".join("?" for _ in chunk)
            for row in self.store.db.execute(
                    "SELECT entity, entity_id, field, hlc FROM field_versions "
                    f"WHERE entity_id IN ({marks})", list(chunk)):
                found[(row["entity"], row["entity_id"], row["field"])] = str(row["hlc"])
        return found

    def ticket_numbers(self, numbers: Iterable[int],
                       ticket_ids: Iterable[str]) -> dict[int, str]:
        """Which ticket holds each of these numbers, and the numbers these tickets hold."""
        found: dict[int, str] = {}
        for column, values in (("number", sorted(set(numbers))),
                               ("id", sorted(set(ticket_ids)))):
            for chunk in _chunks(values):
                marks = ", ".join("?" for _ in chunk)
                for row in self.store.db.execute(
                        f"SELECT id, number FROM tickets WHERE {column} IN ({marks}) "
                        "AND number IS NOT NULL", list(chunk)):
                    found[int(row["number"])] = str(row["id"])
        return found

    def client_tiers(self, client_ids: Iterable[str]) -> dict[str, str]:
        wanted = sorted(set(client_ids))
        found: dict[str, str] = {}
        for chunk in _chunks(wanted):
            marks = ", ".join("?" for _ in chunk)
            for row in self.store.db.execute(
                    f"SELECT id, contract_tier FROM clients WHERE id IN ({marks})", list(chunk)):
                found[str(row["id"])] = str(row["contract_tier"])
        return found

    def insert_many(self, table: str, rows: Iterable[Mapping[str, Any]]) -> None:
        """``INSERT OR IGNORE`` each row (a row already here stays as it is), in order,
        up to ``ROWS_PER_STATEMENT`` rows per statement for each set of columns.

        Many rows per statement rather than one ``executemany`` row at a time: a
        statement on a table with triggers runs in a statement savepoint, and the
        full-text indexes fed by triggers on tickets (the knowledge base's, the queue's
        text index) write their pending terms out at every savepoint, as a segment per
        ticket that the index must then merge."""
        self.store.require_tx()
        db = self.store.db
        for columns, values in _by_shape(rows):
            names = ", ".join(f'"{c}"' for c in columns)
            marks = "(" + ", ".join("?" for _ in columns) + ")"
            per = max(1, min(ROWS_PER_STATEMENT, MAX_VARIABLES // len(columns)))
            head = f"INSERT OR IGNORE INTO {table} ({names}) VALUES "
            whole = len(values) - len(values) % per
            if whole:
                sql = head + ", ".join(marks for _ in range(per))
                db.executemany(sql, (tuple(chain.from_iterable(values[i:i + per]))
                                     for i in range(0, whole, per)))
            if whole < len(values):
                rest = values[whole:]
                db.execute(head + ", ".join(marks for _ in rest),
                           tuple(chain.from_iterable(rest)))

    def update_many(self, table: str, changes: Mapping[str, Mapping[str, Any]]) -> None:
        """Set columns of rows by id (``changes``: id -> {column: value}), in order."""
        self.store.require_tx()
        shaped = ({**columns, "id": row_id} for row_id, columns in changes.items() if columns)
        for columns, values in _by_shape(shaped):
            assignments = ", ".join(f'"{c}" = ?' for c in columns if c != "id")
            ordered = [c for c in columns if c != "id"] + ["id"]
            index = {c: i for i, c in enumerate(columns)}
            self.store.db.executemany(
                f"UPDATE {table} SET {assignments} WHERE id = ?",
                [tuple(v[index[c]] for c in ordered) for v in values])

    def set_versions(self, stamps: Mapping[tuple[str, str, str], str]) -> None:
        self.store.require_tx()
        self.store.db.executemany(
            "INSERT INTO field_versions(entity, entity_id, field, hlc) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(entity, entity_id, field) DO UPDATE SET hlc = excluded.hlc",
            [(*key, stamp) for key, stamp in stamps.items()])


def _by_shape(rows: Iterable[Mapping[str, Any]]) -> list[tuple[tuple[str, ...],
                                                              list[tuple[Any, ...]]]]:
    """Rows grouped by their columns, keeping order within a group; a group of rows whose
    order matters (the same row twice) never occurs: callers merge by id first."""
    groups: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
    for row in rows:
        columns = tuple(row)
        groups.setdefault(columns, []).append(tuple(row.values()))
    return list(groups.items())
