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

What a flush costs is mostly SQLite's per-statement work, not the rows: each table's rows
go in ``INSERT … VALUES (…), (…)`` statements of up to 200 rows (``BulkWriter``), which
write the same rows in the same order as one statement per row at about two thirds of
the CPU. Per op, the Python work is kept to building the payload and encoding it once
(orjson, ``encoding.fast_encoder``); the clock stamp is two integers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from deskcli.domain import hlc as hlc_mod

from .bulk import BulkWriter
from .encoding import encode_json, fast_encoder

if TYPE_CHECKING:
    from deskcli.storage.store import Store


#: The store's JSON encoder (``storage/encoding.py``), shared with the ticket service's
#: timeline details and step data (the ops' values in a batch use orjson's, which gives
#: the same text).
ENCODE = encode_json


#: The outbox columns an op fills (``seq`` is the database's, ``state`` its default).
_OUTBOX_COLUMNS = ("op_id", "entity", "entity_id", "kind", "field", "value", "hlc",
                   "base_seq", "created_at")

#: Tables whose rows others refer to, in the order they must be written.
_PARENTS = {"clients": 0, "callers": 1, "tickets": 2}


class _Plan:
    """For rows of one table with one set of columns: the op's entity and kind, whether
    a new record gets a field version, and which values its payload keeps (a ticket's
    derived columns stay out: ``pick`` takes the others by position; None: all)."""

    __slots__ = ("entity", "kind", "versioned", "kept", "pick")

    def __init__(self, table: str, columns: tuple[str, ...], derived: frozenset[str],
                 entity: str, append_only: frozenset[str]) -> None:
        self.entity = entity
        self.kind = "append" if table in append_only else "create"
        self.versioned = self.kind == "create"
        positions = [i for i, column in enumerate(columns)
                     if table != "tickets" or column not in derived]
        self.kept = tuple(columns[i] for i in positions)
        self.pick: Callable[[tuple[Any, ...]], tuple[Any, ...]] | None = (
            None if len(positions) == len(columns)
            else _picker(positions))


def _picker(positions: list[int]) -> Callable[[tuple[Any, ...]], tuple[Any, ...]]:
    """``operator.itemgetter`` that always returns a tuple (one position included)."""
    if len(positions) == 1:
        only = positions[0]
        return lambda values: (values[only],)
    return itemgetter(*positions)


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
        clock = hlc_mod.Hlc.decode(previous) if previous else None
        #: The clock as two integers (``hlc.tick`` without an object per op); -1: none yet.
        self._wall, self._counter = (clock.wall_ms, clock.counter) if clock else (-1, 0)
        self._wall_text = f"{self._wall:015d}-"
        self._node_text = f"-{store.client_id}"
        self._now_ms = store.ms_clock
        self._ticked = False
        cursor = store.meta("sync_cursor")
        self._base_seq = int(cursor) if cursor else None
        self._node = store.client_id
        self._rows: dict[tuple[str, tuple[str, ...]], list[tuple[Any, ...]]] = {}
        #: What each (table, columns) shape's op needs, worked out once per shape.
        self._plans: dict[tuple[str, tuple[str, ...]], _Plan] = {}
        self._outbox: list[tuple[Any, ...]] = []
        self._versions: list[tuple[str, str, str, str]] = []
        self._encode = fast_encoder()
        self._bulk = BulkWriter(store)

    def _stamp(self) -> str:
        """``hlc.tick`` then ``Hlc.encode``, on the two integers (the wall's digits
        formatted once per millisecond)."""
        now = self._now_ms()
        if now > self._wall:
            self._wall, self._counter = now, 0
            self._wall_text = f"{now:015d}-"
        else:
            self._counter += 1
        self._ticked = True
        return f"{self._wall_text}{self._counter:06d}{self._node_text}"

    def insert(self, table: str, row: Mapping[str, Any], *, sync: bool = True,
               op_extra: Mapping[str, Any] | None = None) -> None:
        """The same row and op ``Store.insert`` writes, held until ``flush``."""
        key = (table, tuple(row))
        values = tuple(row.values())
        self._rows.setdefault(key, []).append(values)
        if not sync:
            return
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = _Plan(table, key[1], self._derived,
                                            self._entity[table], self._append_only)
        # The op's payload: the row less the derived ticket columns (``Store.insert``),
        # picked by position from the values already taken, without a filter per key.
        payload: Mapping[str, Any] = (dict(zip(plan.kept, plan.pick(values), strict=True))
                                      if plan.pick is not None else row)
        if op_extra:
            payload = {**payload, **op_extra}
        stamp = self._stamp()
        entity_id = str(row["id"])
        self._outbox.append((
            self.new_id(), plan.entity, entity_id, plan.kind, None,
            self._encode(payload), stamp, self._base_seq,
            str(row.get("at") or row.get("created_at") or "")))
        if plan.versioned:
            self._versions.append((plan.entity, entity_id, "*", stamp))

    @property
    def encode(self) -> Callable[[Any], str]:
        """The batch's JSON encoder (orjson's, the same text as ``ENCODE``): for the JSON
        columns of the rows it holds (an event's detail, a step record's data)."""
        return self._encode

    def tickets_indexed_together(self) -> AbstractContextManager[None]:
        """``BulkWriter.tickets_indexed_together``: the text index (and the knowledge
        base's) filled with one statement for every ticket written in the block."""
        return self._bulk.tickets_indexed_together()

    @property
    def pending(self) -> bool:
        return bool(self._rows or self._outbox)

    def flush(self) -> None:
        """Write every held row, op and field version, and the clock's last stamp."""
        if not self.pending and not self._ticked:
            return
        self.store.require_tx()
        bulk = self._bulk
        # Parents first (a ticket names its client and caller), then in order of arrival.
        held = sorted(self._rows.items(), key=lambda item: _PARENTS.get(item[0][0], 99))
        for (table, columns), values in held:
            bulk.insert(table, columns, values)
        if self._outbox:
            bulk.insert("outbox", _OUTBOX_COLUMNS, self._outbox)
        if self._versions:
            bulk.insert("field_versions", ("entity", "entity_id", "field", "hlc"),
                        self._versions,
                        upsert="ON CONFLICT(entity, entity_id, field) "
                               "DO UPDATE SET hlc = excluded.hlc")
        if self._ticked and self._wall >= 0:
            self.store.set_meta("hlc", f"{self._wall:015d}-{self._counter:06d}-{self._node}")
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
            if (stamp.wall_ms, stamp.counter) > (self._wall, self._counter):
                self._wall, self._counter = stamp.wall_ms, stamp.counter
                self._wall_text = f"{self._wall:015d}-"
