"""The queue: open tickets, most urgent first, filtered the way the CLI's ``queue`` and
the console's queue ask for. Rows stream as plain tuples in ``rows.QueueRow`` field order.
"""

from __future__ import annotations

import re
import sqlite3
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


#: SQLite's ``lower`` (and ``LIKE``'s case rule): ASCII letters only.
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
#: The longest decimal number a ticket can have (a 64-bit integer).
_MAX_DIGITS = 19


def text_condition(search: str, *, callers: bool = True, clients: bool = True,
                   scan: bool = False) -> tuple[str, list[Any]]:
    """The queue's text search on ``t``: the summary, the caller's name or the client's
    name contains ``search`` (``LIKE '%search%'``: ASCII letters regardless of case,
    ``%`` and ``_`` its wildcards), or the ticket's number starts with it (less a
    leading ``#``). Each part is read through an index, so a search finds its tickets
    without reading every ticket:

    - the summary through ``ticket_text`` (trigrams of ``lower(summary)``, migration 15):
      a term of three characters or more with no wildcard is a phrase of its lowered
      text, exactly ``LIKE``'s match; with wildcards, each run of three or more
      characters between them narrows the candidates and ``LIKE`` decides; a shorter
      term has no trigram and is matched by ``LIKE`` on every summary;
    - the caller and the client by their names' ids (``tickets_by_caller``, the client's
      index); ``callers``/``clients`` false leaves a part out when the caller has
      already found that no name matches;
    - the number as ranges of the number's index (``12`` is 12, 120–129, 1200–1299 …).

    ``scan`` gives the same condition as ``LIKE`` on each row's own columns, for a walk
    that reads rows in the queue's order anyway (``storage/queue_pages.py``): cheaper
    per row than a full-text probe when matches are dense."""
    pattern = f"%{search}%"
    number = search.lstrip("#")
    if scan:
        return ("(t.summary LIKE ? OR EXISTS (SELECT 1 FROM callers c WHERE "
                "c.id = t.caller_id AND c.name LIKE ?) OR EXISTS (SELECT 1 FROM clients k "
                "WHERE k.id = t.client_id AND k.name LIKE ?) OR CAST(t.number AS TEXT) "
                "LIKE ?)", [pattern, pattern, pattern, f"{number}%"])
    parts: list[str] = []
    params: list[Any] = []
    phrase = _phrase(search)
    if phrase:
        part = "t.rowid IN (SELECT rowid FROM ticket_text WHERE ticket_text MATCH ?)"
        params.append(phrase)
        if "%" in search or "_" in search:
            part = f"({part} AND t.summary LIKE ?)"
            params.append(pattern)
        parts.append(part)
    else:
        parts.append("t.summary LIKE ?")
        params.append(pattern)
    if callers:
        parts.append("t.caller_id IN (SELECT id FROM callers WHERE name LIKE ?)")
        params.append(pattern)
    if clients:
        parts.append("t.client_id IN (SELECT id FROM clients WHERE name LIKE ?)")
        params.append(pattern)
    for part, part_params in _number_parts(number):
        parts.append(part)
        params.extend(part_params)
    return "(" + " OR ".join(parts) + ")", params


def _phrase(search: str) -> str | None:
    """The full-text query (``ticket_text``) whose matches hold every match of
    ``LIKE '%search%'`` on a summary: each run of three or more characters between
    wildcards, lowered as SQLite's ``lower`` does, as a quoted phrase. ``None`` when no
    run is that long (no trigram to look up)."""
    runs = [run for run in re.split(r"[%_]", search) if len(run) >= 3]
    if not runs:
        return None
    return " AND ".join('"' + run.translate(_ASCII_LOWER).replace('"', '""') + '"'
                        for run in runs)


