"""Ticket work: the one API the CLI, the TUI and (later) the server call.

Each public method gathers the facts, asks the domain whether the change is allowed,
then writes the row change, a timeline event and the sync ops in one transaction. No
rule is decided here that the domain could decide; this module only sequences them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from deskcli.domain import engine, validation
from deskcli.domain.account_work import DEFAULT as DEFAULT_ACCOUNT_WORDS
from deskcli.domain.account_work import AccountWords, AccountWork, find_account_work
from deskcli.domain.checklist import Checklist, FieldKind, StepSpec
from deskcli.domain.enums import (
    Channel,
    Impact,
    Priority,
    ResolutionCategory,
    Status,
    TicketType,
    Urgency,
    Verification,
)
from deskcli.domain.errors import DeskError, InvalidInput, NotFound, OperationFailed, Refused
from deskcli.domain.facts import SKIPPED_KEY, TicketFacts
from deskcli.domain.gates import identity_for_account_work, resolved, time_logged
from deskcli.domain.ids import stable_id
from deskcli.domain.intake import NewTicket
from deskcli.domain.links import MAX_DEPTH, check_link, check_merge, merge_summary
from deskcli.domain.numbering import (
    Authority,
    Lease,
    TicketRef,
    display_ref,
    next_local_block,
    parse_ref,
    provisional_label,
    take_number,
)
from deskcli.domain.outcomes import (
    DeskChannels,
    page_note,
    page_summary,
    survey_note,
    survey_outcome,
)
from deskcli.domain.sla import SlaPolicy, compute_clock, pause_update
from deskcli.domain.tags import ADD, REMOVE, TagChange, parse_tags, plan_change
from deskcli.domain.timefmt import from_iso, to_iso
from deskcli.domain.transitions import check_direct_move, check_transition, is_reopen
from deskcli.services.listeners import is_quiet
from deskcli.storage.batch import ENCODE, BatchWriter
from deskcli.storage.bulk import big_batch
from deskcli.storage.contacts import nocase
from deskcli.storage.links import Links
from deskcli.storage.rows import TicketRow
from deskcli.storage.store import Row, Store
from deskcli.storage.tags import Tags
from deskcli.storage.timeline_pages import TimelinePages

if TYPE_CHECKING:  # the metrics load with the survey code that needs them, not per command
    from deskcli.domain import metrics

#: Later than any timestamp the store holds: "the whole timeline" for window queries.
_END_OF_TIME = "9999-12-31T23:59:59Z"

#: Bulk creation writes what it holds every ``FLUSH_EVERY`` tickets (all in the one
#: transaction), so its memory stays the size of that many tickets' rows and ops
#: however long the input is.
FLUSH_EVERY = 1000
#: From this many tickets, bulk creation fills the queue's text index with one statement
#: after the rows instead of through its trigger a statement at a time
#: (``BatchWriter.tickets_indexed_together``); below it, dropping and re-creating the
#: trigger would cost more than it saves.
INDEX_TOGETHER = 100

#: Ticket columns a technician may change directly with ``update``.
EDITABLE = ("priority", "type", "status", "assignee", "category", "asset", "channel",
            "queue", "summary", "impact", "urgency", "client", "error_text", "flagged")


class TicketDetail(NamedTuple):
    """A ticket with everything a screen or ``deskcli show`` displays about it (a
    ``NamedTuple``: ``deskcli new`` and ``note`` load this module and need no
    ``dataclasses``, ``domain/values.py``)."""

    ticket: TicketRow
    progress: engine.Progress
    timeline: list[Row]
    time_entries: list[Row]
    attachments: list[Row]
    #: What each completed step recorded, by step key (the latest completion wins).
    step_values: Mapping[str, Mapping[str, Any]]
    #: Warnings to show beside steps before they are completed (``step_notes``).
    notes: Mapping[str, str]
    #: Tickets linked under it, oldest first.
    children: list[Row]
    #: Duplicates merged into it, oldest first; their timeline, time and attachments are
    #: in the lists above, each row's ``from_ref`` naming the duplicate.
    merged: list[Row]
    #: The timeline holds the latest events only and earlier ones exist (``detail`` with
    #: ``timeline_limit``; the console reads them on demand).
    timeline_more: bool = False
    #: The ticket it is linked under (``link``), if any: id, number, summary, status...
    parent: TicketRow | None = None
    #: The ticket this one was merged into (``merge``), if it was.
    merged_target: TicketRow | None = None

    def collected(self) -> list[tuple[StepSpec, tuple[tuple[str, str], ...]]]:
        """Each completed step with what it collected beyond the ticket's own fields."""
        out = []
        for item in self.progress.items:
            values = self.step_values.get(item.step.key)
            if values is not None and (pairs := engine.collected(item.step, values)):
                out.append((item.step, pairs))
        return out

    @property
    def ref(self) -> str:
        return display_ref(self.ticket["number"], self.ticket["provisional"])


def _caller_name(draft: NewTicket) -> str:
    """The name a new ticket's caller is filed under: as given, else the address's
    local part."""
    return draft.caller or (draft.email or "").split("@")[0]


def caller_key(email: str, client_id: str | None) -> str:
    """A caller's id from their address within one client: two machines that add the same
    caller offline make one record, and the same address at two clients makes two (a
    caller's record is only ever seen by technicians of their client)."""
    return stable_id("caller", email if client_id is None else f"{client_id}/{email}")


