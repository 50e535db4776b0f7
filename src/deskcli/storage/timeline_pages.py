"""A ticket's timeline a page at a time, newest first: the console shows the latest events
at once and reads earlier ones when asked.

A ticket can carry a thousand events (a monitoring alert that fires all week, a long
email thread); reading and laying out all of them made opening such a ticket slow, and
the technician looks at the latest first. Pages are read by keyset on ``(at, rowid)``
from the ``events_by_ticket`` index, so a page costs the same however far back it is.
Rows are those of ``Timeline.events`` (the event with its note's body) plus
``event_rowid``, the key of the page before.
"""

from __future__ import annotations

from .store import Row, Store

_SELECT = ("SELECT e.*, e.rowid AS event_rowid, n.body AS note_body, "
           "n.internal AS note_internal FROM events e "
           "LEFT JOIN notes n ON n.id = json_extract(e.detail, '$.note_id') ")


class TimelinePages:
    """Timeline pages of one store (reads only)."""

    def __init__(self, store: Store) -> None:
        self._db = store.db

    def newest(self, ticket_id: str, limit: int) -> tuple[list[Row], bool]:
        """The latest ``limit`` events, oldest first, and whether earlier ones exist."""
        rows = list(self._db.execute(
            _SELECT + "WHERE e.ticket_id = ? ORDER BY e.at DESC, e.rowid DESC LIMIT ?",
            (ticket_id, limit + 1)))
        return rows[:limit][::-1], len(rows) > limit

    def before(self, ticket_id: str, event: Row, limit: int) -> tuple[list[Row], bool]:
        """The ``limit`` events just before ``event`` (a row of an earlier page), oldest
        first, and whether there are earlier ones still."""
        at, rowid = event["at"], event["event_rowid"]
        rows = list(self._db.execute(
            _SELECT + "WHERE e.ticket_id = ? AND (e.at < ? OR (e.at = ? AND e.rowid < ?)) "
            "ORDER BY e.at DESC, e.rowid DESC LIMIT ?",
            (ticket_id, at, at, rowid, limit + 1)))
        return rows[:limit][::-1], len(rows) > limit
