"""Pages of the queue in its order, read by keyset so a page costs the same at any depth.

The console's queue is a virtual table over every ticket the filters match: a million in
the history view. Reading page N with ``ORDER BY ... LIMIT/OFFSET`` sorted every matching
row for every page (2.7 s for the first page of a million, 5.4 s for the last). Here the
queue's order is a *key* that one index serves (``tickets_queue_key``, migration
"queue key"), and a page is read from a neighbour's key:

- the next page: the rows after the last key of the page above, as up to five index seeks
  (equal on the leading parts of the key, greater on the next), so no row before the page
  is visited;
- the page above: the same with "less than", read backwards;
- a page near the end (the End key): read backwards from the end, skipping the few rows
  after it;
- a page with no neighbour in reach (a jump to the middle): ``OFFSET`` over the index
  alone (rowids only, no table row and no sort), then the page's rows by rowid; a text
  search alone goes through the text index kept in the queue's order instead
  (``queue_text_jump``, migration 16), which counts its matches rather than walking to
  them.

The key sorts exactly as ``Queue.ORDER`` (the CLI's ``queue``): ``coalesce`` puts the
missing values where ``ORDER BY`` puts NULLs, and the rowid only breaks ties that order
leaves open. Each row is the ``Queue.COLUMNS`` tuple followed by its key.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from deskcli.domain.enums import Status

from .queue import JOINS as _JOINS
from .queue import OPEN_STATUSES, Queue, text_condition
from .store import Store

_OPEN = ", ".join(repr(s) for s in OPEN_STATUSES)

#: The queue's order as index expressions (the index is created on the same text without
#: the ``t.`` alias, see ``INDEX_SQL``): rank, due time, priority, number, rowid.
KEY_PARTS: tuple[str, ...] = (
    f"(CASE WHEN t.priority = 'P1' AND t.first_response_at IS NULL "
    f"AND t.status IN ({_OPEN}) THEN 0 WHEN t.urgency_due IS NULL THEN 2 ELSE 1 END)",
    "coalesce(t.urgency_due, '')",
    "t.priority",
    "coalesce(t.number, 0)",
    # Only ties left here; in the index, it lets a status filter be checked there.
    "t.status",
    "t.rowid",
)
KEY_WIDTH = len(KEY_PARTS)
KEY = ", ".join(KEY_PARTS)
KEY_DESC = ", ".join(f"{part} DESC" for part in KEY_PARTS)
#: The key as named result columns (``k0`` ...): a compound SELECT orders by names.
_KEY_AS = ", ".join(f"{part} AS k{i}" for i, part in enumerate(KEY_PARTS))
#: The queue rank (``KEY_PARTS[0]``) of a ticket with no clock running. Every such
#: ticket's due part is the same (''), so past the running clocks the key orders by
#: priority first: one priority's run of them, then the next priority's.
_NO_CLOCK = 2

#: The index that serves ``KEY`` (its last part, the rowid, is in every index).
INDEX_SQL = ("CREATE INDEX IF NOT EXISTS tickets_queue_key ON tickets("
             + ", ".join(part.replace("t.", "") for part in KEY_PARTS[:-1]) + ")")

_KEY_COLUMNS = ", ".join(part.replace("t.", "") for part in KEY_PARTS[:-1])

#: The same key behind each filter the history view offers (migration "the queue key
#: behind each history filter" creates these statements): with one of these filters a
#: long list is walked in the filter's own range, so its pages, its count and a jump to
#: its middle read only the matching tickets. The assignee matches regardless of case
#: (``Queue.filter``), so its index is on ``assignee COLLATE NOCASE``.
FILTER_INDEXES: dict[str, str] = {
    name: f"CREATE INDEX IF NOT EXISTS tickets_queue_key_by_{name} ON tickets({column}, "
          f"{columns})"
    for name, column, columns in (
        ("assignee", "assignee COLLATE NOCASE", _KEY_COLUMNS),
        ("client", "client_id", _KEY_COLUMNS),
        # The priority is held equal, so the key's own priority part adds nothing (and
        # SQLite, seeing the column twice, would sort the rows again).
        ("priority", "priority", _KEY_COLUMNS.replace(", priority,", ",", 1)),
    )
}

#: A list longer than this is paged by walking the key's index (see ``QueuePages._body``).
WALK_ABOVE = 2000

#: A text search's page near an end of a long list is found by reading about this many
#: rows at most (``QueuePages._walk``); further in, the text index is used instead.
ROWS_READ_FOR_TEXT = 20_000

Key = tuple[Any, ...]
Row = tuple[Any, ...]

_EVERY_STATUS = frozenset(s.value for s in Status)
_CLOSED = frozenset(s.value for s in Status if not s.is_open)


def key_of(row: Row) -> Key:
    """The key a page row ends with."""
    return tuple(row[-KEY_WIDTH:])


class QueuePages:
    """Keyset pages of the queue on one store (reads only)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._db = store.db

    # --- the filters ----------------------------------------------------------------------

    @staticmethod
    def _plan(filters: dict[str, Any], total: int | None) -> tuple[dict[str, Any], str | None]:
        """``filters`` with "every status" taken as no status filter, and the index a long
        list walks (``None``: a short list keeps SQLite's own plan, sorting it is cheap).
        A list is long when it has over ``WALK_ABOVE`` matches, or, with no count given,
        when it takes every status or the resolved and closed ones. The walk takes the
        filter's own copy of the key when there is one (``FILTER_INDEXES``: an assignee,
        a client or a single priority), so only the matching tickets' entries are read;
        several priorities alone are merged from the priority index's ranges
        (``_branches``); otherwise the key itself."""
        statuses = filters.get("statuses")
        if statuses and _EVERY_STATUS <= set(statuses):
            # Every status is no filter at all.
            filters = {**filters, "statuses": None, "open_only": False}
            statuses = None
        if total is None:
            walk = (not statuses and not filters.get("open_only", True)) or bool(
                statuses and _CLOSED & set(statuses))
        else:
            walk = total > WALK_ABOVE
        if not walk:
            return filters, None
        priorities = filters.get("priorities") or ()
        if filters.get("assignee"):
            return filters, "tickets_queue_key_by_assignee"
        if filters.get("client"):
            return filters, "tickets_queue_key_by_client"
        if len(set(priorities)) == 1:
            return filters, "tickets_queue_key_by_priority"
        return filters, "tickets_queue_key"

    @classmethod
    def _body(cls, filters: dict[str, Any], *, total: int | None = None,
              joins: bool = True,
              names: tuple[bool, bool] = (True, True)) -> tuple[str, list[Any]]:
        """FROM/WHERE for ``filters`` (``Queue.filter``), steered to the index ``_plan``
        names for a long list. SQLite then walks the index and stops after a page, where
        its own choice (the status or client index, then a sort of every match) is what
        made the history slow. On the key's own index several priorities are checked on
        each entry (``+``, the priority is in the key), and so are the statuses.

        A text search (``text_condition``) on a short list finds its tickets through the
        text index. A walk that reads the page's rows checks each row's own text (the
        matches of a long list are dense, so a page is found after a few rows); a walk
        for rowids only (``joins`` false) checks each index entry's rowid against the
        text index's matches and the caller and client parts ``names`` keeps (those read
        the ticket row), so skipping half a million entries reads no ticket."""
        filters, index = cls._plan(filters, total)
        search = filters.get("search")
        body, params = Queue.filter(**{**filters, "search": None})
        if search:
            callers, clients = names
            condition, condition_params = text_condition(
                search, scan=index is not None and joins,
                callers=callers or index is None, clients=clients or index is None)
            body = cls._and(body, condition)
            params = [*params, *condition_params]
        if index is not None:
            body = body.replace("FROM tickets t ", f"FROM tickets t INDEXED BY {index} ", 1)
            if index != "tickets_queue_key_by_priority":
                body = body.replace("t.priority IN (", "+t.priority IN (", 1)
            # The status is checked on each entry too: one status held equal would make
            # SQLite sort what follows it in the key (the rowid) in a temporary B-tree.
            body = body.replace("t.status IN (", "+t.status IN (", 1)
        if not joins:
            body = body.replace(_JOINS, "", 1)  # rowids only: no caller or client needed
        return body, params

    @classmethod
    def _branches(cls, filters: dict[str, Any], total: int | None) -> list[str] | None:
        """The priorities to merge when a long list is filtered by several priorities and
        nothing narrower (an assignee or a client has its own index), in the key's order;
        else ``None``. Each priority is one range of the priority index, already in the
        queue's order, so a page is a merge of those ranges (a compound ``SELECT`` whose
        branches SQLite reads in index order and merges, stopping after the page) where a
        walk of the whole key would skip every ticket of the other priorities."""
        _filters, index = cls._plan(filters, total)
        if index != "tickets_queue_key":
            return None
        priorities = sorted(set(filters.get("priorities") or ()))
        return priorities if len(priorities) > 1 else None

    @classmethod
    def _branch(cls, filters: dict[str, Any], priority: str, *,
                joins: bool = True) -> tuple[str, list[Any]]:
        """FROM/WHERE of one priority's range (``_branches``), on the priority index."""
        return cls._body({**filters, "priorities": [priority]}, total=WALK_ABOVE + 1,
                         joins=joins)

    @staticmethod
    def _and(body: str, condition: str) -> str:
        return f"{body} {'AND' if ' WHERE ' in body else 'WHERE'} {condition}"

    def _select(self, body: str, params: Sequence[Any], order: str, limit: int,
                offset: int = 0) -> list[Row]:
        sql = (f"SELECT {Queue.COLUMNS}, {KEY} {body} ORDER BY {order} "
               "LIMIT ? OFFSET ?")
        cursor = self._db.cursor()
        cursor.row_factory = None
        return cursor.execute(sql, [*params, limit, offset]).fetchall()

    # --- pages ------------------------------------------------------------------------------

    def _merged(self, filters: dict[str, Any], priorities: Sequence[str],
                condition: str | None, condition_params: Sequence[Any], start: int,
                direction: str, limit: int, offset: int = 0, *,
                rowids: bool = False) -> list[Row]:
        """The merge of ``priorities``' ranges (``_branches``) under ``condition``, in
        the key's order from its part ``start`` (the parts before it are held equal by
        ``condition``): one compound SELECT, each branch read in its index's order."""
        columns = f"t.rowid, {_KEY_AS}" if rowids else f"{Queue.COLUMNS}, {_KEY_AS}"
        selects: list[str] = []
        params: list[Any] = []
        for priority in priorities:
            body, branch_params = self._branch(filters, priority, joins=not rowids)
            if condition:
                body = self._and(body, condition)
                branch_params = [*branch_params, *condition_params]
            selects.append(f"SELECT {columns} {body}")
            params.extend(branch_params)
        order = ", ".join(f"k{i}{direction}" for i in range(start, KEY_WIDTH))
        cursor = self._db.cursor()
        cursor.row_factory = None
        rows = cursor.execute(f"{' UNION ALL '.join(selects)} ORDER BY {order} "
                              "LIMIT ? OFFSET ?", [*params, limit, offset]).fetchall()
        return rows

    def _merged_walk(self, filters: dict[str, Any], priorities: list[str], offset: int,
                     limit: int, reverse: bool) -> list[Row]:
        """``limit`` rows from ``offset`` (from the end if ``reverse``) of the merge of
        ``priorities``' ranges, without merging the rows skipped. The merged order is a
        run of pieces: the running clocks of every priority (merged), then each
        priority's tickets with no clock, one priority after the other (``_NO_CLOCK``).
        The page's piece is read by ``OFFSET`` over its index (rowids only); a piece
        that ends before the page is skipped by counting its index entries."""
        rank = KEY_PARTS[0]
        # (condition, priorities, the first key part not held equal by the condition:
        # naming an equal part in ORDER BY makes SQLite sort).
        pieces: list[tuple[str, list[str], int]] = [
            (f"{rank} < {_NO_CLOCK}", priorities, 0),
            *[(f"{rank} = {_NO_CLOCK}", [p], 1) for p in priorities]]
        if reverse:
            pieces.reverse()
        ids: list[int] = []
        for condition, group, start in pieces:
            if len(ids) >= limit:
                break
            found = [row[0] for row in self._merged(
                filters, group, condition, (), start, " DESC" if reverse else "",
                limit - len(ids), offset, rowids=True)]
            if found or offset == 0:
                ids += found
                offset = 0
            else:  # the page starts past this piece: skip all of it
                offset -= sum(self._branch_count(filters, p, condition) for p in group)
        rows = self._by_rowid(ids)
        return rows[::-1] if reverse else rows

    def _branch_count(self, filters: dict[str, Any], priority: str, condition: str) -> int:
        """Index entries of one priority's range under ``condition``."""
        body, params = self._branch(filters, priority, joins=False)
        cursor = self._db.cursor()
        cursor.row_factory = None
        return int(cursor.execute(f"SELECT count(*) {self._and(body, condition)}",
                                  params).fetchone()[0])

    def first(self, limit: int, *, total: int | None = None, **filters: Any) -> list[Row]:
        branches = self._branches(filters, total)
        if branches:
            return self._merged(filters, branches, None, (), 0, "", limit)
        body, params = self._body(filters, total=total)
        return self._select(body, params, KEY, limit)

    def after(self, key: Key, limit: int, *, total: int | None = None,
              **filters: Any) -> list[Row]:
        """Up to ``limit`` rows after ``key``, in order."""
        return self._seek(key, limit, filters, total, ">", "")

    def before(self, key: Key, limit: int, *, total: int | None = None,
               **filters: Any) -> list[Row]:
        """Up to ``limit`` rows before ``key``, in order (the nearest last)."""
        return self._seek(key, limit, filters, total, "<", " DESC")[::-1]

    def from_end(self, skip: int, limit: int, *, total: int | None = None,
                 **filters: Any) -> list[Row]:
        """The ``limit`` rows that end ``skip`` rows before the last one, in order."""
        branches = self._branches(filters, total)
        if branches:
            return self._merged_walk(filters, branches, skip, limit, reverse=True)
        ids = self._text_jump(filters, total, skip, limit, reverse=True)
        if ids is not None:
            return self._by_rowid(ids[::-1])
        return self._walk(filters, total, KEY_DESC, limit, skip)[::-1]

    def at(self, offset: int, limit: int, *, total: int | None = None,
           **filters: Any) -> list[Row]:
        """Rows from ``offset`` (a jump to the middle of a long list)."""
        branches = self._branches(filters, total)
        if branches:
            return self._merged_walk(filters, branches, offset, limit, reverse=False)
        ids = self._text_jump(filters, total, offset, limit, reverse=False)
        if ids is not None:
            return self._by_rowid(ids)
        return self._walk(filters, total, KEY, limit, offset)

    def _text_jump(self, filters: dict[str, Any], total: int | None, offset: int,
                   limit: int, *, reverse: bool) -> list[int] | None:
        """The page's rowids through the text index in the queue's order
        (``queue_text_jump``) for a long history filtered by a text search alone; else
        ``None``. Near either end the rows are read as ``_walk`` reads them (a few rows
        before the page), deeper in the jump counts the ordered index's matches."""
        search = filters.get("search")
        if not search or Queue._narrowed(filters) or self._plan(filters, total)[1] is None:
            return None
        if total and (offset + limit) * self._tickets() < ROWS_READ_FOR_TEXT * total:
            return None
        from .queue_text_jump import jump  # it reads this module's key
        return jump(self._db, search, offset, limit, reverse=reverse)

    def _tickets(self) -> int:
        cursor = self._db.cursor()
        cursor.row_factory = None
        return int(cursor.execute("SELECT max(rowid) FROM tickets").fetchone()[0] or 0)

    def _walk(self, filters: dict[str, Any], total: int | None, order: str, limit: int,
              offset: int) -> list[Row]:
        """``OFFSET`` over the index for rowids only (no caller or client is joined for
        the rows skipped), then the page's own rows by rowid.

        With a text search near either end of a long list (the End key), the rows are
        read and their own text checked, as the first page does: the matches are dense
        enough that few rows come before the page, where looking them up in the text
        index would first gather every match. Deeper in, each index entry is checked
        against the text index's matches instead, and no ticket row is read."""
        search = filters.get("search")
        cursor = self._db.cursor()
        cursor.row_factory = None
        if search and total:
            if (offset + limit) * self._tickets() < ROWS_READ_FOR_TEXT * total:
                body, params = self._body(filters, total=total)
                return self._select(body, params, order, limit, offset)
        body, params = self._body(filters, total=total, joins=False,
                                  names=self._names(search))
        ids = [r[0] for r in cursor.execute(
            f"SELECT t.rowid {body} ORDER BY {order} LIMIT ? OFFSET ?",
            [*params, limit, offset])]
        return self._by_rowid(ids)

    def _names(self, search: str | None) -> tuple[bool, bool]:
        """Whether any caller's and any client's name holds ``search``: a part of the
        text search no name can meet is left out of a walk (it would read every row)."""
        if not search:
            return True, True
        pattern = f"%{search}%"
        cursor = self._db.cursor()
        cursor.row_factory = None
        callers, clients = cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM callers WHERE name LIKE ?), "
            "EXISTS (SELECT 1 FROM clients WHERE name LIKE ?)", (pattern, pattern)).fetchone()
        return bool(callers), bool(clients)

    def _by_rowid(self, ids: list[int]) -> list[Row]:
        """The page rows of ``ids``, in that order."""
        if not ids:
            return []
        cursor = self._db.cursor()
        cursor.row_factory = None
        marks = ", ".join("?" for _ in ids)
        # Put in order here: an ORDER BY would send SQLite down the whole key index.
        found = {row[-1]: row for row in cursor.execute(
            f"SELECT {Queue.COLUMNS}, {KEY} FROM tickets t {_JOINS} "
            f"WHERE t.rowid IN ({marks})", ids)}
        return [found[rowid] for rowid in ids if rowid in found]

    def page(self, offset: int, limit: int, *, total: int | None = None,
             after: Key | None = None, before: Key | None = None,
             **filters: Any) -> list[Row]:
        """The rows at ``offset``, the cheapest way there: from a neighbour's key when one
        is given, backwards from the end when that is nearer, else by index offset."""
        if after is not None:
            return self.after(after, limit, total=total, **filters)
        if before is not None:
            return self.before(before, limit, total=total, **filters)
        if offset <= 0:
            return self.first(limit, total=total, **filters)
        if total is not None:
            end = min(offset + limit, total)
            skip = total - end
            if skip < offset:
                return self.from_end(skip, max(end - offset, 0), total=total, **filters)
        return self.at(offset, limit, total=total, **filters)

    def _seek(self, key: Key, limit: int, filters: dict[str, Any], total: int | None,
              op: str, direction: str) -> list[Row]:
        """Rows strictly beyond ``key`` (``op`` says which way) as a run of index seeks:
        equal on the first i parts of the key and beyond on part i, from the deepest i
        up, each continuing where the one before ran out. A single
        ``(a, b, ...) > (?, ?, ...)`` would make SQLite scan from the start, and each
        seek orders by the parts it does not hold equal only (naming the equal ones too
        makes SQLite sort the rows in a temporary B-tree)."""
        if len(key) != KEY_WIDTH:
            raise ValueError(f"a queue key has {KEY_WIDTH} parts, got {len(key)}")
        branches = self._branches(filters, total)
        body, params = self._body(filters, total=total)
        out: list[Row] = []
        for depth in range(KEY_WIDTH - 1, -1, -1):
            if len(out) >= limit:
                break
            equal = [f"{KEY_PARTS[i]} = ?" for i in range(depth)]
            condition = " AND ".join([*equal, f"{KEY_PARTS[depth]} {op} ?"])
            if branches:
                out.extend(self._merged(filters, branches, condition, key[:depth + 1],
                                        depth, direction, limit - len(out)))
                continue
            order = ", ".join(f"{part}{direction}" for part in KEY_PARTS[depth:])
            out.extend(self._select(self._and(body, condition),
                                    [*params, *key[:depth + 1]], order, limit - len(out)))
        return out