class TicketService:
    def __init__(self, store: Store, *, checklists: Mapping[str, Checklist],
                 policy: SlaPolicy, actor: str, now: Callable[[], datetime],
                 new_id: Callable[[], str], default_checklist: str = "tier1",
                 attachment_max_bytes: int = 10 * 1024 * 1024,
                 account_words: AccountWords = DEFAULT_ACCOUNT_WORDS,
                 channels: DeskChannels | None = None) -> None:
        self.store = store
        #: The delivery channels configured, so the survey and page steps record what
        #: actually happened (``domain.outcomes``).
        self.channels = channels or DeskChannels()
        #: What names account or credential work at this desk (``[account_work]``).
        self.account_words = account_words
        self.checklists = checklists
        self.policy = policy
        self.actor = actor
        self._now = now
        self._new_id = new_id
        self.default_checklist = default_checklist
        self.attachment_max_bytes = attachment_max_bytes
        #: Told of each change inside its transaction (the outbound queue's planner), so a
        #: message caused by a change commits with it. ``(what, ticket_id, at, info)``.
        self.on_change: Callable[[str, str, str, Mapping[str, Any] | None], None] | None = None
        self._tags = Tags(store)
        self._links = Links(store)
        #: While ``create_many`` runs: new rows are buffered here and written with
        #: ``executemany`` (``storage/batch.py``), and what would be read back per ticket
        #: (clients, callers, number leases, SLA clocks) is kept in ``_cache``.
        self._batch: BatchWriter | None = None
        self._cache: dict[str, Any] = {}

    # --- lookups ----------------------------------------------------------------------

    def find(self, ref: str | TicketRef) -> TicketRow:
        parsed = parse_ref(ref) if isinstance(ref, str) else ref
        if self._batch is not None:
            return self._find_in_batch(parsed)
        return self._find_stored(parsed)

    def _find_stored(self, parsed: TicketRef) -> TicketRow:
        row = None
        if parsed.number is not None:
            row = self.store.tickets.by_number(parsed.number)
        elif parsed.provisional:
            row = self.store.tickets.by_provisional(parsed.provisional)
        elif parsed.ticket_id:
            row = self.store.tickets.by_id(parsed.ticket_id)
        if row is None:
            raise NotFound(f"no ticket {parsed} in this store")
        return row

    def _find_in_batch(self, parsed: TicketRef) -> TicketRow:
        """``find`` while a batch holds writes: a ticket read earlier in the batch comes
        from the batch's copy of its row, kept in step with every update the batch holds
        (``_write_ticket``), so it reads as the store will once the batch is written. A
        ticket read the first time, or whose copy was dropped, is read from the store,
        after a flush if the batch holds writes to it."""
        batch, cache = self._batch, self._cache
        assert batch is not None
        rows: dict[str, TicketRow] = cache.setdefault("rows", {})
        numbers: dict[int, str] = cache.setdefault("numbers", {})
        ticket_id = (parsed.ticket_id if parsed.ticket_id
                     else numbers.get(parsed.number) if parsed.number is not None else None)
        if ticket_id is not None:
            held = rows.get(ticket_id)
            if held is not None:
                return cast(TicketRow, dict(held))
            if batch.holds("tickets", ticket_id):
                batch.flush()
        try:
            row = self._find_stored(parsed)
        except NotFound:
            if not batch.pending:
                raise
            batch.flush()  # a ticket only the batch holds so far
            row = self._find_stored(parsed)
        if batch.holds("tickets", row["id"]):
            batch.flush()
            row = self._find_stored(parsed)
        rows[row["id"]] = row
        if row["number"] is not None:
            numbers[row["number"]] = row["id"]
        return cast(TicketRow, dict(row))

    def read_ahead(self, refs: Sequence[TicketRef]) -> None:
        """In a batch: read the tickets named by number in a few statements, so ``find``
        finds them without a statement each (a bulk action on 10,000 tickets)."""
        batch = self._batch
        if batch is None:
            return
        rows: dict[str, TicketRow] = self._cache.setdefault("rows", {})
        numbers: dict[int, str] = self._cache.setdefault("numbers", {})
        wanted = [ref.number for ref in refs if ref.number is not None]
        for row in self.store.tickets.by_numbers(wanted):
            if row["id"] in rows or batch.holds("tickets", row["id"]):
                continue  # the batch's copy is newer; a held one is read after a flush
            rows[row["id"]] = row
            if row["number"] is not None:  # found by number: it has one
                numbers[row["number"]] = row["id"]

    def checklist_for(self, ticket: TicketRow) -> Checklist:
        checklist = self.checklists.get(ticket["checklist"])
        if checklist is None:
            raise NotFound(f"ticket uses checklist {ticket['checklist']!r}, which is not "
                           "installed here; add its file to the checklists folder")
        return checklist

    def earlier_events(self, ticket_id: str, event: Row,
                       limit: int) -> tuple[list[Row], bool]:
        """The timeline page before ``event`` (see ``detail(timeline_limit=...)``)."""
        return TimelinePages(self.store).before(ticket_id, event, limit)

    def facts(self, ticket: TicketRow) -> TicketFacts:
        records: dict[str, Mapping[str, Any]] = {}
        skipped: dict[str, str] = {}
        # In a batch (bulk resolve, close): the step records and time entries as the
        # store will hold them once the batch is written.
        self._fresh("step_records", ticket["id"])
        self._fresh("time_entries", ticket["id"])
        for record in self.store.timeline.step_records(ticket["id"]):
            data = json.loads(record["data"])
            # The latest record of a step wins: a completion after a skip un-skips it.
            if isinstance(data, dict) and SKIPPED_KEY in data:
                skipped[record["step"]] = str(data[SKIPPED_KEY])
                records.pop(record["step"], None)
            else:
                records[record["step"]] = data
                skipped.pop(record["step"], None)
        return TicketFacts(
            priority=Priority(ticket["priority"]),
            type=TicketType(ticket["type"]),
            channel=Channel(ticket["channel"]),
            status=Status(ticket["status"]),
            verification=Verification(ticket["verification"]) if ticket["verification"]
            else None,
            steps=records,
            minutes_logged=self.store.timeline.minutes_logged(ticket["id"]),
            skipped=skipped,
            account_work=self._account_work(ticket, records),
        )

    def _account_work(self, ticket: Mapping[str, Any], records: Mapping[str, Mapping[str, Any]],
                      recording: Sequence[tuple[str, str | None]] = ()) -> AccountWork | None:
        """Whether the work recorded on the ticket (plus what is ``recording`` now) touches
        an account: its category, the texts of steps that record work, the root cause and
        resolution. The domain decides; this only gathers the texts."""
        texts: list[tuple[str, str | None]] = list(recording)
        texts += [("root cause", ticket.get("root_cause")),
                  ("resolution", ticket.get("resolution"))]
        checklist = self.checklists.get(ticket.get("checklist") or "")
        for step in checklist.steps if checklist else ():
            # The resolve step's texts are the ticket's root cause and resolution above
            # (after a reopen, the new ones replace them; the old record must not count).
            if engine.records_work(step) and step.action != "resolve" and step.key in records:
                texts += self._step_texts(step, records[step.key])
        return find_account_work(ticket.get("category"), texts, self.account_words)

    @staticmethod
    def _step_texts(step: StepSpec, values: Mapping[str, Any]) -> list[tuple[str, str | None]]:
        """A step's free-text values, each named by its field's label."""
        return [(spec.label[:1].lower() + spec.label[1:], str(values[spec.key]))
                for spec in step.fields
                if spec.kind in (FieldKind.TEXT, FieldKind.PARAGRAPH)
                and values.get(spec.key) is not None]

    def _check_identity(self, ticket: Mapping[str, Any], facts: TicketFacts, doing: str,
                        recording: Sequence[tuple[str, str | None]] = ()) -> None:
        """Refuse account work for an unverified caller, on whichever path records it.

        ``ticket`` carries the values being written (a new resolution) and ``recording``
        the texts of a step being completed, so the check sees the work as it will stand.
        """
        facts = facts._replace(account_work=self._account_work(ticket, facts.steps, recording))
        if reason := identity_for_account_work(facts):
            raise Refused(f"cannot {doing}: {reason}", field="verification")

    def progress(self, ticket: TicketRow) -> engine.Progress:
        return engine.evaluate(self.checklist_for(ticket), self.facts(ticket))

    def detail(self, ref: str | TicketRef, *, timeline_limit: int | None = None) -> TicketDetail:
        """Everything about a ticket; with ``timeline_limit``, only that many of the latest
        events (``timeline_more`` says whether there are earlier ones)."""
        ticket = self.find(ref)
        facts = self.facts(ticket)
        more = False
        if timeline_limit is None:
            timeline = self.store.timeline.events(ticket["id"])
        else:
            timeline, more = TimelinePages(self.store).newest(ticket["id"], timeline_limit)
        ticket["tags"] = self._tags.of_ticket(ticket["id"])
        time_entries = self.store.timeline.time_entries(ticket["id"])
        attachments = self.store.attachments.of_ticket(ticket["id"])
        merged = self._links.merged_into_this(ticket["id"])
        for dup in merged:
            # A merged duplicate's records stay where they were written (append-only,
            # synced); the target shows them, each saying where it came from.
            origin = display_ref(dup["number"], dup["provisional"])
            timeline += [{**e, "from_ref": origin} for e in self.store.timeline.events(dup["id"])]
            time_entries += [{**t, "from_ref": origin}
                             for t in self.store.timeline.time_entries(dup["id"])]
            attachments += [{**a, "from_ref": origin}
                            for a in self.store.attachments.of_ticket(dup["id"])]
        if merged:
            timeline.sort(key=lambda e: e["at"])
            time_entries.sort(key=lambda t: t["at"])
            attachments.sort(key=lambda a: a["at"])
        parent_id, merged_into = ticket["parent_id"], ticket["merged_into"]
        parent = self.store.tickets.by_id(parent_id) if parent_id else None
        return TicketDetail(
            ticket=ticket,
            progress=engine.evaluate(self.checklist_for(ticket), facts),
            timeline=timeline,
            timeline_more=more,
            time_entries=time_entries,
            attachments=attachments,
            step_values=facts.steps,
            notes=self.step_notes(ticket),
            parent=parent,
            children=self._links.children(ticket["id"]),
            merged=merged,
            merged_target=self.store.tickets.by_id(merged_into) if merged_into else None,
        )

    # --- creation ---------------------------------------------------------------------

    def create(self, draft: NewTicket) -> TicketRow:
        """Open a new ticket; numbered from the lease, SLA clocks started."""
        self.check_draft(draft)
        now = self._now()
        with self.store.transaction():
            row = self.insert_ticket(draft, now)
        return self.find(TicketRef(ticket_id=row["id"]))

    def check_draft(self, draft: NewTicket) -> None:
        """What ``create`` refuses beyond the draft's own validation, checked without
        writing, so a batch can be vetted in full before any of it is written."""
        checklist_key = draft.checklist or self.default_checklist
        if checklist_key not in self.checklists:
            raise InvalidInput(f"unknown checklist {checklist_key!r}; installed: "
                               f"{', '.join(sorted(self.checklists))}", field="checklist")

    def create_many(self, drafts: Sequence[NewTicket]) -> list[tuple[str, str]]:
        """Open many tickets in ONE transaction: all are written or none is.

        One commit (one fsync) for the batch instead of one per ticket is what makes bulk
        import fast. Returns ``(ticket id, display ref)`` pairs in input order.
        """
        for draft in drafts:
            self.check_draft(draft)
        now = self._now()
        created: list[tuple[str, str]] = []
        roomy = big_batch(self.store) if len(drafts) >= INDEX_TOGETHER else nullcontext()
        with roomy, self.store.transaction():
            batch = self.begin_batch()
            try:
                # Which callers' names and addresses the store already has, asked once:
                # a record naming neither needs no lookup (``_find_stored_caller``).
                self._cache["stored_callers"] = self.store.contacts.stored_caller_keys(
                    (_caller_name(d) for d in drafts if d.caller or d.email),
                    (d.email for d in drafts if d.email))
                indexed = (batch.tickets_indexed_together() if len(drafts) >= INDEX_TOGETHER
                           else nullcontext())
                with indexed:
                    for count, draft in enumerate(drafts, 1):
                        row = self.insert_ticket(draft, now)
                        created.append((row["id"], display_ref(row["number"],
                                                               row["provisional"])))
                        if count % FLUSH_EVERY == 0:
                            batch.flush()
                    self.end_batch()
            finally:
                self._batch, self._cache = None, {}
        return created

    # --- the batched write path (bulk creation, bulk actions) ---------------------------

    def begin_batch(self) -> BatchWriter:
        """Buffer new rows until ``end_batch`` (inside the caller's transaction): the same
        rows and sync ops, written with ``executemany``; the clock stamp kept in memory;
        clients, callers and number leases looked up once per batch, not once per ticket.
        """
        self.store.require_tx()
        batch = self._batch = BatchWriter(self.store, self._new_id)
        leases = self.store.sync.leases()
        self._cache = {"clients": {}, "callers": {}, "clocks": {},
                       "joined": self.store.meta("server_url") is not None,
                       "leases": {lease.start: lease for lease in leases}, "touched": {}}
        return batch

    def end_batch(self) -> None:
        """Write what the batch holds (rows, ops, leases used) in the transaction."""
        batch, cache = self._batch, self._cache
        if batch is None:
            return
        batch.flush()
        for lease, at in cache.get("touched", {}).values():
            self.store.sync.save_lease(lease, at)
        self._batch, self._cache = None, {}

    def _put(self, table: str, row: Mapping[str, Any]) -> None:
        """Insert a row with its op: buffered in a batch, straight away otherwise."""
        if self._batch is not None:
            self._batch.insert(table, row)
        else:
            self.store.insert(table, row)

    def _encode(self, value: Any) -> str:
        """A row's JSON column: ``ENCODE``, or in a batch its (faster) encoder of the
        same text."""
        return self._batch.encode(value) if self._batch is not None else ENCODE(value)

    def _unbuffered(self) -> None:
        """About to read or update rows the batch may hold, or write around it: flush, so
        reads see them and the store's clock continues from the batch's last stamp."""
        if self._batch is not None:
            self._batch.flush()
            # Whoever writes around the batch may change a ticket: read them again.
            self._cache.pop("rows", None)
            self._cache.pop("numbers", None)

    def _write_ticket(self, ticket_id: str, changes: Mapping[str, Any], at: str) -> None:
        """``Store.update_ticket``; in a batch, held with its ops, and the batch's copy of
        the row (``_find_in_batch``) changed with it (dropped if a joined caller or
        client changes: the store reads that again after a flush)."""
        batch = self._batch
        if batch is None:
            self.store.update_ticket(ticket_id, changes, at)
            return
        batch.update("tickets", ticket_id, changes, at)
        rows = self._cache.get("rows")
        if rows is not None and ticket_id in rows:
            if "caller_id" in changes or "client_id" in changes:
                del rows[ticket_id]
            else:
                rows[ticket_id] = cast(TicketRow, {**rows[ticket_id], **changes})

    def _fresh(self, table: str, *ticket_ids: str) -> bool:
        """About to read these tickets' rows of ``table`` from the store: flush first if
        the batch holds some (and say so: rows read before are out of date)."""
        batch = self._batch
        if batch is not None and any(batch.holds(table, one) for one in ticket_ids):
            self._unbuffered()
            return True
        return False

    def ops_queued(self) -> int:
        """Sync ops queued so far by this service's store and batch: two readings differ
        if and only if something in between changed anything."""
        return self.store.ops_queued + (self._batch.ops_queued if self._batch else 0)

    @contextmanager
    def batched(self) -> Iterator[BatchWriter]:
        """``begin_batch`` … ``end_batch`` (inside the caller's transaction), the batch
        dropped also when the block fails (the transaction then writes none of it)."""
        batch = self.begin_batch()
        try:
            yield batch
            self.end_batch()
        finally:
            self._batch, self._cache = None, {}

    @contextmanager
    def undoable(self) -> Iterator[None]:
        """A savepoint around one change: ``Store.savepoint``, or in a batch
        ``BatchWriter.undoable`` (and the batch's copies of rows read again after a
        rollback)."""
        batch = self._batch
        if batch is None:
            with self.store.savepoint():
                yield
            return
        try:
            with batch.undoable():
                yield
        except BaseException:
            self._cache.pop("rows", None)
            self._cache.pop("numbers", None)
            raise

    def _rebuffered(self) -> None:
        if self._batch is not None:
            self._batch.resync_clock()

    def intake(self, draft: NewTicket, steps: Mapping[str, Mapping[str, Any]]) -> TicketRow:
        """Open a ticket and complete its intake steps in ONE transaction (the TUI's guided
        intake), so a step the rules refuse leaves no half-made ticket behind.

        Each step is recorded once with everything it collected: ``draft.verified`` and
        ``draft.priority`` set the ticket up but add no short step records of their own.
        """
        self.check_draft(draft)
        now = self._now()
        with self.store.transaction():
            row = self.insert_ticket(draft, now, shortcut_steps=False)
            ref = display_ref(row["number"], row["provisional"])
            for step_key, values in steps.items():
                self.complete_step(ref, step_key, values)
        return self.find(TicketRef(ticket_id=row["id"]))

    def insert_ticket(self, draft: NewTicket, now: datetime, *,
                      shortcut_steps: bool = True) -> Row:
        """The writes of ``create``, inside the caller's transaction; returns the ticket
        columns as inserted (without the joined caller and client fields)."""
        checklist_key = draft.checklist or self.default_checklist
        at = self._iso(now)
        client = self._client_row(draft.client, at) if draft.client else None
        tier = client["contract_tier"] if client else None
        priority = draft.priority or Priority.P3
        clock_cols = self._clock_columns(now, priority, tier, timedelta(0), None, None)
        caller_id = self._caller(draft, client["id"] if client else None, at)
        number, provisional = self._allocate_number(at)
        ticket_id = self._new_id()
        row: dict[str, Any] = {
            "id": ticket_id, "number": number, "provisional": provisional,
            "checklist": checklist_key, "type": draft.type.value,
            "status": Status.NEW.value, "priority": priority.value,
            "summary": draft.summary, "caller_id": caller_id,
            "verbatim": draft.verbatim, "error_text": draft.error,
            "doing": draft.doing, "users_affected": draft.users_affected,
            "client_id": client["id"] if client else None, "asset": draft.asset,
            "category": draft.category, "channel": draft.channel.value,
            "assignee": draft.assignee, "created_at": at, "created_by": self.actor,
            "updated_at": at, **clock_cols,
        }
        self._put("tickets", row)
        self.record_event(ticket_id, at, "created",
                          f"Ticket {display_ref(number, provisional)} opened: {draft.summary}",
                          {"channel": draft.channel.value, "priority": priority.value})
        self._notice("created", ticket_id, at)
        if draft.verified is not None and shortcut_steps:
            self._record_step_by_action(row, "verify_identity",
                                        {"method": draft.verified.value}, at)
            self._apply_verification(ticket_id, draft.verified, None, at)
        if draft.priority is not None and shortcut_steps:
            self._record_step_by_action(row, "set_priority",
                                        {"priority": draft.priority.value}, at)
        return row

    def _iso(self, moment: datetime) -> str:
        """``to_iso(moment)``, formatted once per batch (a batch shares one time)."""
        if self._batch is None:
            return to_iso(moment)
        cached = self._cache.get("iso")
        if cached is None or cached[0] != moment:
            cached = self._cache["iso"] = (moment, to_iso(moment))
        return str(cached[1])

    def _save_lease(self, lease: Lease, at: str) -> None:
        if self._batch is not None:
            self._cache["leases"][lease.start] = lease
            self._cache["touched"][lease.start] = (lease, at)
        else:
            self.store.sync.save_lease(lease, at)

    def _allocate_number(self, at: str) -> tuple[int | None, str | None]:
        if self._batch is not None:
            leases = list(self._cache["leases"].values())
            joined = bool(self._cache["joined"])
        else:
            leases = self.store.sync.leases()
            joined = self.store.meta("server_url") is not None
        if joined:
            # Once in a team, only the server's blocks are safe from collisions.
            leases = [lease for lease in leases if lease.authority is Authority.SERVER]
        taken = take_number(leases)
        if taken is None and not joined and all(
                lease.authority is Authority.LOCAL for lease in leases):
            # Standalone: this store is its own numbering authority.
            highest = self.store.tickets.highest_number()
            if self._batch is not None:  # numbers the batch holds are not in the table yet
                held = self._cache.get("highest")
                highest = held if highest is None or (held or 0) > highest else highest
            block = next_local_block(leases, highest_used=highest)
            self._save_lease(block, at)
            taken = take_number([block])
        if taken is None:
            seq = self.store.sync.next_provisional_seq()
            return None, provisional_label(self.store.client_id[:4], seq)
        number, lease = taken
        self._save_lease(lease, at)
        if self._batch is not None and number > (self._cache.get("highest") or 0):
            self._cache["highest"] = number
        return number, None

    def _client_id_for(self, name: str | None) -> str | None:
        """The id client ``name`` has or would get (None for no client), without writing."""
        if not name:
            return None
        existing = self.store.contacts.client_by_name(name)
        return str(existing["id"]) if existing else stable_id("client", name)

    def ensure_client(self, name: str, at: str) -> Row:
        """The client named ``name``, created (standard tier) if the store has none yet.
        Writes, so it runs inside the caller's transaction."""
        return dict(self._client_row(name, at))

    def _client_row(self, name: str, at: str) -> Row:
        """``ensure_client``'s row itself: in a batch, the cached row (not to be changed:
        ``insert_ticket`` only reads its id and tier)."""
        cached = self._cache.get("clients", {}).get(name) if self._batch else None
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        existing = self.store.contacts.client_by_name(name)
        if not existing:
            existing = {"id": stable_id("client", name), "name": name,
                        "contract_tier": "standard", "created_at": at}
            self._put("clients", existing)
        if self._batch is not None:
            self._cache["clients"][name] = existing
        return existing

    def set_client_tier(self, name: str, tier: str) -> Row:
        checked = validation.one_line(name, field="client", required=True)
        assert checked is not None
        name = checked
        self.policy.target(Priority.P1, tier)  # refuses an unknown tier, listing known ones
        at = to_iso(self._now())
        with self.store.transaction():
            client = self.ensure_client(name, at)
            self.store.update_row("clients", client["id"], {"contract_tier": tier}, at)
        found = self.store.contacts.client_by_name(name)
        assert found is not None
        return found

    def _caller_of_client(self, caller_id: str | None, client_id: str | None,
                          at: str) -> str | None:
        """The same person as a caller of ``client_id`` (found, or copied there): a
        ticket's caller always belongs to the ticket's client, so a ticket moved to another
        client never points at a record its new technicians may not hold."""
        caller = self.store.contacts.caller(caller_id) if caller_id else None
        if caller is None or caller["client_id"] == client_id:
            return caller_id
        existing = self.store.contacts.find_caller(caller["name"], caller["email"], client_id)
        if existing:
            return str(existing["id"])
        copy_id = caller_key(caller["email"], client_id) if caller["email"] else self._new_id()
        self.store.insert("callers", {
            "id": copy_id, "name": caller["name"], "email": caller["email"],
            "phone": caller["phone"], "client_id": client_id, "vip": caller["vip"],
            "created_at": at})
        return copy_id

    def _find_stored_caller(self, name: str, email: str | None,
                            client_id: str | None) -> Row | None:
        """``find_caller``, skipped in a batch when the store has no caller with this
        name or address at all (``stored_caller_keys``, asked once per batch)."""
        stored = self._cache.get("stored_callers") if self._batch is not None else None
        if stored is not None and nocase(name) not in stored[0] and not (
                email and email in stored[1]):
            return None
        return self.store.contacts.find_caller(name, email, client_id)

    def _caller(self, draft: NewTicket, client_id: str | None, at: str) -> str | None:
        if not (draft.caller or draft.email):
            return None
        name = _caller_name(draft)
        folded = nocase(name)
        key = (folded, draft.email, client_id)
        known: dict[Any, Row] = self._cache.get("callers", {}) if self._batch else {}
        # As ``find_caller`` would with the batch written: by address first (the batch's,
        # then the store's), then by name (the store's rows are older, so first).
        # Every name in the cache was looked up in the store when it was first seen.
        # Names are keyed as the store compares them (``nocase``: ASCII letters only), so
        # "ÄRNE" earlier in the batch is not taken for a stored "ärne".
        existing = (known.get(("@", draft.email, client_id)) if draft.email
                    else known.get((folded, None, client_id)))
        remembered = existing is not None
        if existing is None:
            existing = self._find_stored_caller(name, draft.email, client_id)
        if existing is None and draft.email:
            existing = known.get((folded, None, client_id))
            remembered = existing is not None
        if existing:
            updates = {k: v for k, v in (("email", draft.email), ("phone", draft.phone))
                       if v and not existing[k]}
            if updates:
                self._unbuffered()
                self.store.update_row("callers", existing["id"], updates, at)
                self._rebuffered()
                existing = {**existing, **updates}
                remembered = False
            if not remembered:  # a row from the batch's cache, unchanged, is filed already
                self._remember_caller(key, existing)
            return str(existing["id"])
        caller_id = caller_key(draft.email, client_id) if draft.email else self._new_id()
        row = {"id": caller_id, "name": name, "email": draft.email, "phone": draft.phone,
               "client_id": client_id, "vip": 0, "created_at": at}
        self._put("callers", row)
        self._remember_caller(key, row)
        return caller_id

    def _remember_caller(self, key: tuple[Any, ...], row: Row) -> None:
        """In a batch, the next record naming this caller finds it here (it may not be
        written yet): by name, and by address (how ``find_caller`` matches first)."""
        if self._batch is not None:
            known = self._cache["callers"]
            aliases = [(nocase(str(row["name"])), None, key[2])]
            if row.get("email"):
                aliases.append(("@", row["email"], key[2]))
            for alias in aliases:  # the first record of a name keeps it; its updates too
                if alias not in known or known[alias]["id"] == row["id"]:
                    known[alias] = row

    # --- SLA bookkeeping ---------------------------------------------------------------------

    def _clock_columns(self, created: datetime, priority: Priority, tier: str | None,
                       paused: timedelta, paused_since: str | None,
                       first_response_at: str | None) -> dict[str, Any]:
        if self._batch is not None:  # a batch shares one creation time: few distinct clocks
            key = (created, priority, tier, paused, paused_since, first_response_at)
            found = self._cache["clocks"].get(key)
            if found is None:
                found = self._cache["clocks"][key] = self._compute_clock_columns(
                    created, priority, tier, paused, paused_since, first_response_at)
            return dict(found)
        return self._compute_clock_columns(created, priority, tier, paused, paused_since,
                                           first_response_at)

    def _compute_clock_columns(self, created: datetime, priority: Priority, tier: str | None,
                               paused: timedelta, paused_since: str | None,
                               first_response_at: str | None) -> dict[str, Any]:
        clock = compute_clock(created, priority, self.policy, tier=tier, paused=paused)
        key = clock.queue_key(is_open=True, paused=paused_since is not None,
                              responded=first_response_at is not None)
        return {
            "response_due": to_iso(clock.response_due),
            "response_risk_at": to_iso(clock.response_risk_at),
            "resolve_due": to_iso(clock.resolve_due),
            "resolve_risk_at": to_iso(clock.resolve_risk_at),
            "urgency_due": to_iso(key) if key else None,
        }

    def _recompute_clock(self, ticket: Mapping[str, Any]) -> dict[str, Any]:
        if self._batch is not None:  # a bulk action: many tickets, few distinct clocks
            key = (ticket["status"], ticket.get("contract_tier"), ticket["created_at"],
                   ticket["priority"], ticket["sla_paused_seconds"],
                   ticket["sla_paused_since"], ticket["first_response_at"])
            recomputed = self._cache.setdefault("recomputed", {})
            found = recomputed.get(key)
            if found is None:
                found = recomputed[key] = self._compute_recomputed(ticket)
            return dict(found)
        return self._compute_recomputed(ticket)

    def _compute_recomputed(self, ticket: Mapping[str, Any]) -> dict[str, Any]:
        status = Status(ticket["status"])
        tier = ticket.get("contract_tier")
        if tier not in self.policy.tiers:
            tier = None  # a tier this desk's policy does not know: use the default targets
        cols = self._clock_columns(
            from_iso(ticket["created_at"]), Priority(ticket["priority"]), tier,
            timedelta(seconds=ticket["sla_paused_seconds"]),
            ticket["sla_paused_since"], ticket["first_response_at"])
        if not status.is_open:
            cols["urgency_due"] = None
        return cols

    def refresh_derived(self, ticket_id: str) -> None:
        """Recompute a ticket's SLA columns after sync changed it (no ops: derived data)."""
        ticket = self.store.tickets.by_id(ticket_id)
        if ticket is None:
            return
        derived = self._recompute_clock(ticket)
        changes = {k: v for k, v in derived.items() if ticket.get(k) != v}
        self.store.sync.update_remote("tickets", ticket_id, changes)

    #: What a ticket's ``flagged`` field says when account work arrived by sync for an
    #: unverified caller (see ``flag_unverified_account_work``).
    IDENTITY_FLAG = ("account work was recorded for a caller whose identity is not verified: "
                     "verify the caller, or reopen the ticket and say why")

    def flag_unverified_account_work(self, ticket_id: str) -> bool:
        """After sync: flag a resolved or closed ticket whose recorded work touches an
        account while its caller is not verified, and say so on the timeline.

        A client from before the identity rule can still resolve or close such a ticket
        offline. Sync must never stop or drop data, so the change is kept, but it is not
        left silent: the ticket is flagged (the header and ``show`` display it until
        someone settles it) and an event names the rule. The event's id comes from the
        ticket and its resolution time, so every client that notices writes the same
        event, inserted once, and a settled flag is not raised again for the same
        resolution. Runs in the sync transaction; its writes sync like any other change.
        """
        ticket = self.store.tickets.by_id(ticket_id)
        if ticket is None or Status(ticket["status"]).is_open:
            return False
        reason = identity_for_account_work(self.facts(ticket))
        if reason is None:
            return False
        event_id = stable_id("identity-flag",
                             f"{ticket_id}:{ticket['resolved_at'] or ticket['closed_at']}")
        if self.store.row("events", event_id) is not None:
            return False
        at = to_iso(self._now())
        self.write_changes(ticket, {"flagged": self.IDENTITY_FLAG}, at)
        self.store.insert("events", {
            "id": event_id, "ticket_id": ticket_id, "at": at, "actor": self.actor,
            "kind": "identity_flagged",
            "summary": f"Flagged: {ticket['status']} with {reason}",
            "detail": json.dumps({"rule": "identity_for_account_work"})})
        return True

    def derived_for_new(self, row: Mapping[str, Any], tier: str | None) -> dict[str, Any]:
        """SLA columns for a ticket row arriving from the server."""
        merged = {"sla_paused_seconds": 0, "sla_paused_since": None, "first_response_at": None,
                  **row, "contract_tier": tier}
        return self._recompute_clock(merged)

    # --- the generic change path ------------------------------------------------------

    def _notice(self, what: str, ticket_id: str, at: str,
                info: Mapping[str, Any] | None = None) -> None:
        listener = self.on_change
        if listener is None:
            return
        if self._batch is not None and is_quiet(listener, what):
            listener(what, ticket_id, at, info)  # touches nothing the batch holds
            return
        self._unbuffered()  # the listener reads the ticket and writes its own rows
        listener(what, ticket_id, at, info)
        self._rebuffered()

    def notice(self, what: str, ticket_id: str, at: str,
               info: Mapping[str, Any] | None = None) -> None:
        """Tell ``on_change`` of a change another service made in this service's
        transaction (mail intake's caller reply, which the reply rules run on), as this
        service's own changes do."""
        self._notice(what, ticket_id, at, info)

    def now(self) -> datetime:
        """The service's clock (injected: tests and ``rules test --at`` move it)."""
        return self._now()

    def mark_contacted(self, ticket_id: str, at: str) -> None:
        """A message reached the caller (sent by the outbound queue): the checkpoint clock
        restarts and, if it was the first word, the response SLA is met. Runs in the
        caller's transaction."""
        ticket = self.store.tickets.by_id(ticket_id)
        if ticket is None:
            return
        contact = {"last_contact_at": at}
        if ticket["first_response_at"] is None:
            contact["first_response_at"] = at
        self.write_changes(ticket, contact, at)

    def record_event(self, ticket_id: str, at: str, kind: str, summary: str,
                     detail: Mapping[str, Any] | None = None) -> None:
        """Add one event to a ticket's timeline, by this service's actor, inside the
        caller's transaction. Every service that changes a ticket (mail intake, the KB's
        links) writes its events here, so they all have one shape."""
        self._put("events", {
            "id": self._new_id(), "ticket_id": ticket_id, "at": at, "actor": self.actor,
            "kind": kind, "summary": summary,
            "detail": self._encode(detail) if detail else None,
        })

    def write_changes(self, ticket: TicketRow, changes: Mapping[str, Any], at: str) -> TicketRow:
        """Apply column changes plus recomputed SLA columns; returns the merged row.

        The one write of ticket columns (no checks, no event): callers check what they
        change and record the event themselves, inside their transaction."""
        merged = {**ticket, **changes}
        derived = self._recompute_clock(merged)
        all_changes = {k: v for k, v in {**changes, **derived}.items() if ticket.get(k) != v}
        if all_changes:
            all_changes["updated_at"] = at
            self._write_ticket(ticket["id"], all_changes, at)
            self._notice("updated", ticket["id"], at)
        # ``changes`` and ``derived`` name only ticket columns (``_normalise`` and the
        # clock recompute), so the merged row keeps ``TicketRow``'s shape.
        return cast(TicketRow, {**merged, **derived})

    def update(self, ref: str | TicketRef, changes: Mapping[str, Any], *,
               reason: str | None = None,
               add_tags: Sequence[str] = (), remove_tags: Sequence[str] = ()) -> TicketRow:
        """Change ticket fields directly (``deskcli set``, the TUI's edit actions), and its
        tags with them (one transaction: the fields and the tags change together)."""
        unknown = sorted(set(changes) - set(EDITABLE))
        if unknown:
            raise InvalidInput(f"cannot set {unknown[0]!r}; settable fields: "
                               f"{', '.join(EDITABLE)}", field=unknown[0])
        adding, removing = parse_tags(add_tags), parse_tags(remove_tags)
        if not changes and not adding and not removing:
            raise InvalidInput("nothing to change: give at least one field to set")
        ticket = self.find(ref)
        at = to_iso(self._now())
        with self.store.transaction():
            if changes:
                ticket = self._apply_fields(ticket, changes, at, reason=reason)
            if adding or removing:
                self._apply_tags(ticket, adding, removing, at)
        return self.find(TicketRef(ticket_id=ticket["id"]))

    # --- tags -------------------------------------------------------------------------

    def tag(self, ref: str | TicketRef, *, add: Sequence[str] = (),
            remove: Sequence[str] = ()) -> TagChange:
        """Add and remove tags on one ticket (``deskcli set --tag/--untag``, the console,
        rules). Returns what changed: adding a tag already there changes nothing.

        Tags are checked by ``domain.tags`` (bad tag: ``InvalidInput`` naming the accepted
        form, nothing written) and merge between offline machines as a set: see there.
        """
        adding, removing = parse_tags(add), parse_tags(remove)
        if not adding and not removing:
            raise InvalidInput("nothing to change: give a tag to add or to remove",
                               field="tags")
        ticket = self.find(ref)
        at = to_iso(self._now())
        with self.store.transaction():
            return self._apply_tags(ticket, adding, removing, at)

    def tags_of(self, ticket_id: str) -> list[str]:
        """The tags on a ticket now, sorted."""
        self._fresh("tag_changes", ticket_id)
        return self._tags.of_ticket(ticket_id)

    def tags_of_many(self, ticket_ids: Sequence[str]) -> dict[str, list[str]]:
        """Tags of many tickets (a queue page): id -> sorted tags; untagged left out."""
        return self._tags.of_tickets(ticket_ids)

    def known_tags(self) -> list[tuple[str, int]]:
        """Every tag in use, with how many tickets carry it, most used first."""
        return self._tags.known()

    def _apply_tags(self, ticket: TicketRow, add: Sequence[str], remove: Sequence[str],
                    at: str) -> TagChange:
        """Write the add and remove records of a tag change, inside the caller's
        transaction: one add record per new tag, one remove record per add record of a
        removed tag (what makes the set merge, ``domain.tags``), and one timeline event."""
        self._fresh("tag_changes", ticket["id"])
        change = plan_change(self._tags.of_ticket(ticket["id"]), add, remove)
        if change.empty:
            return change
        base = {"ticket_id": ticket["id"], "at": at, "author": self.actor}
        # The add records that removed tags hold, read before this change's own records
        # are written (held, in a batch): none of those is for a removed tag
        # (``plan_change`` refuses a tag both added and removed), so it is the same read.
        live = self._tags.live_adds(ticket["id"], change.removed)
        for tag in change.added:
            self._put("tag_changes", {"id": self._new_id(), **base, "tag": tag,
                                      "action": ADD, "removes": None})
        for held in live:
            self._put("tag_changes", {"id": self._new_id(), **base, "tag": held["tag"],
                                      "action": REMOVE, "removes": held["id"]})
        self.record_event(ticket["id"], at, "tags_changed", change.summary(),
                    {"added": list(change.added), "removed": list(change.removed)})
        self._write_ticket(ticket["id"], {"updated_at": at}, at)
        self._notice("tags", ticket["id"], at,
                     {"added": list(change.added), "removed": list(change.removed)})
        return change

    def _apply_fields(self, ticket: TicketRow, changes: Mapping[str, Any], at: str, *,
                      reason: str | None = None) -> TicketRow:
        """Validate and write field changes, one timeline event per field that changed."""
        columns: dict[str, Any] = {}
        labels: dict[str, tuple[Any, Any]] = {}
        status_target: Status | None = None
        for key, raw in changes.items():
            if key == "status":
                target = Status(Status.parse(str(raw), what="status").value)
                check_direct_move(target)
                status_target = target
                continue
            if key == "client":
                name = validation.one_line(None if raw is None else str(raw), field="client")
                if self._client_id_for(name) == ticket.get("client_id"):
                    continue  # the same client: a change that changes nothing is not one
                client = self.ensure_client(name, at) if name else None
                columns["client_id"] = client["id"] if client else None
                columns["contract_tier"] = client["contract_tier"] if client else None
                labels["client"] = (ticket.get("client_name"), name)
                caller_id = self._caller_of_client(ticket.get("caller_id"),
                                                   columns["client_id"], at)
                if caller_id != ticket.get("caller_id"):  # after client_id: sync sends it so
                    columns["caller_id"] = caller_id
                continue
            if key == "caller_email":
                self._set_caller_email(ticket, raw, at)
                continue
            value = self._normalise(key, raw, ticket)
            if value != ticket.get(key):
                columns[key] = value
                labels[key] = (ticket.get(key), value)
        tier_override = columns.pop("contract_tier", ticket.get("contract_tier"))
        if columns:
            ticket = self.write_changes({**ticket, "contract_tier": tier_override}, columns, at)
            for key, (old, new) in labels.items():
                self.record_event(ticket["id"], at, "field_changed",
                                  f"{key.replace('_', ' ')}: {old or '—'} → {new or '—'}",
                                  {"field": key, "old": old, "new": new})
            if "priority" in columns:
                self._notice("priority", ticket["id"], at)
        if status_target is not None:
            ticket = self.change_status(ticket, status_target, at, reason=reason)
        return ticket

    def _normalise(self, key: str, raw: Any, ticket: TicketRow) -> Any:
        text = None if raw is None else str(raw)
        if key == "priority":
            return Priority.parse(text or "").value
        if key == "type":
            return TicketType.parse(text or "", what="type").value
        if key == "channel":
            return Channel.parse(text or "", what="channel").value
        if key == "impact":
            return Impact.parse(text or "", what="impact").value if text else None
        if key == "urgency":
            return Urgency.parse(text or "", what="urgency").value if text else None
        if key == "summary":
            return validation.summary(text)
        if key == "verbatim":
            value = validation.clean_text(text, field="verbatim")
            if ticket.get("verbatim") and value != ticket["verbatim"]:
                raise Refused("the caller's own words are already recorded and are never "
                              "overwritten; add a note with anything new they said",
                              field="verbatim")
            return value
        if key == "users_affected":
            return validation.count(raw, field="users_affected")
        if key == "event_ids":
            if isinstance(raw, list):
                return ", ".join(str(x) for x in raw) or None
            return validation.clean_text(text, field="event_ids")
        if key in ("error_text", "doing", "reproducible"):
            return validation.clean_text(text, field=key)
        return validation.one_line(text, field=key)

    def _set_caller_email(self, ticket: TicketRow, raw: Any, at: str) -> None:
        address = validation.email(None if raw is None else str(raw), field="caller_email")
        if not address:
            return
        if (ticket.get("caller_email") or "").casefold() == address.casefold():
            return  # already the caller's address: nothing to record
        if ticket["caller_id"]:
            self.store.update_row("callers", ticket["caller_id"], {"email": address}, at)
            self._notice("caller", ticket["id"], at)
            return
        existing = self.store.contacts.find_caller(address.split("@")[0], address,
                                                   ticket["client_id"])
        if existing:
            caller_id = str(existing["id"])
        else:
            caller_id = caller_key(address, ticket["client_id"])
            self.store.insert("callers", {
                "id": caller_id, "name": address.split("@")[0], "email": address,
                "phone": None, "client_id": ticket["client_id"], "vip": 0, "created_at": at})
        self.write_changes(ticket, {"caller_id": caller_id}, at)
        self._notice("caller", ticket["id"], at)

    def change_status(self, ticket: TicketRow, target: Status, at: str, *,
                      reason: str | None = None) -> TicketRow:
        """Move a ticket to ``target`` inside the caller's transaction: checks the
        transition (a reopen needs a reason), pauses or resumes the SLA clock, writes and
        records the event. ``set_status`` is the front ends' way in (by ref, its own
        transaction); this is for services already inside a change."""
        current = Status(ticket["status"])
        check_transition(current, target)
        reopening = is_reopen(current, target)
        if reopening and not (reason or "").strip():
            raise InvalidInput("reopening needs a reason: say why the fix did not hold",
                               field="reason")
        now = from_iso(at)
        since = from_iso(ticket["sla_paused_since"]) if ticket["sla_paused_since"] else None
        new_since, paused = pause_update(self.policy, current, target, now, since,
                                         timedelta(seconds=ticket["sla_paused_seconds"]))
        changes: dict[str, Any] = {
            "status": target.value,
            "sla_paused_since": to_iso(new_since) if new_since else None,
            "sla_paused_seconds": int(paused.total_seconds()),
        }
        if target is Status.RESOLVED:
            changes["resolved_at"] = at
        if target is Status.CLOSED:
            changes["closed_at"] = at
        if reopening:
            changes.update(resolved_at=None, closed_at=None)
        ticket = self.write_changes(ticket, changes, at)
        if reopening:
            self.record_event(ticket["id"], at, "reopened", f"Reopened: {reason}",
                              {"from": current.value, "reason": reason})
            self._notice("reopened", ticket["id"], at)
        else:
            detail: dict[str, Any] = {"from": current.value, "to": target.value}
            if reason:
                detail["reason"] = reason
            self.record_event(ticket["id"], at, "status_changed",
                              f"Status: {current.value} → {target.value}"
                              + (f" ({reason})" if reason else ""), detail)
        return ticket

    def set_status(self, ref: str, status: str, *, reason: str | None = None) -> TicketRow:
        return self.update(ref, {"status": status}, reason=reason)

    # --- notes, time, attachments -----------------------------------------------------

    def add_note(self, ref: str | TicketRef, text: str, *, internal: bool) -> TicketRow:
        body = validation.clean_text(text, field="note", required=True)
        ticket = self.find(ref)
        at = to_iso(self._now())
        with self.store.transaction():
            note_id = self._new_id()
            self._put("notes", {"id": note_id, "ticket_id": ticket["id"], "at": at,
                                "author": self.actor, "body": body,
                                "internal": int(internal)})
            kind = "internal_note" if internal else "public_reply"
            label = "Internal note" if internal else "Reply to caller"
            self.record_event(ticket["id"], at, kind, f"{label} by {self.actor}",
                              {"note_id": note_id})
            if not internal:
                self._notice("reply", ticket["id"], at, {"text": body})
                contact = {"last_contact_at": at}
                if ticket["first_response_at"] is None:
                    contact["first_response_at"] = at
                self.write_changes(ticket, contact, at)
        return self.find(TicketRef(ticket_id=ticket["id"]))

    def log_time(self, ref: str | TicketRef, duration: str, *, note: str | None = None) -> int:
        minutes = validation.time_entry(duration)
        text = validation.clean_text(note, field="note", max_len=1000)
        ticket = self.find(ref)
        at = to_iso(self._now())
        with self.store.transaction():
            self.store.insert("time_entries", {"id": self._new_id(), "ticket_id": ticket["id"],
                                               "at": at, "author": self.actor,
                                               "minutes": minutes, "note": text})
            self.record_event(ticket["id"], at, "time_logged",
                              f"{minutes} min logged" + (f": {text}" if text else ""),
                              {"minutes": minutes})
        return minutes

    def _read_attachment(self, path_text: str, *, follow_symlinks: bool = False
                         ) -> tuple[str, bytes]:
        """Read a file to attach, trusting nothing about it.

        A symbolic link is refused unless asked for (a link named ``error.png`` could point
        at ``~/.ssh/id_ed25519``); only regular files are read (a FIFO or a device would
        block or never end); and the size limit counts the bytes actually read, since
        ``st_size`` says 0 for ``/proc`` files and a file can grow while it is read.
        """
        import os
        import stat

        path = Path(path_text).expanduser()
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
        if not follow_symlinks:
            flags |= getattr(os, "O_NOFOLLOW", 0)
            if path.is_symlink():  # also where O_NOFOLLOW does not exist
                raise InvalidInput(
                    f"{path_text!r} is a symbolic link; attach the file it points to by its "
                    "own path, or allow links with 'deskcli attach --follow-symlinks'",
                    field="file")
        try:
            descriptor = os.open(path, flags)
        except FileNotFoundError:
            raise InvalidInput(f"no file at {path_text!r}: give the path of a file to attach",
                               field="file") from None
        except OSError as error:
            raise InvalidInput(f"cannot read {path_text!r}: {error.strerror}",
                               field="file") from None
        limit = self.attachment_max_bytes
        too_big = InvalidInput(f"{path.name} is over the limit: attachments are limited to "
                               f"{limit / 1048576:.3g} MiB (attachment_max_mb in config.toml)",
                               field="file")
        try:
            if not stat.S_ISREG(os.fstat(descriptor).st_mode):
                raise InvalidInput(f"{path_text!r} is not a regular file (a folder, device or "
                                   "pipe); give the path of a file to attach", field="file")
            os.set_blocking(descriptor, True)
            chunks: list[bytes] = []
            total = 0
            while chunk := os.read(descriptor, min(1 << 20, limit + 1 - total)):
                chunks.append(chunk)
                total += len(chunk)
                if total > limit:
                    raise too_big
        except OSError as error:
            raise InvalidInput(f"cannot read {path_text!r}: {error.strerror}",
                               field="file") from None
        finally:
            os.close(descriptor)
        return path.name, b"".join(chunks)

    def store_attachment(self, ticket: TicketRow, name: str, data: bytes, at: str) -> str:
        """Keep ``data`` as an attachment of ``ticket`` (blob, row with its sync op, event)
        inside the caller's transaction; returns the attachment id. No size check: the
        caller has applied ``attachment_max_bytes`` already."""
        import base64  # here, not at start-up: few commands attach files
        import hashlib

        digest = hashlib.sha256(data).hexdigest()
        self.store.attachments.put_blob(digest, data)
        attachment_id = self._new_id()
        self.store.insert("attachments", {"id": attachment_id, "ticket_id": ticket["id"],
                                          "at": at, "author": self.actor, "filename": name,
                                          "sha256": digest, "size": len(data)},
                          op_extra={"content_b64": base64.b64encode(data).decode()})
        self.record_event(ticket["id"], at, "attachment_added",
                          f"Attached {name} ({len(data)} bytes)",
                          {"attachment_id": attachment_id, "sha256": digest})
        return attachment_id

    def attach(self, ref: str | TicketRef, path: str, *, follow_symlinks: bool = False) -> str:
        name, data = self._read_attachment(path, follow_symlinks=follow_symlinks)
        ticket = self.find(ref)
        at = to_iso(self._now())
        with self.store.transaction():
            return self.store_attachment(ticket, name, data, at)

    def attachment(self, attachment_id: str) -> tuple[Row, bytes]:
        """An attachment's record and its content, checked against the stored hash.

        The content travels through sync and sits in a file on disk, so before anything
        is handed out its SHA-256 is recomputed: a mismatch is an error that says so, never
        a silently wrong file.
        """
        row = self.store.attachments.by_id(attachment_id)
        if row is None:
            raise NotFound(f"no single attachment has an id starting {attachment_id!r}: "
                           "'deskcli show REF --format json' lists a ticket's attachments "
                           "with their ids")
        data = self.store.attachments.blob(row["sha256"])
        if data is None:
            raise OperationFailed(
                f"the content of {row['filename']} is not in this store (its record arrived "
                "without it); it cannot be exported")
        import hashlib

        if hashlib.sha256(data).hexdigest() != row["sha256"]:
            raise OperationFailed(
                f"the stored content of {row['filename']} does not match its SHA-256 hash "
                f"({row['sha256'][:12]}…): the store is damaged or was altered; nothing was "
                "exported. Run 'deskcli doctor'")
        return row, data

    # --- checklist steps --------------------------------------------------------------

    def _record_step_by_action(self, ticket: Mapping[str, Any], action: str,
                               values: Mapping[str, Any], at: str) -> None:
        """When a verb is used directly (CLI ``escalate``), tick the step that carries it."""
        if self._batch is not None:  # the same few lookups for every record of a batch
            steps = self._cache.setdefault("steps", {})
            key = (ticket["checklist"], action)
            if key not in steps:
                found = self.checklists[ticket["checklist"]]
                steps[key] = (found, found.step_with_action(action))
            checklist, step = steps[key]
        else:
            checklist = self.checklists[ticket["checklist"]]
            step = checklist.step_with_action(action)
        if step is not None:
            self._record_step(ticket, checklist, step, values, at)

    def _record_step(self, ticket: Mapping[str, Any], checklist: Checklist, step: StepSpec,
                     values: Mapping[str, Any], at: str) -> None:
        self._put("step_records", {
            "id": self._new_id(), "ticket_id": ticket["id"], "checklist": checklist.key,
            "step": step.key, "at": at, "actor": self.actor,
            "data": self._encode(values)})
        detail: dict[str, Any] = {"step": step.key}
        if pairs := engine.collected(step, values):
            # What the step collected goes on the timeline with it (labels and text).
            detail["collected"] = [list(pair) for pair in pairs]
        self.record_event(ticket["id"], at, "step_completed", f"Step done: {step.title}", detail)
        if self.on_change is not None:  # the notice's copy of the values only for a listener
            self._notice("step", ticket["id"], at, {**values, "step": step.key})

    def complete_step(self, ref: str | TicketRef, step_key: str,
                      raw: Mapping[str, Any]) -> TicketRow:
        """Complete a checklist step with what it collects, running its action if any."""
        ticket = self.find(ref)
        checklist = self.checklist_for(ticket)
        facts = self.facts(ticket)
        step = engine.check_can_complete(checklist, step_key, facts)
        values = engine.validate_values(step, raw)
        if engine.records_work(step):
            self._check_identity(ticket, facts, f"record '{step.title}'",
                                 self._step_texts(step, values))
        survey = (survey_outcome(str(values.get("survey")), self.channels,
                                 ticket.get("caller_email"))
                  if step.action == "send_survey" else None)
        if step.action == "verify_identity" and not Status(ticket["status"]).is_open:
            raise Refused(f"{display_ref(ticket['number'], ticket['provisional'])} is "
                          f"{ticket['status']}: the caller's identity is recorded with the "
                          "work done; reopen the ticket to record it again", field="step")
        files = {f.key: self._read_attachment(str(values[f.key]))
                 for f in step.fields if f.kind is FieldKind.FILE and f.key in values}
        at = to_iso(self._now())
        with self.store.transaction():
            for key, (name, data) in files.items():
                values[key] = {"attachment_id": self.store_attachment(ticket, name, data, at),
                               "filename": name}
            mapped = {f.maps_to: values[f.key] for f in step.fields
                      if f.maps_to and f.key in values}
            action = step.action
            if action == "escalate":
                ticket = self._escalate(ticket, values, at)
            elif action == "resolve":
                ticket = self._resolve(ticket, values.get("root_cause"),
                                       values.get("resolution"), None, at)
            elif action == "close":
                ticket = self._close(ticket, values.get("resolution_category"), at)
            elif action == "send_survey" and survey is not None:
                self._survey_sent(ticket, survey.via, at, kind=survey.kind,
                                  summary=survey.summary)
            elif action == "page":
                self.record_event(ticket["id"], at, "page_recorded",
                                  page_summary(str(values.get("pager")), self.channels),
                                  {"pager": values.get("pager"),
                                   "configured": list(self.channels.pagers)})
            if mapped:
                ticket = self._apply_fields(ticket, mapped, at)
            if action == "verify_identity":
                self._apply_verification(ticket["id"], Verification(values["method"]),
                                         values.get("detail"), at)
            elif action == "open" and Status(ticket["status"]) is Status.NEW:
                ticket = self.change_status(ticket, Status.OPEN, at)
            self._record_step(ticket, checklist, step, values, at)
        return self.find(TicketRef(ticket_id=ticket["id"]))

    def skip_step(self, ref: str | TicketRef, step_key: str, reason: str | None) -> TicketRow:
        """Skip an applicable step with the reason it was not done.

        The reason is required (the domain refuses a blank one) and goes on the timeline
        and into ``show``; a skipped step counts as settled when the ticket is closed.
        Completing the step later replaces the skip.
        """
        ticket = self.find(ref)
        checklist = self.checklist_for(ticket)
        step, why = engine.check_can_skip(checklist, step_key, self.facts(ticket), reason)
        at = to_iso(self._now())
        with self.store.transaction():
            self.store.insert("step_records", {
                "id": self._new_id(), "ticket_id": ticket["id"], "checklist": checklist.key,
                "step": step.key, "at": at, "actor": self.actor,
                "data": json.dumps({SKIPPED_KEY: why}, ensure_ascii=False)})
            self.record_event(ticket["id"], at, "step_skipped",
                              f"Step skipped: {step.title} — {why}",
                              {"step": step.key, "reason": why})
        return self.find(TicketRef(ticket_id=ticket["id"]))

    def _apply_verification(self, ticket_id: str, method: Verification, detail: str | None,
                            at: str) -> None:
        self._unbuffered()
        self.store.update_ticket(ticket_id, {
            "verification": method.value, "verification_detail": detail,
            "verified_at": at if method.verified else None,
            "verified_by": self.actor if method.verified else None}, at)
        self._rebuffered()
        summary = (f"Identity verified: {method.label.lower()}" if method.verified
                   else "Identity could NOT be verified: credential actions stay blocked")
        self.record_event(ticket_id, at, "identity_verified" if method.verified
                          else "identity_unverified", summary, {"method": method.value})

    # --- lifecycle verbs --------------------------------------------------------------

    def escalate(self, ref: str | TicketRef, *, queue: str | None, repro: str | None,
                 tried: str | None, impact: str | None, error: str | None = None,
                 asset: str | None = None) -> TicketRow:
        ticket = self.find(ref)
        values = {"queue": queue, "repro": repro, "tried": tried, "impact": impact,
                  "error": error, "asset": asset}
        at = to_iso(self._now())
        with self.store.transaction():
            ticket = self._escalate(ticket, values, at)
            self._record_step_by_action(ticket, "escalate",
                                        {k: v for k, v in values.items() if v}, at)
        return self.find(TicketRef(ticket_id=ticket["id"]))

    def _escalate(self, ticket: TicketRow, values: Mapping[str, Any], at: str) -> TicketRow:
        notes = validation.EscalationNotes.build(
            queue=values.get("queue"), repro=values.get("repro"), tried=values.get("tried"),
            impact=values.get("impact"), error=values.get("error") or ticket["error_text"],
            asset=values.get("asset") or ticket["asset"])
        check_transition(Status(ticket["status"]), Status.ESCALATED)
        note_id = self._new_id()
        self.store.insert("notes", {"id": note_id, "ticket_id": ticket["id"], "at": at,
                                    "author": self.actor, "body": notes.as_note(),
                                    "internal": 1})
        ticket = self.write_changes(ticket, {"queue": notes.queue}, at)
        ticket = self.change_status(ticket, Status.ESCALATED, at)
        self.record_event(ticket["id"], at, "escalated", f"Escalated to {notes.queue}",
                          {"queue": notes.queue, "note_id": note_id})
        return ticket

    def resolve(self, ref: str | TicketRef, *, root_cause: str | None,
                resolution: str | None, category: str | None = None,
                children: bool = False) -> TicketRow:
        """Resolve a ticket; with ``children``, also every open ticket linked under it,
        with the same root cause and resolution (each caller is told about their own
        ticket by the outbound queue). All in one transaction: a child the rules refuse
        refuses the whole change, naming the child."""
        ticket = self.find(ref)
        at = to_iso(self._now())
        with self.store.transaction():
            ticket = self._resolve(ticket, root_cause, resolution, category, at)
            self._record_step_by_action(ticket, "resolve", {
                "root_cause": ticket["root_cause"], "resolution": ticket["resolution"]}, at)
            if children:
                self._resolve_children(ticket, category, at)
        return self.find(TicketRef(ticket_id=ticket["id"]))

    def open_children(self, ticket_id: str) -> list[Row]:
        """Children still open (what resolving the parent with ``children`` resolves).

        In a batch, if it holds a change to one of them (a child resolved earlier in a
        bulk resolve), what it holds is written first and the children read again. (No
        batched kind changes which tickets are linked under which.)"""
        rows = self._links.children(ticket_id)
        if self._fresh("tickets", *(row["id"] for row in rows)):
            rows = self._links.children(ticket_id)
        return [row for row in rows if Status(row["status"]).is_open]

    def _resolve_children(self, parent: TicketRow, category: str | None, at: str) -> None:
        parent_ref = display_ref(parent["number"], parent["provisional"])
        for row in self.open_children(parent["id"]):
            child = self.store.tickets.by_id(row["id"])
            if child is None:
                continue
            try:
                child = self._resolve(child, parent["root_cause"], parent["resolution"],
                                      category, at)
            except DeskError as error:
                ref = display_ref(row["number"], row["provisional"])
                message = error.message if ref in error.message else f"{ref}: {error.message}"
                raise Refused(f"cannot resolve {parent_ref} with its children: {message}",
                              field=error.field) from None
            self._record_step_by_action(child, "resolve", {
                "root_cause": child["root_cause"], "resolution": child["resolution"]}, at)

    def _resolve(self, ticket: TicketRow, root_cause: str | None, resolution: str | None,
                 category: str | None, at: str) -> TicketRow:
        cause = validation.clean_text(root_cause, field="root_cause", required=True)
        note = validation.check_resolution(resolution)
        cat = ResolutionCategory.parse(category, what="category").value if category else None
        check_transition(Status(ticket["status"]), Status.RESOLVED)
        self._check_identity({**ticket, "root_cause": cause, "resolution": note},
                             self.facts(ticket),
                             f"resolve {display_ref(ticket['number'], ticket['provisional'])}")
        changes: dict[str, Any] = {"root_cause": cause, "resolution": note}
        if cat:
            changes["resolution_category"] = cat
        ticket = self.write_changes(ticket, changes, at)
        ticket = self.change_status(ticket, Status.RESOLVED, at)
        self.record_event(ticket["id"], at, "resolved", f"Resolved: {note}",
                          {"root_cause": cause})
        self._notice("resolved", ticket["id"], at)
        return ticket

    def close(self, ref: str | TicketRef, *, category: str | None = None) -> TicketRow:
        ticket = self.find(ref)
        at = to_iso(self._now())
        with self.store.transaction():
            ticket = self._close(ticket, category, at)
            self._record_step_by_action(
                ticket, "close", {"resolution_category": ticket["resolution_category"]}, at)
        return self.find(TicketRef(ticket_id=ticket["id"]))

    def _close(self, ticket: TicketRow, category: str | None, at: str) -> TicketRow:
        facts = self.facts(ticket)
        ref = display_ref(ticket["number"], ticket["provisional"])
        for gate in (resolved, time_logged):
            if reason := gate(facts):
                raise Refused(f"cannot close {ref}: {reason}", field="status")
        self._check_identity(ticket, facts, f"close {ref}")
        unfinished = engine.unfinished_before_close(
            engine.evaluate(self.checklist_for(ticket), facts))
        if unfinished:
            raise Refused(f"cannot close {ref}: {engine.close_refusal(unfinished)}",
                          field="step")
        chosen = (ResolutionCategory.parse(category, what="category").value if category
                  else ticket["resolution_category"] or ticket["type"])
        ticket = self.write_changes(ticket, {"resolution_category": chosen}, at)
        ticket = self.change_status(ticket, Status.CLOSED, at)
        self.record_event(ticket["id"], at, "closed",
                          f"Closed as {chosen}; {facts.minutes_logged} min logged",
                          {"resolution_category": chosen})
        self._notice("closed", ticket["id"], at)
        return ticket

    def reopen(self, ref: str | TicketRef, *, reason: str | None) -> TicketRow:
        """Reopen a resolved or closed ticket; refused for one that is still open, where
        "reopen" would quietly become an ordinary status change."""
        ticket = self.find(ref)
        current = Status(ticket["status"])
        if not is_reopen(current, Status.OPEN):
            raise Refused(f"{display_ref(ticket['number'], ticket['provisional'])} is "
                          f"{current.value}, not resolved or closed: only those can be "
                          "reopened", field="status")
        return self.update(ref, {"status": Status.OPEN.value}, reason=reason)

    # --- satisfaction surveys -------------------------------------------------------------

    def record_survey_sent(self, ref: str, via: str) -> TicketRow:
        """Note on the timeline that the satisfaction survey went out (``survey_sent``).

        Called by the checklist's ``send_survey`` step and by anything that delivers the
        survey itself (an email worker passes ``via="email"``). The survey is then pending
        until the caller's answer is recorded with ``record_csat``.
        """
        how = validation.clean_text(via, field="via", required=True, max_len=40,
                                    one_line=True)
        assert how is not None  # required: refused above when empty
        ticket = self.find(ref)
        at = to_iso(self._now())
        with self.store.transaction():
            self._survey_sent(ticket, how, at)
        return self.find(TicketRef(ticket_id=ticket["id"]))

    def survey_delivered(self, ticket_id: str, at: str) -> None:
        """The outbound queue emailed the survey: the same ``survey_sent`` event the
        checklist step writes, in the sender's transaction. The sender has already checked
        that the ticket is still closed, so this never refuses (a refusal would roll back
        the record of a delivery that happened)."""
        ticket = self.store.tickets.by_id(ticket_id)
        if ticket is not None and not Status(ticket["status"]).is_open:
            self._survey_sent(ticket, "email", at)

    def _survey_sent(self, ticket: TicketRow, via: str, at: str, *, kind: str = "survey_sent",
                     summary: str | None = None) -> None:
        status = Status(ticket["status"])
        if status.is_open:
            raise Refused(f"{display_ref(ticket['number'], ticket['provisional'])} is "
                          f"{status.value}: the survey goes out once the ticket is resolved "
                          "or closed", field="status")
        self.record_event(ticket["id"], at, kind, summary or f"Satisfaction survey sent ({via})",
                          {"via": via})

    # --- what the configured channels can carry ------------------------------------------

    def step_notes(self, ticket: TicketRow) -> dict[str, str]:
        """Warnings to show beside steps BEFORE they are completed, when no configured
        channel can carry what the step is about (the survey, the page). Keyed by step."""
        checklist = self.checklists.get(ticket["checklist"])
        notes: dict[str, str] = {}
        for step in checklist.steps if checklist else ():
            if step.action == "send_survey":
                note = survey_note(self.channels, ticket.get("caller_email"))
            elif step.action == "page":
                note = page_note(self.channels)
            else:
                continue
            if note:
                notes[step.key] = note
        return notes

    def unpaged_p1s(self) -> list[str]:
        """Open P1 tickets on a desk with no pager configured whose page has not been
        recorded by hand: the console keeps a warning up until there are none."""
        if self.channels.pagers:
            return []
        keys = [s.key for c in self.checklists.values() for s in c.steps if s.action == "page"]
        return [display_ref(number, provisional)
                for number, provisional in self.store.queue.open_p1_without(keys)]

    def record_csat(self, ref: str, score: object, comment: str | None = None) -> TicketRow:
        """Record the caller's survey answer (1-5) as an append-only row plus an event.

        The domain decides what is accepted (``metrics.check_score``, ``check_answer``):
        only resolved or closed tickets, and one answer per survey round.
        """
        from deskcli.domain import metrics

        value = metrics.check_score(score)
        text = validation.clean_text(comment, field="comment", max_len=2000)
        ticket = self.find(ref)
        status = Status(ticket["status"])
        events = self._compact_events(ticket["id"])
        round_start = max((int(tok[1:]) for tok in events.split()
                           if tok[0] == metrics.REOPENED), default=0)
        answered = [at for _, at, _ in self.store.metrics.csat_answers(_END_OF_TIME, ticket["id"])
                    if at >= round_start]
        metrics.check_answer(display_ref(ticket["number"], ticket["provisional"]), status,
                             answered[-1] if answered else None,
                             lambda epoch: to_iso(datetime.fromtimestamp(epoch, UTC)))
        at = to_iso(self._now())
        with self.store.transaction():
            answer_id = self._new_id()
            self.store.insert("csat_responses", {
                "id": answer_id, "ticket_id": ticket["id"], "at": at, "author": self.actor,
                "score": value, "comment": text})
            self.record_event(ticket["id"], at, "csat", f"Survey answer: {value}/5"
                              + (f": {text}" if text else ""),
                              {"answer_id": answer_id, "score": value})
        return self.find(TicketRef(ticket_id=ticket["id"]))

    def _compact_events(self, ticket_id: str) -> str:
        """The ticket's whole timeline in the metrics' compact form."""
        from deskcli.domain import metrics

        rows = list(self.store.metrics.timelines("", _END_OF_TIME,
                                                metrics.paused_statuses(self.policy),
                                                ticket_ids=[ticket_id]))
        return str(metrics.Timeline._make(rows[0]).events or "") if rows else ""

    def survey_state(self, ref: str) -> metrics.SurveyState:
        ticket = self.find(ref)
        events = self._compact_events(ticket["id"])
        answers = [at for _, at, _ in self.store.metrics.csat_answers(_END_OF_TIME, ticket["id"])]
        from deskcli.domain import metrics

        return metrics.survey_state(events, answers)

    # --- parents, children and merged duplicates -------------------------------------

    def link(self, child_ref: str | TicketRef, parent_ref: str | TicketRef) -> TicketRow:
        """Link a ticket under a parent (``deskcli link``); refused across clients, under
        itself or a descendant, or to a merged ticket (``domain.links``)."""
        child, parent = self.find(child_ref), self.find(parent_ref)
        at = to_iso(self._now())
        with self.store.transaction():
            child = self._link(child, parent, at)
        return self.find(TicketRef(ticket_id=child["id"]))

    def unlink(self, child_ref: str | TicketRef) -> TicketRow:
        """Take a ticket out from under its parent."""
        child = self.find(child_ref)
        parent_id = child["parent_id"]
        if not parent_id:
            raise Refused(f"{display_ref(child['number'], child['provisional'])} has no "
                          "parent", field="parent")
        at = to_iso(self._now())
        with self.store.transaction():
            parent = self.store.tickets.by_id(parent_id)
            child = self.write_changes(child, {"parent_id": None}, at)
            was = display_ref(parent["number"], parent["provisional"]) if parent else "?"
            self.record_event(child["id"], at, "unlinked", f"No longer under {was}",
                        {"parent_id": child.get("parent_id")})
        return self.find(TicketRef(ticket_id=child["id"]))

    def _link(self, child: TicketRow, parent: TicketRow, at: str) -> TicketRow:
        check_link(child, parent, self._links.parent_of)
        if child.get("parent_id") == parent["id"]:
            return child  # already there: nothing to record
        child_ref = display_ref(child["number"], child["provisional"])
        parent_ref = display_ref(parent["number"], parent["provisional"])
        child = self.write_changes(child, {"parent_id": parent["id"]}, at)
        self.record_event(child["id"], at, "linked", f"Linked under {parent_ref}",
                    {"parent_id": parent["id"]})
        self.record_event(parent["id"], at, "child_linked", f"{child_ref} linked under this ticket",
                    {"child_id": child["id"]})
        return child

    def children(self, ticket_id: str) -> list[Row]:
        """The tickets linked under this one (not merged ones), oldest first."""
        return self._links.children(ticket_id)

    def merged_duplicates(self, ticket_id: str) -> list[Row]:
        """The duplicates merged into this ticket, oldest first."""
        return self._links.merged_into_this(ticket_id)

    def merge(self, duplicate_ref: str | TicketRef, target_ref: str | TicketRef) -> TicketRow:
        """Merge a duplicate into a target (``deskcli merge DUP --into TARGET``).

        The duplicate is closed as "merged into #N" (whatever its checklist says: it is
        not being resolved, it is the same request as the target); its notes, time,
        attachments and timeline stay where they were written and are shown under the
        target; its caller becomes a party of the target, so their email replies thread
        there. Refused across clients and for a ticket merged already.
        """
        duplicate, target = self.find(duplicate_ref), self.find(target_ref)
        check_merge(duplicate, target)
        at = to_iso(self._now())
        with self.store.transaction():
            self._merge(duplicate, target, at)
        return self.find(TicketRef(ticket_id=duplicate["id"]))

    def _merge(self, duplicate: TicketRow, target: TicketRow, at: str) -> TicketRow:
        check_merge(duplicate, target)
        dup_ref = display_ref(duplicate["number"], duplicate["provisional"])
        target_ref = display_ref(target["number"], target["provisional"])
        on_duplicate, on_target = merge_summary(dup_ref, target_ref)
        # Children of the duplicate belong under the target now.
        for child in self._links.children(duplicate["id"]):
            full = self.store.tickets.by_id(child["id"])
            if full is not None and full["id"] != target["id"]:
                self.write_changes(full, {"parent_id": target["id"]}, at)
        duplicate = self.write_changes(duplicate, {"merged_into": target["id"]}, at)
        current = Status(duplicate["status"])
        if current is not Status.CLOSED:
            now = from_iso(at)
            since = (from_iso(duplicate["sla_paused_since"])
                     if duplicate["sla_paused_since"] else None)
            new_since, paused = pause_update(
                self.policy, current, Status.CLOSED, now, since,
                timedelta(seconds=duplicate["sla_paused_seconds"]))
            duplicate = self.write_changes(duplicate, {
                "status": Status.CLOSED.value, "closed_at": at,
                "sla_paused_since": to_iso(new_since) if new_since else None,
                "sla_paused_seconds": int(paused.total_seconds()),
                "resolution_category": duplicate["resolution_category"] or duplicate["type"],
            }, at)
            self.record_event(duplicate["id"], at, "status_changed",
                        f"Status: {current.value} → closed (merged into {target_ref})",
                        {"from": current.value, "to": Status.CLOSED.value,
                         "reason": f"merged into {target_ref}"})
        self.record_event(duplicate["id"], at, "merged", on_duplicate,
                    {"into": target["id"]})
        self.record_event(target["id"], at, "merged_in", on_target,
                    {"duplicate_id": duplicate["id"],
                     "caller_email": duplicate.get("caller_email")})
        return duplicate

    def merge_target(self, ticket: TicketRow) -> TicketRow:
        """The ticket a merged duplicate now lives in (following merges of merges), or the
        ticket itself. Two offline merges into each other make a loop: the chain stops at
        the first ticket seen twice, the same one on every replica."""
        seen = {ticket["id"]}
        current = ticket
        for _ in range(MAX_DEPTH):
            into = current.get("merged_into")
            if not into or into in seen:
                return current
            found = self.store.tickets.by_id(into)
            if found is None:
                return current
            seen.add(into)
            current = found
        return current

    def party_emails(self, ticket: TicketRow) -> set[str]:
        """Addresses that speak for the ticket: its caller and the callers of every
        duplicate merged into it (their replies belong here)."""
        emails = {str(ticket["caller_email"]).lower()} if ticket.get("caller_email") else set()
        emails |= {str(row["caller_email"]).lower()
                   for row in self._links.merged_into_this(ticket["id"])
                   if row["caller_email"]}
        return emails

    # --- the queue --------------------------------------------------------------------

    def queue(self, *, tags: Sequence[str] = (), **filters: Any) -> Iterator[tuple[Any, ...]]:
        """Queue rows, most urgent first (``store.queue.rows``); ``tags`` keeps the tickets
        carrying every one of them (each checked as a tag: a bad one is refused)."""
        wanted = parse_tags(tags)
        if wanted:
            return self._tags.queue_rows(wanted, **filters)
        return self.store.queue.rows(**filters)