def _number_parts(number: str) -> list[tuple[str, list[Any]]]:
    """Conditions on ``t.number`` equal to ``CAST(t.number AS TEXT) LIKE 'number%'``."""
    if re.search(r"[^0-9%_-]", number):
        # A letter, a space …: in no number's decimal text, wildcards or not.
        return []
    if "%" in number or "_" in number:
        return [("CAST(t.number AS TEXT) LIKE ?", [f"{number}%"])]
    if not number:
        return [("t.number IS NOT NULL", [])]  # LIKE '%': every number
    if number == "0":
        return [("t.number = 0", [])]
    if not re.fullmatch(r"[1-9][0-9]*", number):
        # A leading zero or a minus sign: no ticket number is written so.
        return []
    # Whole ranges of the number's index; past 19 digits no 64-bit number is left.
    start = int(number)
    parts: list[tuple[str, list[Any]]] = []
    for width in range(_MAX_DIGITS - len(number) + 1):
        low, high = start * 10 ** width, (start + 1) * 10 ** width - 1
        if low > 2 ** 63 - 1:
            break
        parts.append(("t.number BETWEEN ? AND ?", [low, min(high, 2 ** 63 - 1)]))
    return parts


def text_count(db: sqlite3.Connection, search: str) -> int | None:
    """How many tickets ``search`` finds with no other filter (the history view), from
    the indexes alone: the text index's count when no caller, client or number can
    match, else the union of each part's rowids. ``None`` when the summary part has no
    exact phrase (a short term, wildcards): the caller counts through the rows."""
    if "%" in search or "_" in search:
        return None
    phrase = _phrase(search)
    if phrase is None:
        return None
    pattern = f"%{search}%"
    selects = ["SELECT rowid FROM ticket_text WHERE ticket_text MATCH ?"]
    params: list[Any] = [phrase]
    cursor = db.cursor()
    cursor.row_factory = None
    callers, clients = cursor.execute(
        "SELECT EXISTS (SELECT 1 FROM callers WHERE name LIKE ?), "
        "EXISTS (SELECT 1 FROM clients WHERE name LIKE ?)", (pattern, pattern)).fetchone()
    if callers:
        selects.append("SELECT rowid FROM tickets WHERE caller_id IN "
                       "(SELECT id FROM callers WHERE name LIKE ?)")
        params.append(pattern)
    if clients:
        selects.append("SELECT rowid FROM tickets WHERE client_id IN "
                       "(SELECT id FROM clients WHERE name LIKE ?)")
        params.append(pattern)
    numbers = _number_parts(search.lstrip("#"))
    if numbers:
        selects.append("SELECT t.rowid FROM tickets t WHERE "
                       + " OR ".join(part for part, _ in numbers))
        params.extend(value for _, part_params in numbers for value in part_params)
    if len(selects) == 1:
        sql = "SELECT count(*) FROM ticket_text WHERE ticket_text MATCH ?"
    else:
        sql = f"SELECT count(*) FROM ({' UNION '.join(selects)})"
    return int(cursor.execute(sql, params).fetchone()[0])


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
            condition, condition_params = text_condition(search)
            where.append(condition)
            params.extend(condition_params)
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

    @staticmethod
    def _narrowed(filters: dict[str, Any]) -> bool:
        """Whether ``filters`` hold anything but a text search (every status is none)."""
        statuses = filters.get("statuses")
        if statuses and _EVERY_STATUS <= set(statuses):
            statuses = None
        elif not statuses and filters.get("open_only", True):
            return True
        return bool(statuses) or any(
            filters.get(name) not in (None, "", [], ())
            for name in ("priorities", "types", "client", "assignee", "due_before",
                         "due_after", "risk_before"))

    def count(self, **filters: Any) -> int:
        """How many tickets ``filters`` select. No filter reads the caller or the
        client's row through the joins, so they go, and a filter's index (the history
        view's, migration 14; the text index, migration 15) answers the count alone."""
        search = filters.get("search")
        if search and not self._narrowed(filters):
            found = text_count(self.db, search)
            if found is not None:
                return found
        body, params = self.filter(**filters)
        body = body.replace(JOINS, "", 1)
        return int(self.db.execute(f"SELECT count(*) AS n {body}", params).fetchone()["n"])

