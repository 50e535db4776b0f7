"""Group commit: the prepared pushes a server process has in hand are written together,
in one transaction with one commit (one fsync), under one take of the feed's lock.

Why: under load the feed's lock, not the work, was most of a push's time. Every push
took the counter lock, wrote, and committed one after the other, so twenty pushes
arriving together queued behind twenty commits and behind twenty lock holders each
waiting for a core between its statements. Here the first push to arrive writes; the
others that arrive while it does wait, and the next of them writes all of them at once.

Nothing about a single push changes:

- Each push is worked out on its own, without the lock (``feed.prepare``), exactly as
  before; only the writing is shared. Pushes that ``prepare`` leaves to the locked path
  (a store's first push, a refusal, server-assigned numbers, moves between clients) and
  pushes that a batch cannot keep are applied alone by ``feed.push_locked``, each in its
  own transaction, as before: a refused or failing push never sinks the others.
- A batch keeps a push only if no earlier push of the batch, and no push committed
  since its snapshot, touched a record, op id or ticket number it read or writes
  (``FeedWriter.touches``): what each kept push decided still holds when it is written.
- The batch takes its sequence numbers with the counter's lock, as one push did, and
  holds the lock to its commit: numbers are given in commit order with no gap, and no
  reader can pass a number that commits later.
- Every push's reply is sent only after the batch has committed; a crash or a lost
  connection before that leaves nothing of the batch, and the clients' retries find
  their ops either wholly applied or not at all (op ids are unique).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlmodel import Session

from deskcli.domain import hlc as hlc_mod
from deskcli.server import feed


@dataclass
class Entry:
    """One prepared push waiting for a batch, and what the batch made of it."""

    writer: feed.FeedWriter
    result: feed.PushResult
    #: Set when the push has been written and committed, or left to ``push_locked``.
    done: threading.Event = field(default_factory=threading.Event)
    #: True: written and committed. False: apply it alone (``push_locked``).
    written: bool = False
    #: Told to write the next batch (the previous writer handed over).
    leads: bool = False


class GroupCommit:
    """Batches one server process's prepared pushes (see the module's docstring).

    ``lock``: the SQLite server's in-process writer lock, held by a batch and by every
    locked push from its first write to its commit (SQLite has one writer at a time);
    None on PostgreSQL, where the counter row's lock orders writers of every process."""

    def __init__(self, lock: threading.Lock | None = None) -> None:
        self._lock = lock
        self._mutex = threading.Lock()
        self._queue: list[Entry] = []
        self._writing = False

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the in-process writer lock (SQLite) for a write and its commit."""
        with self._lock if self._lock is not None else nullcontext():
            yield

    def push(self, session: Session, tech: feed.Tech, origin: str,
             ops: Sequence[dict[str, Any]], *, now_iso: str, now_ms: int,
             new_id: Callable[[], str], max_ahead_ms: int = hlc_mod.MAX_AHEAD_MS
             ) -> feed.PushResult:
        """Apply a push and commit it (in a batch, or alone); the result once durable."""
        prepared = feed.prepare(session, tech, origin, ops, now_iso, now_ms, new_id,
                                max_ahead_ms)
        if prepared is not None:
            writer, result = prepared
            if not writer.op_rows:  # nothing new (a retried push): nothing to write
                session.rollback()
                result.server_seq = writer.prepared_at or 0
                return result
            entry = Entry(writer, result)
            self._submit(entry)
            if entry.written:
                return result
        session.rollback()
        with self.writing():
            try:
                result = feed.push_locked(session, tech, origin, ops, now_iso=now_iso,
                                          now_ms=now_ms, new_id=new_id,
                                          max_ahead_ms=max_ahead_ms)
                session.commit()
            except BaseException:
                session.rollback()  # before the next writer goes: SQLite's lock is ours
                raise
        return result

    def _submit(self, entry: Entry) -> None:
        """Queue ``entry``. If no batch is being written, write one (everything queued,
        ours included); else wait, either for the batch that takes ours or for the turn
        to write the next one (handed over by the push writing now)."""
        with self._mutex:
            self._queue.append(entry)
            leads = not self._writing
            self._writing = True
        if not leads:
            entry.done.wait()
            if not entry.leads:
                return  # written, or left to push_locked, by another push's batch
        batch: list[Entry] = []
        try:
            with self._mutex:
                batch, self._queue = self._queue, []
            with self.writing():
                commit_batch(entry.writer.s, batch)
        finally:
            # Whatever happened, nobody may wait for ever: a push the batch did not write
            # is applied alone by its own request.
            with self._mutex:
                for other in batch:
                    other.leads = False
                    other.done.set()
                if self._queue:
                    turn = self._queue[0]
                    turn.leads = True
                    turn.done.set()
                else:
                    self._writing = False


def commit_batch(session: Session, batch: Sequence[Entry]) -> None:
    """Write the prepared pushes of ``batch`` that can be kept in one transaction on
    ``session`` and commit it; mark the entries written (the others are applied alone by
    ``push_locked``). Any failure leaves nothing of the batch written and every entry to
    be applied alone, so one push's problem is its own."""
    kept = _disjoint(batch)
    while kept:
        try:
            touched = _write(session, [entry.writer for entry in kept])
            if not touched:
                session.commit()
        except Exception:  # noqa: BLE001 - each push is then applied alone, and fails alone
            try:
                session.rollback()
            except Exception:  # noqa: BLE001 - a lost connection: nothing was committed
                pass
            return
        if touched:
            session.rollback()  # nothing of the batch stays; write it again without them
            kept = [entry for entry in kept if entry.writer not in touched]
            continue
        for entry in kept:
            entry.written = True
            entry.result.server_seq = entry.writer.seq
        return


