"""Ticket reads: one ticket with its caller and client, counts, and the listing rows a
metric drill-down pages through. Ticket writes go through ``Store.insert`` and
``Store.update_ticket``, which record their sync ops.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from .rows import Row, TicketRow

if TYPE_CHECKING:
    from .store import Store


class Tickets:
    """Reads of the tickets table."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.db = store.db

    #: One ticket with its caller and client: the columns ``TicketRow`` declares.
    SELECT = (
        "SELECT t.*, c.name AS caller_name, c.email AS caller_email, c.phone AS caller_phone, "
        "c.vip AS caller_vip, k.name AS client_name, k.contract_tier AS contract_tier "
        "FROM tickets t LEFT JOIN callers c ON c.id = t.caller_id "
        "LEFT JOIN clients k ON k.id = t.client_id "
    )

    def by_number(self, number: int) -> TicketRow | None:
        row: TicketRow | None = self.db.execute(self.SELECT + "WHERE t.number = ?",
                                           (number,)).fetchone()
        return row

    def by_id(self, ticket_id: str) -> TicketRow | None:
        row: TicketRow | None = self.db.execute(self.SELECT + "WHERE t.id = ?",
                                           (ticket_id,)).fetchone()
        return row

    def by_provisional(self, label: str) -> TicketRow | None:
        row: TicketRow | None = self.db.execute(self.SELECT + "WHERE t.provisional = ?",
                                           (label,)).fetchone()
        return row

    def by_numbers(self, numbers: Sequence[int]) -> list[TicketRow]:
        """``by_number`` for many tickets, 500 to a statement (a bulk action reads the
        tickets it names up front); numbers not found are left out."""
        found: list[TicketRow] = []
        cursor = self.db.cursor()
        cursor.row_factory = None  # the same dictionaries, the column names taken once
        for start in range(0, len(numbers), 500):
            chunk = numbers[start:start + 500]
            marks = ", ".join("?" for _ in chunk)
            cursor.execute(self.SELECT + f"WHERE t.number IN ({marks})", tuple(chunk))
            names = [column[0] for column in cursor.description]
            found.extend(cast(TicketRow, dict(zip(names, row, strict=True)))
                         for row in cursor)
        return found

    def columns_of(self, ticket_ids: Sequence[str],
                   columns: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Some columns of many tickets, 500 to a statement: id -> {column: value}."""
        names = ", ".join(f'"{c}"' for c in columns)
        cursor = self.db.cursor()
        cursor.row_factory = None
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ticket_ids), 500):
            chunk = ticket_ids[start:start + 500]
            marks = ", ".join("?" for _ in chunk)
            for ticket_id, *values in cursor.execute(
                    f"SELECT id, {names} FROM tickets WHERE id IN ({marks})", tuple(chunk)):
                found[ticket_id] = dict(zip(columns, values, strict=True))
        return found

    def numbered(self) -> list[Row]:
        return list(self.db.execute("SELECT id, number FROM tickets WHERE number IS NOT NULL"))

    def highest_number(self) -> int | None:
        row = self.db.execute("SELECT max(number) AS n FROM tickets").fetchone()
        return None if row["n"] is None else int(row["n"])

    def count(self) -> int:
        return int(self.db.execute("SELECT count(*) AS n FROM tickets").fetchone()["n"])

    def by_refs(self, refs: Sequence[str]) -> list[Row]:
        """Listing rows for tickets named ``#4521`` or by provisional label, in that order.

        For one page of a drill-down at a time: a metric can stand on 100,000 tickets.
        """
        numbers = [int(ref[1:]) for ref in refs if ref.startswith("#") and ref[1:].isdigit()]
        labels = [ref for ref in refs if not ref.startswith("#")]
        found: dict[str, Row] = {}
        for column, values in (("number", numbers), ("provisional", labels)):
            for start in range(0, len(values), 500):
                chunk = values[start:start + 500]
                marks = ", ".join("?" for _ in chunk)
                for row in self.db.execute(
                        "SELECT t.number, t.provisional, t.priority, t.status, t.summary, "
                        "t.assignee, k.name AS client FROM tickets t LEFT JOIN clients k "
                        f"ON k.id = t.client_id WHERE t.{column} IN ({marks})", chunk):
                    key = f"#{row['number']}" if row["number"] is not None else row["provisional"]
                    found[key] = row
        return [found[ref] for ref in refs if ref in found]

