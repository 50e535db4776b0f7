"""What happened on a ticket: events (with note bodies), checklist step records, time
entries and survey answers, oldest first. All append-only; written through
``Store.insert`` with their sync ops.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .rows import Row

if TYPE_CHECKING:
    from .store import Store


class Timeline:
    """Reads of a ticket's append-only history."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.db = store.db

    def events(self, ticket_id: str) -> list[Row]:
        """Events oldest first, with the note body attached to note events."""
        return list(self.db.execute(
            "SELECT e.*, n.body AS note_body, n.internal AS note_internal FROM events e "
            "LEFT JOIN notes n ON n.id = json_extract(e.detail, '$.note_id') "
            "WHERE e.ticket_id = ? ORDER BY e.at, e.rowid", (ticket_id,)))

    def step_records(self, ticket_id: str) -> list[Row]:
        return list(self.db.execute(
            "SELECT * FROM step_records WHERE ticket_id = ? ORDER BY at, rowid", (ticket_id,)))

    def minutes_logged(self, ticket_id: str) -> int:
        row = self.db.execute(
            "SELECT coalesce(sum(minutes), 0) AS m FROM time_entries WHERE ticket_id = ?",
            (ticket_id,)).fetchone()
        return int(row["m"])

    def time_entries(self, ticket_id: str) -> list[Row]:
        return list(self.db.execute(
            "SELECT * FROM time_entries WHERE ticket_id = ? ORDER BY at, rowid", (ticket_id,)))

    def csat_responses(self, ticket_id: str) -> list[Row]:
        return list(self.db.execute(
            "SELECT * FROM csat_responses WHERE ticket_id = ? ORDER BY at, rowid", (ticket_id,)))

