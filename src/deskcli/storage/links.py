"""Parent/child links and merged duplicates in the local store (``tickets.parent_id`` and
``tickets.merged_into``, both synced as ordinary ticket fields). Reads only: the writes go
through ``Store.update_ticket`` with the rest of a ticket's fields, so they carry their
sync ops. The rules are ``domain.links``."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from deskcli.storage.store import Row, Store

_LISTED = ("SELECT t.id, t.number, t.provisional, t.status, t.priority, t.summary, "
           "t.assignee, t.client_id, t.caller_id, t.merged_into, c.email AS caller_email "
           "FROM tickets t LEFT JOIN callers c ON c.id = t.caller_id ")


class Links:
    def __init__(self, store: Store) -> None:
        self.store = store

    def parent_of(self, ticket_id: str) -> str | None:
        row = self.store.db.execute("SELECT parent_id FROM tickets WHERE id = ?",
                                    (ticket_id,)).fetchone()
        return None if row is None or row["parent_id"] is None else str(row["parent_id"])

    def children(self, ticket_id: str) -> list[Row]:
        """Tickets linked under this one (merged duplicates excluded), oldest first."""
        return list(self.store.db.execute(
            _LISTED + "WHERE t.parent_id = ? AND t.merged_into IS NULL "
            "ORDER BY t.created_at, t.id", (ticket_id,)))

    def merged_into_this(self, ticket_id: str) -> list[Row]:
        """Duplicates merged into this ticket, oldest first."""
        return list(self.store.db.execute(
            _LISTED + "WHERE t.merged_into = ? ORDER BY t.created_at, t.id", (ticket_id,)))

    def merged_into_of(self, ticket_id: str) -> str | None:
        row = self.store.db.execute("SELECT merged_into FROM tickets WHERE id = ?",
                                    (ticket_id,)).fetchone()
        return None if row is None or row["merged_into"] is None else str(row["merged_into"])
