"""The assignment room: each technician's open load, round-robin turns, and who last set
a ticket's assignee.

Round-robin turns live in ``meta`` (local to this store, never synced: the store that
runs the rules keeps the turn, and only the ``assignee`` change it makes is synced), so
they survive a restart and roll back with the caller's transaction. Open counts use the
``tickets_by_assignee_status`` index: a count per technician touches only their open
tickets, however much history the store holds.
"""

from __future__ import annotations

import json
from collections.abc import Collection

from deskcli.domain.enums import Status

from .store import Row, Store

#: Statuses a technician still owes work on (``Status.is_open``), as an ``IN`` list.
OPEN_STATUSES = tuple(s.value for s in Status if s.is_open)
_TURN_KEY = "assign.round_robin."


class Workload:
    """Reads anywhere; ``set_turn`` must run inside ``store.transaction()``."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._db = store.db

    def open_counts(self, handles: Collection[str], *,
                    excluding: str | None = None) -> dict[str, int]:
        """Open tickets assigned to each of ``handles`` (0 when none), leaving out the
        ticket ``excluding`` (the one being assigned, so re-deciding it is stable)."""
        counts = dict.fromkeys(handles, 0)
        if not counts:
            return counts
        people = ", ".join("?" for _ in counts)
        states = ", ".join("?" for _ in OPEN_STATUSES)
        rows = self._db.execute(
            f"SELECT assignee, count(*) AS n FROM tickets WHERE assignee IN ({people}) "
            f"AND status IN ({states}) GROUP BY assignee", (*counts, *OPEN_STATUSES))
        for row in rows:
            counts[row["assignee"]] = int(row["n"])
        if excluding is not None:  # one primary-key read keeps the count a covering scan
            own = self._db.execute("SELECT assignee, status FROM tickets WHERE id = ?",
                                   (excluding,)).fetchone()
            if own is not None and own["assignee"] in counts and own["status"] in OPEN_STATUSES:
                counts[own["assignee"]] -= 1
        return counts

    def turn(self, group: str) -> tuple[str | None, str | None]:
        """(last handle picked, the ticket it was picked for) for ``group``."""
        raw = self.store.meta(_TURN_KEY + group)
        if not raw:
            return None, None
        try:
            data = json.loads(raw)
            return data.get("last"), data.get("ticket")
        except (ValueError, AttributeError):  # written by hand or damaged: start afresh
            return None, None

    def set_turn(self, group: str, handle: str, ticket_id: str) -> None:
        self.store.require_tx()
        self.store.set_meta(_TURN_KEY + group,
                            json.dumps({"last": handle, "ticket": ticket_id}, sort_keys=True))

    def last_assignment(self, ticket_id: str) -> Row | None:
        """The timeline entry that last set the ticket's assignee: a field change of
        ``assignee``, else the creation (a ticket can be created assigned). Newest first
        on the ``events_by_ticket`` index."""
        row: Row | None = self._db.execute(
            "SELECT kind, actor, detail, at FROM events WHERE ticket_id = ? AND "
            "(kind = 'created' OR (kind = 'field_changed' "
            "AND json_extract(detail, '$.field') = 'assignee')) "
            "ORDER BY at DESC, rowid DESC LIMIT 1", (ticket_id,)).fetchone()
        return row
