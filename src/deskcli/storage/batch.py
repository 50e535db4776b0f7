"""Many new rows and their sync ops, written with ``executemany`` (bulk creation).

``Store.insert`` runs about four statements per row: the row, a read and a rewrite of the
clock stamp in ``meta``, a read of the sync cursor, the outbox op (and a field version
for a new record). For 10,000 imported tickets that is a quarter of a million round
trips. ``BatchWriter`` writes exactly the same rows and ops, but keeps the clock and the
cursor in memory for the transaction and sends each table's rows in one ``executemany``
when flushed; ``meta`` gets the clock's last stamp once.

Rows are held until ``flush``: whoever buffers here must flush before anything reads
those tables (the ticket service flushes before a change notice and before any update
of a buffered row) and before the transaction commits. Tables are flushed in the order
they were first written to, parents first (clients, callers, tickets), so a row
reaches the database after the rows it refers to.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from deskcli.domain import hlc as hlc_mod

if TYPE_CHECKING:
    from deskcli.storage.store import Store


#: ``json.dumps(value, ensure_ascii=False, sort_keys=True)`` as ``Store._op`` encodes an
#: op's value, with the encoder built once instead of once per op.
_ENCODE = json.JSONEncoder(ensure_ascii=False, sort_keys=True).encode

#: Tables whose rows others refer to, in the order they must be written.
_PARENTS = {"clients": 0, "callers": 1, "tickets": 2}


class BatchWriter:
    """Buffered ``Store.insert`` for one transaction; ``flush`` writes what is held."""

    def __init__(self, store: Store, new_id: Callable[[], str]) -> None:
        from deskcli.storage.store import APPEND_ONLY, DERIVED_TICKET_COLUMNS, TABLE_ENTITY

        store.require_tx()
        self.store = store
        self.new_id = new_id
        self._append_only = frozenset(APPEND_ONLY)
        self._derived = DERIVED_TICKET_COLUMNS
        self._entity = TABLE_ENTITY
        previous = store.meta("hlc")
        self._clock = hlc_mod.Hlc.decode(previous) if previous else None
        self._ticked = False
        cursor = store.meta("sync_cursor")
        self._base_seq = int(cursor) if cursor else None
        self._node = store.client_id
        self._rows: dict[tuple[str, tuple[str, ...]], list[tuple[Any, ...]]] = {}
        self._outbox: list[tuple[Any, ...]] = []
        self._versions: list[tuple[str, str, str, str]] = []

    def _stamp(self) -> str:
        self._clock = hlc_mod.tick(self._clock, self.store.now_ms(), self._node)
        self._ticked = True
        return self._clock.encode()

    def insert(self, table: str, row: Mapping[str, Any], *, sync: bool = True,
               op_extra: Mapping[str, Any] | None = None) -> None:
        """The same row and op ``Store.insert`` writes, held until ``flush``."""
        self._rows.setdefault((table, tuple(row)), []).append(tuple(row.values()))
        if not sync:
            return
        derived = self._derived
        payload = {k: v for k, v in row.items() if k not in derived} if table == "tickets" \
            else dict(row)
        if op_extra:
            payload.update(op_extra)
        kind = "append" if table in self._append_only else "create"
        entity = self._entity[table]
        stamp = self._stamp()
        entity_id = str(row["id"])
        self._outbox.append((
            self.new_id(), entity, entity_id, kind, None,
            _ENCODE(payload), stamp, self._base_seq,
            str(row.get("at") or row.get("created_at") or "")))
        if kind == "create":
            self._versions.append((entity, entity_id, "*", stamp))

    @property
    def pending(self) -> bool:
        return bool(self._rows or self._outbox)

    def flush(self) -> None:
        """Write every held row, op and field version, and the clock's last stamp."""
        if not self.pending and not self._ticked:
            return
        self.store.require_tx()
        db = self.store.db
        # Parents first (a ticket names its client and caller), then in order of arrival.
        held = sorted(self._rows.items(), key=lambda item: _PARENTS.get(item[0][0], 99))
        for (table, columns), values in held:
            names = ", ".join(f'"{c}"' for c in columns)
            marks = ", ".join("?" for _ in columns)
            db.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", values)
        if self._outbox:
            db.executemany(
                "INSERT INTO outbox(op_id, entity, entity_id, kind, field, value, hlc, "
                "base_seq, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", self._outbox)
        if self._versions:
            db.executemany(
                "INSERT INTO field_versions(entity, entity_id, field, hlc) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(entity, entity_id, field) DO UPDATE SET hlc = excluded.hlc",
                self._versions)
        if self._ticked and self._clock is not None:
            self.store.set_meta("hlc", self._clock.encode())
            self._ticked = False
        self._rows.clear()
        self._outbox.clear()
        self._versions.clear()

    def resync_clock(self) -> None:
        """After writes went around the batch (``Store.insert``, ``update_ticket``), take
        the clock back from ``meta`` so stamps keep rising."""
        previous = self.store.meta("hlc")
        if previous:
            stamp = hlc_mod.Hlc.decode(previous)
            if self._clock is None or stamp > self._clock:
                self._clock = stamp
