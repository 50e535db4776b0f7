"""Bulk actions: one change for many tickets, previewed, then all or nothing.

``BulkService.preview(refs, action)`` and ``.apply(refs, action, keep_going=False)`` run
the single-ticket service methods (``TicketService.update``, ``add_note``, ``resolve``,
``close``, ``link``...) ticket by ticket inside ONE transaction, each in a savepoint: a
ticket the rules refuse is rolled back alone and its refusal is the single-ticket
command's own message. Then:

* ``preview`` rolls the whole transaction back: it shows exactly what ``apply`` would do
  (the same checks, in the same order, on the same rows) and writes nothing;
* ``apply`` commits if nothing was refused; with a refusal it rolls everything back
  unless ``keep_going``, which commits the tickets that could be changed.

A public update goes through ``add_note``: the outbound planner queues one message per
caller about their own ticket, in the same transaction, so a rolled-back run queues
nothing either.

The commonest kinds (``BATCHED``: set fields and tags, internal note, reply, resolve and
close) run the very same service methods inside ``TicketService.batched``: their
inserts, updates, ops, field versions and clock stamps are held by the batch writer
(``storage/batch.py``) and written with a few ``executemany`` per table, a ticket read
again is read from the batch's copy of its row, and each ticket's savepoint is the
batch's (``TicketService.undoable``: a refusal drops what that ticket held). No check is
made a second way: the batch only changes where the writes wait. What changed on each ticket
is described once the batch is written, from the store: nothing in these kinds changes
a ticket again once it has been changed (a resolve with children changes open
children, which a resolve then leaves alone, and a resolved or closed ticket stays so).
Reads the verbs make of rows the batch may hold (a resolve or close reads the ticket's
step records and time entries, a resolve with children the children) are served after
a flush where it holds some (``TicketService._fresh``, ``open_children``). The other
kinds keep the per-ticket path.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from typing import Any

from deskcli.domain.bulk import (
    BulkAction,
    BulkKind,
    BulkResult,
    OutcomeState,
    TicketOutcome,
)
from deskcli.domain.errors import DeskError, NotFound
from deskcli.domain.numbering import TicketRef, display_ref, parse_ref
from deskcli.services.tickets import FLUSH_EVERY, INDEX_TOGETHER, TicketService
from deskcli.storage.bulk import big_batch
from deskcli.storage.rows import TicketRow

#: Ticket fields whose change a preview lists (old → new).
_SHOWN = ("status", "priority", "assignee", "queue", "type", "category", "impact",
          "urgency", "parent_id", "merged_into")


#: Kinds whose writes the batch holds (``TicketService.batched``).
BATCHED = frozenset({BulkKind.SET, BulkKind.NOTE, BulkKind.UPDATE, BulkKind.RESOLVE,
                     BulkKind.CLOSE})


def batches(action: BulkAction) -> bool:
    """Whether ``action`` runs on the batched path. A change of client stays on the
    per-ticket path: it files the client and moves the caller (``ensure_client``,
    ``_caller_of_client``), whose batch look-ups were written for bulk creation."""
    return action.kind in BATCHED and "client" not in action.fields


class _Undo(Exception):
    """Raised inside the transaction to roll it back on purpose (a preview, a refusal)."""


class BulkService:
    """Previews and applies ``BulkAction``s through one ``TicketService``.

    ``batched=False`` runs every kind on the per-ticket path (what the equality tests
    compare the batched path with). ``one_shot``: the process ends with this run (a CLI
    command), so a large batch may pause the cyclic collector; the console leaves it off,
    since its sync worker and widgets keep allocating while a batch runs."""

    def __init__(self, tickets: TicketService, *, batched: bool = True,
                 one_shot: bool = False) -> None:
        self.tickets = tickets
        self.store = tickets.store
        self.batched = batched
        self.one_shot = one_shot

    def preview(self, refs: Sequence[str | TicketRef], action: BulkAction) -> BulkResult:
        """What ``apply`` would do to each ticket, and which it would refuse and why;
        nothing is written (the run is rolled back)."""
        return self._run(refs, action, commit=False, keep_going=True)

    def apply(self, refs: Sequence[str | TicketRef], action: BulkAction, *,
              keep_going: bool = False) -> BulkResult:
        """Apply ``action`` to every ticket in one transaction. All or nothing: if any
        ticket is refused, nothing is written (``result.applied`` is False) unless
        ``keep_going``, which writes the tickets that could be changed."""
        return self._run(refs, action, commit=True, keep_going=keep_going)

    # --- the run ------------------------------------------------------------------------

    def _run(self, refs: Sequence[str | TicketRef], action: BulkAction, *, commit: bool,
             keep_going: bool) -> BulkResult:
        wanted = [(str(ref), parse_ref(ref) if isinstance(ref, str) else ref)
                  for ref in refs]
        parent = self.tickets.find(action.parent) if action.parent is not None else None
        if self.batched and batches(action):
            return self._run_batched(wanted, action, commit=commit, keep_going=keep_going)
        outcomes: list[TicketOutcome] = []
        written = False
        try:
            with self.store.transaction():
                seen: set[str] = set()
                # The outbox's last op before each ticket: the mark after one ticket is
                # the mark before the next, so each ticket reads it once.
                mark = self._outbox_mark()
                for given, ref in wanted:
                    outcome, mark = self._one(given, ref, action, parent, seen, mark)
                    if outcome is not None:
                        outcomes.append(outcome)
                self._keep_or_undo(outcomes, commit=commit, keep_going=keep_going)
                written = True
        except _Undo:
            written = False
        return BulkResult(action=action, outcomes=tuple(outcomes), applied=written,
                          keep_going=keep_going)

    def _run_batched(self, wanted: list[tuple[str, TicketRef]], action: BulkAction, *,
                     commit: bool, keep_going: bool) -> BulkResult:
        """``_run`` for the ``BATCHED`` kinds: the same outcomes, in one batch."""
        outcomes: list[TicketOutcome] = []
        befores: list[tuple[int, dict[str, Any]]] = []
        tags = bool(action.add_tags or action.remove_tags)
        written = False
        try:
            with self._roomy(len(wanted)), self.store.transaction():
                with self.tickets.batched() as batch:
                    self.tickets.read_ahead([ref for _, ref in wanted])
                    seen: set[str] = set()
                    for count, (given, ref) in enumerate(wanted, 1):
                        outcome, before = self._one_batched(given, ref, action, seen, tags)
                        if outcome is not None:
                            if before is not None:
                                befores.append((len(outcomes), before))
                            outcomes.append(outcome)
                        if count % FLUSH_EVERY == 0:
                            batch.flush()
                # Written now: what changed is read from the store, as the per-ticket
                # path reads it after each ticket (a few statements for all of them).
                changed = [str(outcomes[index].ticket_id) for index, _ in befores]
                rows = self.store.tickets.columns_of(changed, _SHOWN)
                now_tagged = self.tickets.tags_of_many(changed) if tags else {}
                for (index, before), ticket_id in zip(befores, changed, strict=True):
                    after = {**rows[ticket_id], "tags": now_tagged.get(ticket_id, [])}
                    changes = self._describe(action, before, after)
                    outcomes[index] = dataclasses.replace(outcomes[index],
                                                          changes=tuple(changes))
                self._keep_or_undo(outcomes, commit=commit, keep_going=keep_going)
                written = True
        except _Undo:
            written = False
        return BulkResult(action=action, outcomes=tuple(outcomes), applied=written,
                          keep_going=keep_going)

    @staticmethod
    def _keep_or_undo(outcomes: list[TicketOutcome], *, commit: bool,
                      keep_going: bool) -> None:
        """Inside the run's transaction: roll it all back (``_Undo``) for a preview, or
        when a ticket was refused and the run is all or nothing."""
        refused = any(o.state is OutcomeState.REFUSED for o in outcomes)
        if not commit or (refused and not keep_going):
            raise _Undo

    @contextmanager
    def _roomy(self, count: int) -> Iterator[None]:
        """``big_batch`` (a larger page cache; the cyclic collector paused in a one-shot
        command only) for a run of ``INDEX_TOGETHER`` tickets or more, as bulk creation
        does."""
        with (big_batch(self.store, pause_collector=self.one_shot)
              if count >= INDEX_TOGETHER else nullcontext()):
            yield

    def _find_once(self, given: str, ref: TicketRef, seen: set[str]
                   ) -> tuple[TicketRow | None, TicketOutcome | None]:
        """The ticket ``ref`` names, or else the refusal saying it does not exist; neither
        when the ticket was already named in this run (4521 and #4521: acted on once)."""
        try:
            ticket = self.tickets.find(ref)
        except NotFound as error:
            return None, TicketOutcome(given, str(ref), None, OutcomeState.REFUSED,
                                       reason=error.message)
        if ticket["id"] in seen:
            return None, None
        seen.add(ticket["id"])
        return ticket, None

    def _one_batched(self, given: str, ref: TicketRef, action: BulkAction, seen: set[str],
                     tags: bool) -> tuple[TicketOutcome | None, dict[str, Any] | None]:
        """``_one`` in a batch: the outcome (a CHANGED one without its description yet)
        and, for a changed ticket, its snapshot before."""
        ticket, refused = self._find_once(given, ref, seen)
        if ticket is None:
            return refused, None
        label = display_ref(ticket["number"], ticket["provisional"])
        before = self._snapshot(ticket, tags)
        mark = self.tickets.ops_queued()
        try:
            with self.tickets.undoable():
                self._act(ticket, action, None)
        except DeskError as error:
            return TicketOutcome(given, label, ticket["id"], OutcomeState.REFUSED,
                                 reason=error.message), None
        if self.tickets.ops_queued() == mark:
            return TicketOutcome(given, label, ticket["id"], OutcomeState.UNCHANGED), None
        return TicketOutcome(given, label, ticket["id"], OutcomeState.CHANGED), before

    def _one(self, given: str, ref: TicketRef, action: BulkAction, parent: TicketRow | None,
             seen: set[str], mark: int) -> tuple[TicketOutcome | None, int]:
        """One ticket's outcome, and the outbox mark after it (``mark`` is the one
        before: a refused ticket's savepoint is rolled back, so the mark stays)."""
        ticket, refused = self._find_once(given, ref, seen)
        if ticket is None:
            return refused, mark
        label = display_ref(ticket["number"], ticket["provisional"])
        tags = bool(action.add_tags or action.remove_tags)
        before = self._snapshot(ticket, tags)
        try:
            with self.store.savepoint():
                self._act(ticket, action, parent)
        except DeskError as error:
            return TicketOutcome(given, label, ticket["id"], OutcomeState.REFUSED,
                                 reason=error.message), mark
        after_mark = self._outbox_mark()
        if after_mark == mark:
            return TicketOutcome(given, label, ticket["id"], OutcomeState.UNCHANGED), mark
        after = self.store.tickets.by_id(ticket["id"]) or ticket
        changes = self._describe(action, before, self._snapshot(after, tags))
        return TicketOutcome(given, label, ticket["id"], OutcomeState.CHANGED,
                             changes=tuple(changes)), after_mark

    def _act(self, ticket: TicketRow, action: BulkAction, parent: TicketRow | None) -> None:
        """The single-ticket path for one ticket, inside the run's transaction."""
        ref = TicketRef(ticket_id=ticket["id"])
        service = self.tickets
        kind = action.kind
        if kind is BulkKind.SET:
            fields = dict(action.fields)
            if fields.get("status") == ticket["status"]:
                del fields["status"]  # already there: no change, not a refusal
            if fields or action.add_tags or action.remove_tags:
                service.update(ref, fields, reason=action.reason,
                               add_tags=action.add_tags, remove_tags=action.remove_tags)
        elif kind in (BulkKind.NOTE, BulkKind.UPDATE):
            service.add_note(ref, action.text or "", internal=kind is BulkKind.NOTE)
        elif kind is BulkKind.LINK:
            assert parent is not None
            service.link(ref, TicketRef(ticket_id=parent["id"]))
        elif kind is BulkKind.MERGE:
            assert parent is not None
            service.merge(ref, TicketRef(ticket_id=parent["id"]))
        elif kind is BulkKind.RESOLVE:
            service.resolve(ref, root_cause=action.root_cause, resolution=action.text,
                            category=action.category, children=action.children)
        elif kind is BulkKind.CLOSE:
            service.close(ref, category=action.category)
        elif kind is BulkKind.REOPEN:
            service.reopen(ref, reason=action.reason)
        elif kind is BulkKind.LOG_TIME:
            service.log_time(ref, str(action.values["duration"]), note=action.text)
        elif kind is BulkKind.ESCALATE:
            v = action.values
            service.escalate(ref, queue=v.get("queue"), repro=v.get("repro"),
                             tried=v.get("tried"), impact=v.get("impact"),
                             error=v.get("error"), asset=v.get("asset"))
        elif kind is BulkKind.STEP:
            if action.reason is not None:
                service.skip_step(ref, str(action.step), action.reason)
            else:
                service.complete_step(ref, str(action.step), dict(action.values))
        elif kind is BulkKind.ATTACH:
            service.attach(ref, str(action.values["path"]),
                           follow_symlinks=bool(action.values.get("follow_symlinks")))

    # --- describing what changed ----------------------------------------------------------

    def _outbox_mark(self) -> int:
        row = self.store.db.execute("SELECT coalesce(max(seq), 0) AS n FROM outbox").fetchone()
        return int(row["n"])

    def _snapshot(self, ticket: TicketRow, tags: bool) -> dict[str, Any]:
        shot = {key: ticket.get(key) for key in _SHOWN}
        shot["tags"] = self.tickets.tags_of(ticket["id"]) if tags else []
        return shot

    def _describe(self, action: BulkAction, before: dict[str, Any],
                  after: dict[str, Any]) -> list[str]:
        changes: list[str] = []
        for key in _SHOWN:
            if before[key] != after[key]:
                if key == "parent_id":
                    changes.append(f"under {self._ref_of(after[key])}")
                elif key == "merged_into":
                    changes.append(f"merged into {self._ref_of(after[key])}")
                else:
                    changes.append(f"{key.replace('_', ' ')} {before[key] or '—'} → "
                                   f"{after[key] or '—'}")
        added = [t for t in after["tags"] if t not in before["tags"]]
        removed = [t for t in before["tags"] if t not in after["tags"]]
        if added or removed:
            changes.append("tags " + " ".join([f"+{t}" for t in added]
                                              + [f"−{t}" for t in removed]))
        extra = {BulkKind.NOTE: "internal note added",
                 BulkKind.UPDATE: "reply to the caller added",
                 BulkKind.LOG_TIME: f"{action.values.get('minutes')} min logged",
                 BulkKind.STEP: f"step {action.step} "
                                + ("skipped" if action.reason is not None else "done"),
                 BulkKind.ATTACH: f"attached {action.values.get('path')}"}
        if action.kind in extra:
            changes.append(extra[action.kind])
        return changes

    def _ref_of(self, ticket_id: str | None) -> str:
        row = self.store.tickets.by_id(ticket_id) if ticket_id else None
        return display_ref(row["number"], row["provisional"]) if row else "—"


def refs_of(outcomes: Iterable[TicketOutcome]) -> list[str]:
    """The display references of outcomes, in order (for messages)."""
    return [o.ref for o in outcomes]
