"""Applying pulled changes to the local store, by the same rules the server used.

Field values are last-writer-wins by HLC stamp, compared against the stamp of the value
the store holds (its own unsent edits included), so a local edit newer than the incoming
one survives and is sent on the next push. Appended records are inserted once by id.
Everything here runs inside the caller's transaction, together with the new cursor.

No feed row can stop a store from syncing: a row that breaks the shared schema
(``sync.schema``), carries a stamp from beyond the server's clock, or fails to apply for
any other reason is undone alone (a savepoint), set aside in the local quarantine with
the reason, and the rest of the page is applied. Held rows are tried again on each sync,
so a row that needed a newer deskcli or a parent that came later applies once it can.
An admin's retraction (entity ``op``) withdraws a row: it leaves the quarantine, and a
retracted appended record is removed.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from typing import Any, Protocol

from deskcli.domain import hlc as hlc_mod
from deskcli.domain.enums import Status
from deskcli.domain.numbering import provisional_label
from deskcli.domain.sla import CLOCK_INPUTS
from deskcli.storage.store import Store
from deskcli.sync import schema
from deskcli.sync.protocol import DERIVED_FIELDS, ENTITY_TABLES, SERVER_ORIGIN

#: The feed's entity for an admin's retraction of an op (``deskcli server ops --retract``).
RETRACTION = "op"


class TicketRules(Protocol):
    """What applying needs from the ticket service: the columns a store derives itself
    (SLA clocks) and the identity check sync can make true. Typed by shape, so sync never
    imports the services layer (which sits beside it); the front end hands in its desk's
    ``TicketService``."""

    def refresh_derived(self, ticket_id: str) -> None: ...

    def flag_unverified_account_work(self, ticket_id: str) -> bool: ...

    def derived_for_new(self, row: Mapping[str, Any], tier: str | None) -> dict[str, Any]: ...


@dataclass
class ApplyStats:
    applied: int = 0
    skipped: int = 0
    tickets: set[str] = field(default_factory=set)
    conflicts: int = 0
    quarantined: int = 0
    released: int = 0
    retracted: int = 0


class ChangeApplier:
    def __init__(self, store: Store, tickets: TicketRules) -> None:
        self.store = store
        self.tickets = tickets
        self._columns: dict[str, set[str]] = {}
        #: Tickets the last page created whose derived columns need no second look.
        self._settled: set[str] = set()

    def columns_of(self, table: str) -> set[str]:
        """The local table's columns (read once): a pulled value for any other is dropped."""
        if table not in self._columns:
            self._columns[table] = set(self.store.columns(table))
        return self._columns[table]

    def _ticket_of(self, entity: str, entity_id: str, value: Any) -> str | None:
        if entity == "ticket":
            return entity_id
        if isinstance(value, Mapping) and value.get("ticket_id"):
            return str(value["ticket_id"])
        return None

    def apply(self, changes: Iterable[Mapping[str, Any]], *, server_ms: int | None = None,
              at: str = "") -> ApplyStats:
        """Apply a page of feed rows; a row that cannot be applied is quarantined.

        ``server_ms`` is the server's clock when it sent the page: no honest stamp is
        further ahead of it than the skew the server allows.
        """
        stats = ApplyStats()
        changes = list(changes)
        if not changes:
            return stats
        limit = max(server_ms or 0, self.store.now_ms()) + hlc_mod.MAX_AHEAD_MS
        own = self.store.sync.own_ops([str(change.get("op_id")) for change in changes])
        ready: list[Mapping[str, Any]] = []
        retractions: list[Mapping[str, Any]] = []
        for change in changes:
            if change.get("op_id") in own:
                stats.skipped += 1  # already applied when it was made here
            elif change.get("entity") == RETRACTION:
                retractions.append(change)
            else:
                problem = self._check(change, limit)
                if problem is None:
                    ready.append(change)
                else:
                    self.store.sync.quarantine(change, problem[:500], at)
                    stats.quarantined += 1
        self._settled = set()
        applied = self._apply_all(ready, stats)
        if applied is None:  # some row failed: undo the page's rows, then one at a time
            applied = [change for change in ready if self._try(change, limit, at, stats)]
        for change in retractions:
            stats.retracted += self._retract(change)
        for change in applied:
            ticket = self._ticket_of(change["entity"], change["entity_id"], change["value"])
            if ticket:
                stats.tickets.add(ticket)
            if change["entity"] == "event" and change["value"].get("kind") == "conflict":
                stats.conflicts += 1
        if applied:
            # One clock observation per page, not per change.
            self.store.sync.observe_hlc(max(change["hlc"] for change in applied))
        self._refresh(stats, skip=self._settled)
        return stats

    def _apply_all(self, ready: list[Mapping[str, Any]],
                   stats: ApplyStats) -> list[Mapping[str, Any]] | None:
        """The fast path: the whole page in one savepoint, decided in memory and written
        in bulk (``_PageBatch``) when the page holds only plain rows, else row by row.
        None if any row failed."""
        outcomes: list[bool] | None = None
        try:
            if _PageBatch.suits(ready):
                with self.store.savepoint():
                    batch = _PageBatch(self)
                    outcomes = batch.apply(ready)
                    settled = batch.settled()
                self._settled = settled
        except _NeedsRowByRow:
            outcomes = None
        except Exception:  # noqa: BLE001 - the slow path finds and quarantines the row
            return None
        if outcomes is None:
            try:
                with self.store.savepoint():
                    outcomes = [self._apply_one(change) for change in ready]
            except Exception:  # noqa: BLE001 - the slow path finds and quarantines the row
                return None
        stats.applied += sum(outcomes)
        stats.skipped += len(outcomes) - sum(outcomes)
        return ready

    def retry_quarantined(self, at: str) -> ApplyStats:
        """Try the held rows again; those that apply now leave the quarantine."""
        stats = ApplyStats()
        limit = self.store.now_ms() + hlc_mod.MAX_AHEAD_MS
        for row in self.store.sync.quarantined():
            change = {**row, "value": json.loads(row["value"])}
            if self._check(change, max(limit, _wall(change["hlc"]))) is not None:
                continue  # still malformed: no point trying
            held = stats.quarantined
            if self._try(change, limit, at, stats, retry=True) and stats.quarantined == held:
                self.store.sync.release_quarantined(row["op_id"])
                stats.released += 1
                ticket = self._ticket_of(change["entity"], change["entity_id"],
                                         change["value"])
                if ticket:
                    stats.tickets.add(ticket)
        self._refresh(stats)
        return stats

    def _refresh(self, stats: ApplyStats, skip: Set[str] = frozenset()) -> None:
        """Recompute what sync changes imply for each ticket touched; ``skip`` holds
        tickets for which that is known to change nothing (see ``_PageBatch.settled``)."""
        for ticket_id in sorted(stats.tickets - skip):
            try:
                with self.store.savepoint():
                    self.tickets.refresh_derived(ticket_id)
                    # Never refuse what arrived (sync must not stop), but never keep it
                    # silent: account work resolved for an unverified caller is flagged.
                    self.tickets.flag_unverified_account_work(ticket_id)
            except Exception:  # noqa: BLE001 - derived columns are recomputed on next write
                continue

    @staticmethod
    def _check(change: Mapping[str, Any], limit_ms: int) -> str | None:
        """Why a row must not be applied here, or None."""
        try:
            wall_ms = hlc_mod.wall_of(change.get("hlc"))
            schema.check_op(change, from_server=change.get("origin") == SERVER_ORIGIN)
        except schema.OpInvalid as error:
            return f"{error} (field {error.field})" if error.field else str(error)
        except ValueError as error:
            return f"bad stamp: {error}"
        if wall_ms > limit_ms:
            return "stamped further ahead of the server's clock than any honest machine"
        return None

    def _try(self, change: Mapping[str, Any], limit_ms: int, at: str, stats: ApplyStats,
             *, retry: bool = False) -> bool:
        """Apply one row in a savepoint; on any failure quarantine it. True if applied."""
        problem = self._check(change, limit_ms)
        if problem is None:
            try:
                with self.store.savepoint():
                    if self._apply_one(change):
                        stats.applied += 1
                    else:
                        stats.skipped += 1
                return True
            except Exception as error:  # noqa: BLE001 - no row may stop a sync
                problem = f"could not be applied here: {type(error).__name__}: {error}"
        if not retry:
            self.store.sync.quarantine(change, problem[:500], at)
            stats.quarantined += 1
        return False

    def _retract(self, change: Mapping[str, Any]) -> int:
        """An admin withdrew an op: drop it from the quarantine, remove a retracted record."""
        value = change.get("value")
        op_id = change.get("entity_id")
        if not isinstance(op_id, str) or not isinstance(value, Mapping):
            return 0
        self.store.sync.retract_quarantined(op_id)
        table = ENTITY_TABLES.get(str(value.get("entity")))
        target = value.get("entity_id")
        if value.get("kind") == "append" and table and isinstance(target, str):
            try:
                with self.store.savepoint():
                    self.store.sync.delete_remote(table, "id", target)
            except Exception:  # noqa: BLE001 - something refers to it: keep the record
                pass
        return 1

    def _apply_one(self, change: Mapping[str, Any]) -> bool:
        entity, entity_id, kind = change["entity"], change["entity_id"], change["kind"]
        table = ENTITY_TABLES.get(entity)
        if table is None:
            return False
        value = change["value"]
        if kind == "append":
            row = {k: v for k, v in value.items() if k in self.columns_of(table)}
            if entity == "attachment" and value.get("content_b64"):
                self.store.attachments.put_blob(row["sha256"],
                                                base64.b64decode(value["content_b64"]))
            return self.store.sync.insert_remote(table, row)
        if kind == "create":
            if self.store.row(table, entity_id) is None:
                row = {k: v for k, v in value.items()
                       if k in self.columns_of(table) and k not in DERIVED_FIELDS}
                if entity == "ticket":
                    self._free_number(row.get("number"), entity_id)
                    client = self.store.row("clients", row["client_id"]) if row.get(
                        "client_id") else None
                    row.update(self.tickets.derived_for_new(
                        row, client["contract_tier"] if client else None))
                    row["updated_at"] = row.get("created_at")
                self.store.sync.insert_remote(table, row)
                self.store.sync.set_field_version(entity, entity_id, "*", change["hlc"])
                return True
            changed = False
            for name, field_value in value.items():
                if name != "id":
                    changed |= self._set(entity, table, entity_id, name, field_value,
                                         change["hlc"])
            return changed
        if kind == "set" and change.get("field"):
            return self._set(entity, table, entity_id, change["field"], value, change["hlc"])
        if kind == "remove":  # moved to a client this technician does not work for
            from deskcli.sync.scope import remove_record

            return remove_record(self.store, entity, entity_id)
        return False

    def _free_number(self, number: Any, ticket_id: str) -> None:
        """The server's number wins: a local ticket holding it (numbered from a block of
        a server history that was since restored) waits under a provisional label until
        the feed brings its own authoritative number."""
        if not isinstance(number, int):
            return
        holder = self.store.tickets.by_number(number)
        if holder is not None and holder["id"] != ticket_id:
            label = provisional_label(self.store.client_id[:4],
                                      self.store.sync.next_provisional_seq())
            self.store.sync.update_remote("tickets", holder["id"],
                                     {"number": None, "provisional": label})

    def _set(self, entity: str, table: str, entity_id: str, name: str, value: Any,
             stamp: str) -> bool:
        if name not in self.columns_of(table) or name in DERIVED_FIELDS:
            return False
        if self.store.row(table, entity_id) is None:
            return False
        local = self.store.sync.field_version(entity, entity_id, name)
        if local is not None and local >= stamp:
            return False  # what we hold is newer (possibly our own unsent edit)
        if entity == "ticket" and name == "number":
            self._free_number(value, entity_id)
        self.store.sync.update_remote(table, entity_id, {name: value})
        self.store.sync.set_field_version(entity, entity_id, name, stamp)
        return True


