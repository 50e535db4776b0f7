"""Many new rows and their sync ops, written with ``executemany`` (bulk creation).

``Store.insert`` runs about four statements per row: the row, a read and a rewrite of the
clock stamp in ``meta``, a read of the sync cursor, the outbox op (and a field version
for a new record). For 10,000 imported tickets that is a quarter of a million round
trips. ``BatchWriter`` writes exactly the same rows and ops, but keeps the clock and the
cursor in memory for the transaction and sends each table's rows in one ``executemany``
when flushed; ``meta`` gets the clock's last stamp once.

Updates are held too (``update``: the same ``UPDATE`` and one 'set' op and field version
per column as ``Store.update_ticket`` / ``Store.update_row``), so a bulk action
(``services/bulk.py``) writes its changes to many tickets the same way.

Rows are held until ``flush``: whoever buffers here must flush before anything reads
those rows (``holds`` says whether the batch holds rows of a table for a ticket; the
ticket service flushes before a change notice, whose listener reads and writes the
store itself) and before the transaction commits. Tables are flushed in the order
they were first written to, parents first (clients, callers, tickets), so a row
reaches the database after the rows it refers to; held updates follow the inserts, in
the order they were made.

``undoable`` is ``Store.savepoint`` for what the batch holds: a ticket the rules refuse
part-way through has its held rows, updates and ops dropped; if something made the
batch flush inside the block, what was held before the block is written first and a
savepoint opened for the rest, so rolling back undoes exactly the block.

What a flush costs is mostly SQLite's per-statement work, not the rows: each table's rows
go in ``INSERT … VALUES (…), (…)`` statements of up to 200 rows (``BulkWriter``), which
write the same rows in the same order as one statement per row at about two thirds of
the CPU. Per op, the Python work is kept to building the payload and encoding it once
(orjson, ``encoding.fast_encoder``); the clock stamp is two integers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
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

#: Rows one held ``UPDATE … WHERE id IN (…)`` changes at most.
_IN_CHUNK = 500

#: The statuses of the tickets for which a trigger's effect depends on the order rows
#: are updated in: ``kb_ticket_reindexed`` numbers a resolved or closed ticket's
#: knowledge-base document after the last one. The other triggers on ``tickets``
#: (``TICKET_TRIGGERS``) write each row's own index entries.
ORDER_DEPENDENT = ("resolved", "closed")
#: Every trigger on ``tickets`` when ``_write_updates`` was written: a test compares it
#: with the schema, so a new trigger is checked against the reasoning above.
TICKET_TRIGGERS = frozenset({
    "kb_ticket_indexed", "kb_ticket_reindexed", "kb_ticket_unindexed",
    "ticket_text_added", "ticket_text_changed", "ticket_text_removed",
    "ticket_text_ordered_added", "ticket_text_ordered_changed",
    "ticket_text_ordered_removed"})

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


class _Mark:
    """How much a batch held at one moment (``BatchWriter.undoable``)."""

    __slots__ = ("rows", "updates", "outbox", "versions")

    def __init__(self, rows: dict[tuple[str, tuple[str, ...]], int], updates: int,
                 outbox: int, versions: int) -> None:
        self.rows, self.updates, self.outbox, self.versions = rows, updates, outbox, versions


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
        #: Held updates, in order: ((table, columns), (values..., row id)).
        self._updates: list[tuple[tuple[str, tuple[str, ...]], tuple[Any, ...]]] = []
        #: (table, ticket id) of every held row and update: what a read must flush for.
        self._held: set[tuple[str, Any]] = set()
        #: Ops queued through the batch so far (held or written): a caller compares two
        #: readings to tell whether something it ran changed anything.
        self.ops_queued = 0
        #: Inside ``undoable``: how much was held when the block began, and the savepoint
        #: opened if the block had to flush.
        self._mark: _Mark | None = None
        self._savepoint: AbstractContextManager[None] | None = None
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
        self._held.add((table, row.get("ticket_id", row.get("id"))))
        if not sync:
            return
        self.ops_queued += 1
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

    def update(self, table: str, row_id: str, changes: Mapping[str, Any], at: str) -> None:
        """The same ``UPDATE`` and ops as ``Store.update_ticket`` (tickets: no op for a
        derived column) or ``Store.update_row`` (clients, callers), held until ``flush``."""
        if not changes:
            return
        self._updates.append(((table, tuple(changes)), (*changes.values(), row_id)))
        self._held.add((table, row_id))
        entity = self._entity[table]
        derived = self._derived if table == "tickets" else frozenset()
        encode = self._encode
        for column, value in changes.items():
            if column in derived:
                continue
            stamp = self._stamp()
            self.ops_queued += 1
            self._outbox.append((self.new_id(), entity, row_id, "set", column,
                                 encode(value), stamp, self._base_seq, at))
            self._versions.append((entity, row_id, column, stamp))

    def holds(self, table: str, ticket_id: str) -> bool:
        """Whether rows of ``table`` for this ticket (its own row for ``tickets``) are
        held: a read of them must ``flush`` first."""
        return (table, ticket_id) in self._held

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
        return bool(self._rows or self._outbox or self._updates)

    def flush(self) -> None:
        """Write every held row, update, op and field version, and the clock's last
        stamp. Inside ``undoable``, what was held before the block is written first,
        then a savepoint is opened for the block's own rows (see there)."""
        if not self.pending and not self._ticked:
            return
        self.store.require_tx()
        mark = self._mark
        if mark is not None and self._savepoint is None:
            self._write(mark)
            self._savepoint = self.store.savepoint()
            self._savepoint.__enter__()
            self._mark = _Mark({}, 0, 0, 0)
        self._write(None)
        if self._mark is not None:
            self._mark = _Mark({}, 0, 0, 0)

    def _write(self, upto: _Mark | None) -> None:
        """Write what is held (only what was held at ``upto``, when given) and drop it."""
        bulk = self._bulk
        # Parents first (a ticket names its client and caller), then in order of arrival.
        held = sorted(self._rows.items(), key=lambda item: _PARENTS.get(item[0][0], 99))
        for key, values in held:
            count = len(values) if upto is None else upto.rows.get(key, 0)
            if count:
                bulk.insert(key[0], key[1], values[:count])
                del values[:count]
            if not values:
                del self._rows[key]
        updates = self._updates if upto is None else self._updates[:upto.updates]
        self._write_updates(updates)
        del self._updates[:len(updates)]
        outbox = self._outbox if upto is None else self._outbox[:upto.outbox]
        if outbox:
            bulk.insert("outbox", _OUTBOX_COLUMNS, outbox)
            del self._outbox[:len(outbox)]
        versions = self._versions if upto is None else self._versions[:upto.versions]
        if versions:
            bulk.insert("field_versions", ("entity", "entity_id", "field", "hlc"),
                        versions,
                        upsert="ON CONFLICT(entity, entity_id, field) "
                               "DO UPDATE SET hlc = excluded.hlc")
            del self._versions[:len(versions)]
        if self._ticked and self._wall >= 0:
            self.store.set_meta("hlc", f"{self._wall:015d}-{self._counter:06d}-{self._node}")
            self._ticked = upto is not None and self.pending
        if not self.pending:
            self._held.clear()

    def _write_updates(self, updates: list[tuple[tuple[str, tuple[str, ...]],
                                                 tuple[Any, ...]]]) -> None:
        """The held updates, in the order they were made.

        A run of updates setting the same columns to the same values on different
        tickets (a bulk status change: one status, one time) goes as one ``UPDATE …
        WHERE id IN (…)``: each statement on ``tickets`` opens a cursor on the table and
        on each of its indexes and runs its triggers in a statement journal, so one
        statement for 500 rows costs about half the CPU of 500 statements. SQLite
        changes those rows in id order, not in the run's order; that gives the same rows
        unless a trigger's effect depends on the order (``ORDER_DEPENDENT``: the
        knowledge base numbers a resolved or closed ticket's document after the last
        one), so a run that sets or touches such a status goes row by row, in order."""
        db = self.store.db
        count = len(updates)
        start = 0
        while start < count:
            key, values = updates[start]
            table, columns = key
            assignments = ", ".join(f'"{c}" = ?' for c in columns)
            one_by_one = f"UPDATE {table} SET {assignments} WHERE id = ?"
            shared = values[:-1]
            end = start + 1
            ids = {values[-1]}
            while end < count and end - start < _IN_CHUNK:
                next_key, next_values = updates[end]
                if next_key != key or next_values[-1] in ids or next_values[:-1] != shared:
                    break
                ids.add(next_values[-1])
                end += 1
            run = [row for _, row in updates[start:end]]
            if end - start > 1 and self._order_free(table, columns, shared, ids):
                marks = ", ".join("?" for _ in run)
                db.execute(f"UPDATE {table} SET {assignments} WHERE id IN ({marks})",
                           (*shared, *(row[-1] for row in run)))
            else:
                # Row by row, in order; the following runs of the same columns with it.
                while end < count and updates[end][0] == key:
                    run.append(updates[end][1])
                    end += 1
                db.executemany(one_by_one, run)
            start = end

    def _order_free(self, table: str, columns: tuple[str, ...], shared: tuple[Any, ...],
                    ids: set[Any]) -> bool:
        """Whether updating these rows in any order writes the same as in the given one
        (see ``_write_updates``)."""
        if table != "tickets":
            return False  # clients and callers: few, row by row
        values = dict(zip(columns, shared, strict=True))
        if values.get("status") in ORDER_DEPENDENT:
            return False
        marks = ", ".join("?" for _ in ids)
        statuses = ", ".join("?" for _ in ORDER_DEPENDENT)
        found = self.store.db.execute(
            f"SELECT 1 FROM tickets WHERE id IN ({marks}) AND status IN ({statuses}) "
            "LIMIT 1", (*ids, *ORDER_DEPENDENT)).fetchone()
        return found is None

    def _mark_now(self) -> _Mark:
        return _Mark({key: len(values) for key, values in self._rows.items()},
                     len(self._updates), len(self._outbox), len(self._versions))

    @contextmanager
    def undoable(self) -> Iterator[None]:
        """What the block holds is dropped if it raises (and what it flushed rolled back
        to the savepoint its first flush opened); kept otherwise. Not nested."""
        self.store.require_tx()
        self._mark, self._savepoint = self._mark_now(), None
        try:
            yield
        except BaseException as error:
            mark = self._mark
            for key, values in list(self._rows.items()):
                del values[mark.rows.get(key, 0):]
                if not values:
                    del self._rows[key]
            del self._updates[mark.updates:]
            del self._outbox[mark.outbox:]
            del self._versions[mark.versions:]
            if self._savepoint is not None:
                self._savepoint.__exit__(type(error), error, error.__traceback__)
            raise
        else:
            if self._savepoint is not None:
                self._savepoint.__exit__(None, None, None)
        finally:
            self._mark, self._savepoint = None, None

    def resync_clock(self) -> None:
        """After writes went around the batch (``Store.insert``, ``update_ticket``), take
        the clock back from ``meta`` so stamps keep rising."""
        previous = self.store.meta("hlc")
        if previous:
            stamp = hlc_mod.Hlc.decode(previous)
            if (stamp.wall_ms, stamp.counter) > (self._wall, self._counter):
                self._wall, self._counter = stamp.wall_ms, stamp.counter
                self._wall_text = f"{self._wall:015d}-"