#: A sequence number after every push's snapshot: rows of the batch being formed are
#: checked by every push that comes after them in it.
_AFTER_EVERY_SNAPSHOT = 2**63


def _disjoint(batch: Sequence[Entry]) -> list[Entry]:
    """The entries of ``batch`` (in arrival order) that no earlier kept entry touches:
    what each read is not changed by another push of the same batch, and no two write
    the same record, op id or ticket number (one statement may not write a row twice)."""
    kept: list[Entry] = []
    rows: list[tuple[Any, ...]] = []
    numbers: set[int] = set()
    for entry in batch:
        writer = entry.writer
        mine = {row["number"] for row in writer.new_numbers}
        # Rows numbered past every snapshot: ``touches`` skips none of them.
        if writer.touches(rows) or mine & numbers:
            continue
        kept.append(entry)
        numbers |= mine
        rows += [(_AFTER_EVERY_SNAPSHOT, r["entity"], r["entity_id"], r["op_id"], r["scope"])
                 for r in writer.op_rows]
    return kept


def _write(session: Session, writers: Sequence[feed.FeedWriter]) -> list[feed.FeedWriter]:
    """Reserve the batch's sequence numbers (taking the counter's lock), check it against
    pushes committed since the earliest snapshot, and write every row. Returns the
    writers that such a push touched (then the caller rolls back), else []."""
    count = sum(len(writer.op_rows) for writer in writers)
    top = int(session.execute(text(
        "UPDATE srv_counter SET value = value + :n WHERE name = 'seq' RETURNING value"),
        {"n": count}).scalar_one())
    base = top - count
    after = min(writer.prepared_at or 0 for writer in writers)
    postgres = session.get_bind().dialect.name == "postgresql"
    merged = _merge(session, writers, base)
    if postgres:
        between = merged.write_all_postgres(after, base)
    else:
        between = merged.between(after, base) if base != after else []
    touched = [writer for writer in writers if writer.touches(between)]
    if touched or postgres:
        return touched
    merged.finish()
    return []


def _merge(session: Session, writers: Sequence[feed.FeedWriter],
           base: int) -> feed.FeedWriter:
    """One writer holding every row of ``writers``, each shifted onto its numbers after
    ``base`` in order (the writers keep the shifted numbers: their replies name them)."""
    first = writers[0]
    merged = feed.FeedWriter(session, first.tech, first.origin, first.now_iso,
                             max(w.now_ms for w in writers), first.new_id,
                             max(w.max_ahead_ms for w in writers))
    merged.counter_written = True
    for writer in writers:
        writer.shift(base)
        base = writer.seq
        merged.op_rows += writer.op_rows
        merged.new_entities.update(writer.new_entities)
        for key in writer.dirty_fields:
            merged.fields[key] = writer.fields[key]
        merged.dirty_fields |= writer.dirty_fields
        merged.new_numbers += writer.new_numbers
        if writer.server_hlc is not None and (
                merged.server_hlc is None
                or writer.server_hlc.encode() > merged.server_hlc.encode()):
            merged.server_hlc = writer.server_hlc
    merged.seq = base
    return merged
