"""The rows metrics are computed from: one compact row per ticket with its events coded
in SQL, streamed, and the survey answers. ``domain.metrics`` does the arithmetic.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .store import Store


class Metrics:
    """Streams of the rows ``domain.metrics`` computes figures from."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.db = store.db


    #: Event kind -> the one-letter code of ``domain.metrics``; status changes get theirs
    #: from the paused statuses the caller passes in.
    CODES = {"public_reply": "f", "escalated": "e", "resolved": "r", "reopened": "o",
                    "survey_sent": "s"}

    def _code_sql(self, paused: Sequence[str]) -> tuple[str, list[Any]]:
        marks = ", ".join(f":p{i}" for i in range(len(paused))) or "NULL"
        whens = " ".join(f"WHEN '{kind}' THEN '{code}'"
                         for kind, code in self.CODES.items())
        sql = (f"CASE e.kind {whens} "
               "WHEN 'message_sent' THEN CASE WHEN json_extract(e.detail, '$.audience') = "
               "'caller' THEN 'f' END "
               f"WHEN 'status_changed' THEN CASE WHEN json_extract(e.detail, '$.to') IN "
               f"({marks}) THEN 'p' WHEN json_extract(e.detail, '$.from') IN ({marks}) "
               "THEN 'u' END END")
        return sql, list(paused)

    def _kinds(self) -> str:
        kinds = [*self.CODES, "message_sent", "status_changed"]
        return ", ".join(f"'{kind}'" for kind in kinds)

    def timelines(self, since: str, until: str, paused: Sequence[str],
                         ticket_ids: Sequence[str] | None = None
                         ) -> Iterator[tuple[Any, ...]]:
        """Stream one compact row per ticket the metrics of ``[since, until)`` can touch.

        A ticket counts if it was created in the window, or had a resolution or a survey
        sent or answered in it. Each row, in ``domain.metrics.Timeline`` order: id, ref
        (``#4521`` or the provisional label), priority, type, client, contract tier,
        assignee, category, error text, created (epoch seconds), events
        (``"f1795510800 r1795514400"``, oldest first, only events before ``until``) and
        the minutes logged before ``until``. One pass in SQLite instead of a million event
        rows through Python. ``ticket_ids`` picks tickets instead (their whole window).
        """
        code_sql, code_params = self._code_sql(paused)
        select = (
            "SELECT t.id, CASE WHEN t.number IS NOT NULL THEN '#' || t.number "
            "ELSE coalesce(t.provisional, '?') END, t.priority, t.type, k.name, "
            "k.contract_tier, t.assignee, t.category, t.error_text, unixepoch(t.created_at), "
            f"(SELECT group_concat(code || unixepoch(at), ' ') FROM (SELECT {code_sql} AS code, "
            "e.at AS at FROM events e WHERE e.ticket_id = t.id AND e.at < :until AND e.kind "
            f"IN ({self._kinds()}) ORDER BY e.at, e.rowid) WHERE code IS NOT NULL), "
            "(SELECT coalesce(sum(minutes), 0) FROM time_entries m WHERE m.ticket_id = t.id "
            "AND m.at < :until) "
            "FROM tickets t LEFT JOIN clients k ON k.id = t.client_id ")
        params: dict[str, Any] = {f"p{i}": value for i, value in enumerate(code_params)}
        params.update(since=since, until=until)
        if ticket_ids is not None:
            marks = ", ".join(f":id{i}" for i in range(len(ticket_ids))) or "NULL"
            params.update({f"id{i}": value for i, value in enumerate(ticket_ids)})
            sql = select + f"WHERE t.id IN ({marks})"
        else:
            # Created in the window (an index range), plus the older tickets that an event
            # or an answer in the window brings in (found from the window's events only).
            # Probing each older ticket's own events through the (ticket_id, at) index costs
            # nothing for a window that covers the whole store, little for a short one.
            sql = (select + "WHERE t.created_at >= :since AND t.created_at < :until "
                   "UNION ALL " + select + "WHERE t.created_at < :since AND (EXISTS ("
                   "SELECT 1 FROM events w WHERE w.ticket_id = t.id AND w.at >= :since AND "
                   "w.at < :until AND w.kind IN ('resolved', 'survey_sent')) OR EXISTS ("
                   "SELECT 1 FROM csat_responses a WHERE a.ticket_id = t.id AND "
                   "a.at >= :since AND a.at < :until))")
        cursor = self.db.cursor()
        cursor.row_factory = None
        cursor.arraysize = 2000
        cursor.execute(sql, params)
        while batch := cursor.fetchmany():
            yield from batch

    def csat_answers(self, until: str, ticket_id: str | None = None
                     ) -> Iterator[tuple[str, int, int]]:
        """``(ticket id, epoch, score)`` of every survey answer before ``until``, oldest
        first, streamed (a million-ticket store has hundreds of thousands)."""
        sql = "SELECT ticket_id, unixepoch(at), score FROM csat_responses WHERE at < ?"
        params: list[Any] = [until]
        if ticket_id is not None:
            sql += " AND ticket_id = ?"
            params.append(ticket_id)
        cursor = self.db.cursor()
        cursor.row_factory = None
        cursor.arraysize = 2000
        cursor.execute(sql + " ORDER BY at", params)
        while batch := cursor.fetchmany():
            yield from batch

