"""Applying pulled changes to the local store, by the same rules the server used.

Field values are last-writer-wins by HLC stamp, compared against the stamp of the value
the store holds (its own unsent edits included), so a local edit newer than the incoming
one survives and is sent on the next push. Appended records are inserted once by id.
Everything here runs inside the caller's transaction, together with the new cursor.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from deskcli.domain.numbering import provisional_label
from deskcli.services.tickets import TicketService
from deskcli.storage.store import Store
from deskcli.sync.protocol import DERIVED_FIELDS, ENTITY_TABLES


@dataclass
class ApplyStats:
    applied: int = 0
    skipped: int = 0
    tickets: set[str] = field(default_factory=set)
    conflicts: int = 0


class ChangeApplier:
    def __init__(self, store: Store, tickets: TicketService) -> None:
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

    def apply(self, changes: Iterable[Mapping[str, Any]]) -> ApplyStats:
        stats = ApplyStats()
        changes = list(changes)
        if not changes:
            return stats
        # One clock observation and one own-op lookup per page, not per change.
        self.store.observe_hlc(max(change["hlc"] for change in changes))
        own = self.store.own_ops([change["op_id"] for change in changes])
        for change in changes:
            if change["op_id"] in own:
                stats.skipped += 1  # already applied when it was made here
                continue
            if self._apply_one(change):
                stats.applied += 1
            else:
                stats.skipped += 1
            ticket = self._ticket_of(change["entity"], change["entity_id"], change["value"])
            if ticket:
                stats.tickets.add(ticket)
            if change["entity"] == "event" and change["value"].get("kind") == "conflict":
                stats.conflicts += 1
        for ticket_id in stats.tickets:
            self.tickets.refresh_derived(ticket_id)
            # Never refuse what arrived (sync must not stop), but never keep it silent:
            # account work resolved for an unverified caller is flagged.
            self.tickets.flag_unverified_account_work(ticket_id)
        return stats

    def _apply_one(self, change: Mapping[str, Any]) -> bool:
        entity, entity_id, kind = change["entity"], change["entity_id"], change["kind"]
        table = ENTITY_TABLES.get(entity)
        if table is None:
            return False
        value = change["value"]
        if kind == "append":
            row = {k: v for k, v in value.items() if k in self._cols(table)}
            if entity == "attachment" and value.get("content_b64"):
                self.store.put_blob(row["sha256"], base64.b64decode(value["content_b64"]))
            return self.store.insert_remote(table, row)
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
                self.store.insert_remote(table, row)
                self.store.set_field_version(entity, entity_id, "*", change["hlc"])
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

    def _free_number(self, number: Any, ticket_id: str) -> None:
        """The server's number wins: a local ticket holding it (numbered from a block of
        a server history that was since restored) waits under a provisional label until
        the feed brings its own authoritative number."""
        if not isinstance(number, int):
            return
        holder = self.store.ticket_by_number(number)
        if holder is not None and holder["id"] != ticket_id:
            label = provisional_label(self.store.client_id[:4],
                                      self.store.next_provisional_seq())
            self.store.update_remote("tickets", holder["id"],
                                     {"number": None, "provisional": label})

    def _set(self, entity: str, table: str, entity_id: str, name: str, value: Any,
             stamp: str) -> bool:
        if name not in self._cols(table) or name in DERIVED_FIELDS:
            return False
        if self.store.row(table, entity_id) is None:
            return False
        local = self.store.field_version(entity, entity_id, name)
        if local is not None and local >= stamp:
            return False  # what we hold is newer (possibly our own unsent edit)
        if entity == "ticket" and name == "number":
            self._free_number(value, entity_id)
        self.store.update_remote(table, entity_id, {name: value})
        self.store.set_field_version(entity, entity_id, name, stamp)
        return True
