"""The outbound queue's SQL: messages written with the ticket change that causes them.

Rows live in the local store only (the ``outbound`` table is not in ``TABLE_ENTITY``): the
machine that made the change is the one that sends, and the timeline events recording each
send sync as usual. A claim is a lease: a sender that dies mid-send loses its claim when the
lease runs out, and another run takes the message again under the same idempotency key.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from .store import Row, Store


class OutboundQueue:
    """Queue operations on one store; writes must run inside ``store.transaction()``."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._db = store.db  # the storage layer's own connection

    def add(self, row: Mapping[str, Any]) -> bool:
        """Queue a message; False when one with the same idempotency key already exists
        (so asking twice for the same page queues it once)."""
        self.store.require_tx()
        columns = ", ".join(f'"{c}"' for c in row)
        marks = ", ".join("?" for _ in row)
        cursor = self._db.execute(
            f"INSERT OR IGNORE INTO outbound ({columns}) VALUES ({marks})", tuple(row.values()))
        return cursor.rowcount > 0

    def claim(self, now: str, lease_until: str, owner: str,
              channels: Collection[str]) -> Row | None:
        """Take the next due message for one of ``channels``: queued and due, or held by a
        lease that ran out. Messages for other channels are left for a sender that has
        them (an app started before the channel was added to the config)."""
        self.store.require_tx()
        if not channels:
            return None
        marks = ", ".join("?" for _ in channels)
        row: Row | None = self._db.execute(
            "SELECT * FROM outbound WHERE ((state = 'queued' AND not_before <= ?) "
            "OR (state = 'sending' AND lease_until <= ?)) "
            f"AND channel IN ({marks}) "
            "ORDER BY CASE purpose WHEN 'page' THEN 0 ELSE 1 END, not_before, rowid LIMIT 1",
            (now, now, *channels)).fetchone()
        if row is None:
            return None
        self._db.execute(
            "UPDATE outbound SET state = 'sending', lease_owner = ?, lease_until = ?, "
            "attempts = attempts + 1 WHERE id = ?", (owner, lease_until, row["id"]))
        return {**row, "state": "sending", "lease_owner": owner, "lease_until": lease_until,
                "attempts": row["attempts"] + 1}

    def holds(self, message_id: str, owner: str) -> bool:
        """Whether ``owner`` still holds the claim (another run may have retaken it)."""
        row = self._db.execute("SELECT lease_owner, state FROM outbound WHERE id = ?",
                               (message_id,)).fetchone()
        return row is not None and row["state"] == "sending" and row["lease_owner"] == owner

    def finish(self, message_id: str, changes: Mapping[str, Any]) -> None:
        self.store.require_tx()
        assignments = ", ".join(f'"{c}" = ?' for c in changes)
        self._db.execute(f"UPDATE outbound SET {assignments} WHERE id = ?",
                         (*changes.values(), message_id))

    def cancel_queued(self, ticket_id: str, purposes: Sequence[str], reason: str) -> int:
        """Withdraw messages not yet sent (a survey when the ticket reopens)."""
        self.store.require_tx()
        marks = ", ".join("?" for _ in purposes)
        return self._db.execute(
            f"UPDATE outbound SET state = 'cancelled', last_error = ? WHERE ticket_id = ? "
            f"AND purpose IN ({marks}) AND state = 'queued'",
            (reason, ticket_id, *purposes)).rowcount

    def for_ticket(self, ticket_id: str) -> list[Row]:
        return list(self._db.execute(
            "SELECT * FROM outbound WHERE ticket_id = ? ORDER BY created_at, rowid",
            (ticket_id,)))

    def count(self, ticket_id: str, purpose: str, channel: str) -> int:
        return int(self._db.execute(
            "SELECT count(*) AS n FROM outbound WHERE ticket_id = ? AND purpose = ? "
            "AND channel = ?", (ticket_id, purpose, channel)).fetchone()["n"])

    def listing(self, states: Sequence[str] = ()) -> list[Row]:
        """Messages for ``notify status``, newest first, with the ticket's number."""
        where = ""
        params: list[Any] = []
        if states:
            where = f"WHERE o.state IN ({', '.join('?' for _ in states)})"
            params.extend(states)
        return list(self._db.execute(
            "SELECT o.*, t.number, t.provisional FROM outbound o "
            f"JOIN tickets t ON t.id = o.ticket_id {where} "
            "ORDER BY o.created_at DESC, o.rowid DESC", params))

    def failing_pages(self) -> list[Row]:
        """P1 pages that have not gone out and have already failed at least once: the
        alert that stays on screen until the page is delivered or someone acts."""
        return list(self._db.execute(
            "SELECT o.*, t.number, t.provisional FROM outbound o "
            "JOIN tickets t ON t.id = o.ticket_id WHERE o.purpose = 'page' AND "
            "(o.state = 'failed' OR (o.state IN ('queued', 'sending') "
            "AND o.last_error IS NOT NULL)) ORDER BY o.created_at"))

    def counts(self) -> dict[str, int]:
        return {r["state"]: int(r["n"]) for r in self._db.execute(
            "SELECT state, count(*) AS n FROM outbound GROUP BY state")}
