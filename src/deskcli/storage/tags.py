"""Ticket tags in the local store: the synced add/remove records and the current set.

``tag_changes`` holds the records (append-only, synced as ``tag_change`` ops like notes);
``ticket_tags`` holds each ticket's tags now and is kept by the triggers of the migration
that made both tables, so a record written here and one pulled from the server update it
the same way, and ``deskcli queue --tag`` reads an index instead of replaying records.
The merge rule itself is ``domain.tags``; this module only reads and writes rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from deskcli.storage.store import Row, Store

#: Ids per ``IN (...)`` list: well under SQLite's limit on bound parameters.
_CHUNK = 500


class Tags:
    """Reads and writes of ticket tags, on the store's one connection."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def of_ticket(self, ticket_id: str) -> list[str]:
        """The tags on one ticket, sorted."""
        return [row["tag"] for row in self.store.db.execute(
            "SELECT tag FROM ticket_tags WHERE ticket_id = ? ORDER BY tag", (ticket_id,))]

    def of_tickets(self, ticket_ids: Iterable[str]) -> dict[str, list[str]]:
        """Tags of many tickets at once (a queue page): id -> sorted tags; untagged
        tickets are left out."""
        ids = list(ticket_ids)
        found: dict[str, list[str]] = {}
        cursor = self.store.db.cursor()
        cursor.row_factory = None
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start:start + _CHUNK]
            marks = ", ".join("?" for _ in chunk)
            for ticket_id, tag in cursor.execute(
                    f"SELECT ticket_id, tag FROM ticket_tags WHERE ticket_id IN ({marks}) "
                    "ORDER BY ticket_id, tag", chunk):
                found.setdefault(ticket_id, []).append(tag)
        return found

    def live_adds(self, ticket_id: str, tags: Sequence[str]) -> list[Row]:
        """The add records that hold each of ``tags`` on the ticket (what a remove must
        name, one remove record per add record it can see)."""
        if not tags:
            return []
        marks = ", ".join("?" for _ in tags)
        return list(self.store.db.execute(
            "SELECT a.id, a.tag FROM tag_changes a WHERE a.ticket_id = ? "
            f"AND a.tag IN ({marks}) AND a.action = 'add' AND NOT EXISTS ("
            "SELECT 1 FROM tag_changes r WHERE r.ticket_id = a.ticket_id AND r.tag = a.tag "
            "AND r.action = 'remove' AND r.removes = a.id) ORDER BY a.at, a.id",
            (ticket_id, *tags)))

    def record(self, row: Row) -> None:
        """Write one add or remove record with its sync op (inside a transaction)."""
        self.store.insert("tag_changes", row)

    def known(self) -> list[tuple[str, int]]:
        """Every tag in use with how many tickets carry it, most used first (completion
        and the console's tag filter)."""
        cursor = self.store.db.cursor()
        cursor.row_factory = None
        return [(str(tag), int(count)) for tag, count in cursor.execute(
            "SELECT tag, count(*) FROM ticket_tags GROUP BY tag ORDER BY count(*) DESC, tag")]

    def queue_rows(self, tags: Sequence[str], *, limit: int | None = None, offset: int = 0,
                   **filters: Any) -> Iterator[tuple[Any, ...]]:
        """``store.queue.rows`` narrowed to tickets carrying every one of ``tags``.

        Each tag is a lookup in the ``(tag, ticket_id)`` primary key, so a tag that few
        tickets carry is found without reading the rest of the queue.
        """
        body, params = self.store.queue.filter(**filters)
        joiner = " AND " if " WHERE " in body else " WHERE "
        body += joiner + " AND ".join(
            "t.id IN (SELECT ticket_id FROM ticket_tags WHERE tag = ?)" for _ in tags)
        params.extend(tags)
        sql = f"SELECT {self.store.queue.COLUMNS} {body} ORDER BY {self.store.queue.ORDER}"
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            params.extend([limit, offset])
        cursor = self.store.db.cursor()
        cursor.row_factory = None
        cursor.arraysize = 1000
        cursor.execute(sql, params)
        while batch := cursor.fetchmany():
            yield from batch