class _NeedsRowByRow(Exception):
    """The page does something the batch does not decide in memory (a ticket number held
    by another ticket here): the caller applies it row by row instead."""


#: Tables written before the others, so a row's parent is in place when it is inserted.
_PARENTS_FIRST = ("clients", "callers", "tickets", "kb_articles")


class _PageBatch:
    """One page of plain feed rows, applied with the same rules as ``_apply_one`` but
    decided in memory: what the page touches is read in a few queries up front, and the
    result is written with one statement per table and shape (``storage.pulled``).

    It runs inside the applier's savepoint: if anything fails, nothing of it stays and
    the page is applied row by row, which finds and quarantines the row at fault.
    """

    def __init__(self, applier: ChangeApplier) -> None:
        from deskcli.storage.pulled import PulledRows

        self.applier = applier
        self.rows = PulledRows(applier.store)
        self.present: dict[str, set[str]] = {}
        self.inserts: dict[str, dict[str, dict[str, Any]]] = {}
        self.updates: dict[str, dict[str, dict[str, Any]]] = {}
        self.versions: dict[tuple[str, str, str], str] = {}
        self.dirty: dict[tuple[str, str, str], str] = {}
        self.holders: dict[int, str] = {}
        self.tiers: dict[str, str] = {}
        self.changed_after_create: set[str] = set()
        #: A client's contract tier changed in this page: created tickets' clocks may
        #: have been computed from the old one.
        self.tier_changed = False
        #: (table, created?, names of a value) -> names kept, None for all (``_kept``).
        self.shapes: dict[tuple[str, bool, tuple[str, ...]], tuple[str, ...] | None] = {}

    @staticmethod
    def suits(changes: Sequence[Mapping[str, Any]]) -> bool:
        """Plain rows only: removals and attachments (with their blobs) go row by row."""
        return all(change["kind"] in ("create", "set", "append")
                   and change["entity"] != "attachment" for change in changes)

    def _load(self, changes: Sequence[Mapping[str, Any]]) -> None:
        ids: dict[str, set[str]] = {}
        numbers: set[int] = set()
        ticket_ids: set[str] = set()
        clients: set[str] = set()
        for change in changes:
            table = ENTITY_TABLES.get(change["entity"])
            if table is None:
                continue
            ids.setdefault(table, set()).add(change["entity_id"])
            value = change["value"]
            if change["entity"] == "ticket":
                ticket_ids.add(change["entity_id"])
                if isinstance(value, Mapping):
                    if isinstance(value.get("number"), int):
                        numbers.add(value["number"])
                    if value.get("client_id"):
                        clients.add(str(value["client_id"]))
                elif change.get("field") == "number" and isinstance(value, int):
                    numbers.add(value)
        self.present = {table: self.rows.existing_ids(table, wanted)
                        for table, wanted in ids.items()}
        self.versions = self.rows.versions(
            {change["entity_id"] for change in changes if change["kind"] != "append"})
        self.holders = self.rows.ticket_numbers(numbers, ticket_ids)
        self.tiers = self.rows.client_tiers(clients)

    def apply(self, changes: Sequence[Mapping[str, Any]]) -> list[bool]:
        self._load(changes)
        outcomes = [self._one(change) for change in changes]
        self._write()
        return outcomes

    def settled(self) -> set[str]:
        """Open tickets this page created and whose clock inputs (``sla.CLOCK_INPUTS``) it
        did not change afterwards: their SLA columns were computed from the very values
        stored (``derived_for_new``), so recomputing them changes nothing, and an open
        ticket is never flagged for unverified account work
        (``TicketService.flag_unverified_account_work``). A later number, summary or
        assignee (the server numbering a ticket made offline) does not unsettle it."""
        if self.tier_changed:
            return set()
        return {ticket_id for ticket_id, row in self.inserts.get("tickets", {}).items()
                if ticket_id not in self.changed_after_create
                and Status(row["status"]).is_open}

    def _exists(self, table: str, row_id: str) -> bool:
        return row_id in self.present.get(table, ()) or row_id in self.inserts.get(table, {})

    def _one(self, change: Mapping[str, Any]) -> bool:
        entity, entity_id, kind = change["entity"], change["entity_id"], change["kind"]
        table = ENTITY_TABLES.get(entity)
        if table is None:
            return False
        value = change["value"]
        if kind == "append":
            if self._exists(table, entity_id):
                return False
            self.inserts.setdefault(table, {})[entity_id] = self._kept(table, value, False)
            return True
        if kind == "create":
            if not self._exists(table, entity_id):
                row = self._kept(table, value, True)
                if entity == "ticket":
                    self._take_number(row.get("number"), entity_id)
                    row.update(self.applier.tickets.derived_for_new(
                        row, self._tier(row.get("client_id"))))
                    row["updated_at"] = row.get("created_at")
                self.inserts.setdefault(table, {})[entity_id] = row
                self._stamp((entity, entity_id, "*"), change["hlc"])
                return True
            changed = False
            for name, field_value in value.items():
                if name != "id":
                    changed |= self._set(entity, table, entity_id, name, field_value,
                                         change["hlc"])
            return changed
        if kind == "set" and change.get("field"):
            return self._set(entity, table, entity_id, change["field"], value, change["hlc"])
        return False

    def _kept(self, table: str, value: Mapping[str, Any], created: bool) -> dict[str, Any]:
        """A copy of ``value`` with only the table's own columns (and, for a created row,
        none the store derives itself): what ``_apply_one`` keeps. The names to keep are
        worked out once per table and set of names, as a page's rows share a few."""
        names = tuple(value)
        shape = (table, created, names)
        keep = self.shapes.get(shape)
        if keep is None:
            cols = self.applier.columns_of(table)
            kept = tuple(k for k in names
                         if k in cols and not (created and k in DERIVED_FIELDS))
            keep = self.shapes[shape] = None if kept == names else kept
        if keep is None:
            return dict(value)
        return {k: value[k] for k in keep}

    def _tier(self, client_id: Any) -> str | None:
        """The client's contract tier as the row-by-row path would read it here."""
        if not client_id:
            return None
        client_id = str(client_id)
        changed = self.updates.get("clients", {}).get(client_id, {})
        if "contract_tier" in changed:
            return str(changed["contract_tier"])
        created = self.inserts.get("clients", {}).get(client_id)
        if created is not None:
            return str(created.get("contract_tier") or "standard")  # the column's default
        return self.tiers.get(client_id)

    def _stamp(self, key: tuple[str, str, str], stamp: str) -> None:
        self.versions[key] = stamp
        self.dirty[key] = stamp

    def _take_number(self, number: Any, ticket_id: str) -> None:
        """The batch's part of ``_free_number``: a number held by another ticket here is
        handed over row by row (it relabels that ticket)."""
        if not isinstance(number, int):
            return
        holder = self.holders.get(number)
        if holder is not None and holder != ticket_id:
            raise _NeedsRowByRow(f"number {number} is held by ticket {holder}")
        self.holders[number] = ticket_id

    def _set(self, entity: str, table: str, entity_id: str, name: str, value: Any,
             stamp: str) -> bool:
        if name not in self.applier.columns_of(table) or name in DERIVED_FIELDS:
            return False
        if not self._exists(table, entity_id):
            return False
        local = self.versions.get((entity, entity_id, name))
        if local is None:
            local = self.versions.get((entity, entity_id, "*"))
        if local is not None and local >= stamp:
            return False  # what we hold is newer (possibly our own unsent edit)
        if entity == "ticket" and name == "number":
            self._take_number(value, entity_id)
        created = self.inserts.get(table, {}).get(entity_id)
        if created is not None:
            created[name] = value
            if entity == "ticket" and name in CLOCK_INPUTS:
                self.changed_after_create.add(entity_id)
        else:
            self.updates.setdefault(table, {}).setdefault(entity_id, {})[name] = value
        self._stamp((entity, entity_id, name), stamp)
        return True

    def _write(self) -> None:
        order = [t for t in _PARENTS_FIRST if t in self.inserts]
        order += [t for t in self.inserts if t not in _PARENTS_FIRST]
        for table in order:
            self.rows.insert_many(table, self.inserts[table].values())
        for table, changes in self.updates.items():
            self.rows.update_many(table, changes)
        if self.dirty:
            self.rows.set_versions(self.dirty)


def _wall(stamp: Any) -> int:
    try:
        return hlc_mod.parse(stamp).wall_ms
    except ValueError:
        return 0
