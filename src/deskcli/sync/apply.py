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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from deskcli.domain import hlc as hlc_mod
from deskcli.domain.numbering import provisional_label
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

    def _cols(self, table: str) -> set[str]:
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
        self._refresh(stats)
        return stats

    def _apply_all(self, ready: list[Mapping[str, Any]],
                   stats: ApplyStats) -> list[Mapping[str, Any]] | None:
        """The fast path: the whole page in one savepoint. None if any row failed."""
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

    def _refresh(self, stats: ApplyStats) -> None:
        for ticket_id in sorted(stats.tickets):
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
            stamp = hlc_mod.parse(change.get("hlc"))
            schema.check_op(change, from_server=change.get("origin") == SERVER_ORIGIN)
        except schema.OpInvalid as error:
            return f"{error} (field {error.field})" if error.field else str(error)
        except ValueError as error:
            return f"bad stamp: {error}"
        if stamp.wall_ms > limit_ms:
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
            row = {k: v for k, v in value.items() if k in self._cols(table)}
            if entity == "attachment" and value.get("content_b64"):
                self.store.attachments.put_blob(row["sha256"],
                                                base64.b64decode(value["content_b64"]))
            return self.store.sync.insert_remote(table, row)
        if kind == "create":
            if self.store.row(table, entity_id) is None:
                row = {k: v for k, v in value.items()
                       if k in self._cols(table) and k not in DERIVED_FIELDS}
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
        if name not in self._cols(table) or name in DERIVED_FIELDS:
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


def _wall(stamp: Any) -> int:
    try:
        return hlc_mod.parse(stamp).wall_ms
    except ValueError:
        return 0
