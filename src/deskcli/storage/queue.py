"""The queue: open tickets, most urgent first, filtered the way the CLI's ``queue`` and
the console's queue ask for. Rows stream as plain tuples in ``rows.QueueRow`` field order.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from deskcli.domain.enums import Status

from .rows import QueueRow

if TYPE_CHECKING:
    from .store import Store

#: Statuses of a ticket someone still owes work (``Status.is_open``), as stored.
OPEN_STATUSES = tuple(s.value for s in Status if s.is_open)
_EVERY_STATUS = frozenset(s.value for s in Status)

#: The caller and client of each row (their names are columns of ``COLUMNS``).
JOINS = ("LEFT JOIN callers c ON c.id = t.caller_id "
         "LEFT JOIN clients k ON k.id = t.client_id")


class Queue:
    """The queue listing and its counts."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.db = store.db

    #: The select list, in ``QueueRow`` field order (each field is the ticket column of
    #: its name unless named here): rows stream as tuples in this order.
    COLUMNS = ", ".join(
        {"caller": "c.name AS caller", "client": "k.name AS client"}.get(name, f"t.{name}")
        for name in QueueRow._fields)

    #: The queue's order, ``sla.queue_rank`` in SQL: open P1s not yet answered first, then
    #: running clocks by due time (breached first), then tickets with no clock running;
    #: ties by priority and number. The CLI's ``queue`` and the console's both use it.
    ORDER = (
        f"CASE WHEN t.priority = 'P1' AND t.first_response_at IS NULL "
        f"AND t.status IN ({', '.join(repr(s) for s in OPEN_STATUSES)}) THEN 0 "
        "WHEN t.urgency_due IS NULL THEN 2 ELSE 1 END, "
        "t.urgency_due, t.priority, t.number")

    @staticmethod
    def filter(*, statuses: Sequence[str] | None = None, open_only: bool = True,
                      priorities: Sequence[str] = (), types: Sequence[str] = (),
                      client: str | None = None, assignee: str | None = None,
                      search: str | None = None, due_before: str | None = None,
                      due_after: str | None = None,
                      risk_before: str | None = None) -> tuple[str, list[Any]]:
        """The FROM/WHERE part shared by the queue listing and its count."""
        where: list[str] = []
        params: list[Any] = []
        if statuses and _EVERY_STATUS <= set(statuses):
            # Every status is no filter at all (the history view): naming them would steer
            # the count to the status index instead of the one a filter below can use.
            statuses, open_only = None, False
        if statuses:
            where.append(f"t.status IN ({', '.join('?' for _ in statuses)})")
            params.extend(statuses)
        elif open_only:
            # An IN list, not NOT IN: the status index serves it.
            where.append(f"t.status IN ({', '.join('?' for _ in OPEN_STATUSES)})")
            params.extend(OPEN_STATUSES)
        if priorities:
            where.append(f"t.priority IN ({', '.join('?' for _ in priorities)})")
            params.extend(priorities)
        if types:
            where.append(f"t.type IN ({', '.join('?' for _ in types)})")
            params.extend(types)
        if client:
            # By id, not ``k.name = ?``: the client's tickets are then one range of an
            # index on ``client_id`` (names are unique regardless of case, so the
            # subquery gives one id or none).
            where.append("t.client_id = (SELECT id FROM clients WHERE name = ? COLLATE NOCASE)")
            params.append(client)
        if assignee:
            where.append("t.assignee = ? COLLATE NOCASE")
            params.append(assignee)
        if search:
            where.append("(t.summary LIKE ? OR c.name LIKE ? OR k.name LIKE ? "
                         "OR CAST(t.number AS TEXT) LIKE ?)")
            params.extend([f"%{search}%"] * 3 + [f"{search.lstrip('#')}%"])
        if due_before:
            where.append("t.urgency_due <= ?")
            params.append(due_before)
        if due_after is not None:
            # A running clock not yet due; tickets with no running clock never match.
            where.append("t.urgency_due > ?")
            params.append(due_after)
        if risk_before:
            # At risk or worse: a risk threshold has passed on a clock that is running.
            where.append("((t.first_response_at IS NULL AND t.response_risk_at <= ?) OR "
                         "(t.sla_paused_since IS NULL AND t.resolve_risk_at <= ?))")
            params.extend([risk_before, risk_before])
        sql = f"FROM tickets t {JOINS}"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return sql, params

    def rows(self, *, limit: int | None = None, offset: int = 0,
                   **filters: Any) -> Iterator[tuple[Any, ...]]:
        """Stream queue rows as tuples in ``QueueRow`` field order, most urgent first.

        Tuples, not dicts or objects: the queue can be 100,000 rows and the listing must
        stay within a small factor of a bare sqlite3 read. Filters: see ``filter``.
        """
        body, params = self.filter(**filters)
        sql = f"SELECT {self.COLUMNS} {body} ORDER BY {self.ORDER}"
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            params.extend([limit, offset])
        cursor = self.db.cursor()
        cursor.row_factory = None
        cursor.arraysize = 1000
        cursor.execute(sql, params)
        while batch := cursor.fetchmany():
            yield from batch

    def open_p1_without(self, step_keys: Sequence[str]) -> list[tuple[Any, Any]]:
        """(number, provisional) of open P1 tickets with no completed record of any of
        ``step_keys`` (a skip is not a completion), in the queue's order: the status bar
        names the first, so it must be the most urgent, not merely the oldest."""
        if not step_keys:
            step_keys = [""]
        marks = ", ".join("?" for _ in step_keys)
        statuses = ", ".join("?" for _ in OPEN_STATUSES)
        rows = self.db.execute(
            f"SELECT t.number, t.provisional FROM tickets t WHERE t.priority = 'P1' "
            f"AND t.status IN ({statuses}) AND NOT EXISTS (SELECT 1 FROM step_records r "
            f"WHERE r.ticket_id = t.id AND r.step IN ({marks}) "
            f"AND r.data NOT LIKE '{{\"$skipped\"%') ORDER BY {self.ORDER}",
            (*OPEN_STATUSES, *step_keys))
        return [(row["number"], row["provisional"]) for row in rows]

    def count(self, **filters: Any) -> int:
        """How many tickets ``filters`` select. Only a text search looks at the caller or
        the client's name; without one the joins go, so a filter's index (the history
        view's, migration 14) answers the count alone, without reading a ticket."""
        body, params = self.filter(**filters)
        if not filters.get("search"):
            body = body.replace(JOINS, "", 1)
        return int(self.db.execute(f"SELECT count(*) AS n {body}", params).fetchone()["n"])

