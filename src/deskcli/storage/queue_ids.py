"""Which tickets a queue filter shows, as ids and as a count, without reading the rows.

The console's ``*`` marks every ticket the current filter shows, however many there are:
it needs their ids, not the rows the table draws. Reading only ``t.id`` under the queue's
own filter (``Queue.filter``) costs about what counting does, where reading the
queue's rows in order costs six times that (30,000 open tickets: 0.2 s against 1.0 s).
A tag filter narrows through the ``(tag, ticket_id)`` key, as ``storage/tags.py`` does
for the listing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from deskcli.storage.store import Store


class QueueIds:
    """Ids and counts under the queue's filters, on the store's one connection."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _body(self, tags: Sequence[str], filters: dict[str, Any]) -> tuple[str, list[Any]]:
        body, params = self.store.queue.filter(**filters)
        if tags:
            joiner = " AND " if " WHERE " in body else " WHERE "
            body += joiner + " AND ".join(
                "t.id IN (SELECT ticket_id FROM ticket_tags WHERE tag = ?)" for _ in tags)
            params.extend(tags)
        return body, params

    def ids(self, tags: Sequence[str] = (), **filters: Any) -> list[str]:
        """Every ticket id the filters (and ``tags``, all of them) select; no order."""
        body, params = self._body(tags, filters)
        cursor = self.store.db.cursor()
        cursor.row_factory = None
        return [str(row[0]) for row in cursor.execute(f"SELECT t.id {body}", params)]

    def count(self, tags: Sequence[str] = (), **filters: Any) -> int:
        body, params = self._body(tags, filters)
        cursor = self.store.db.cursor()
        cursor.row_factory = None
        return int(cursor.execute(f"SELECT count(*) {body}", params).fetchone()[0])
