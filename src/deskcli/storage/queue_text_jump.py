"""A jump into the middle of a text search's history, without visiting every match.

The history view (every status) searching a common word (``printer``: 83,000 of a
million tickets) jumps to the middle of its matches when the scroll bar is dragged there.
``QueuePages`` reached that page by ``OFFSET`` over the queue key's index, checking half
a million entries against the text index's matches (0.2-0.35 s): the text index
(``ticket_text``) knows each match's rowid, not its place in the queue.

Nearly every ticket of a long history has no clock running, and the queue orders those
by priority, then number (``KEY_PARTS``: rank 2, no due time). ``ticket_text_ordered``
(migration 16) indexes their summaries a second time with that place as the rowid
(``migrations.ordered_code``: ``2**50`` times the priority's digit plus the number), so
its matches come in the queue's order: one run of rowids per priority. The list is then
a few pieces in the queue's order:

- the tickets with a clock running or an unanswered open P1 (rank 0 and 1: the open
  queue, a few hundred), read from the queue key's index with each row's own text
  checked;
- per priority P1-P4: the tickets with no number, or a number outside the code's range
  (read from the queue key's index, usually none), around the run of the ordered
  index's matches, which is counted (``rowid BETWEEN``) and read by ``OFFSET`` there;
  a priority other than P1-P4 (none is written) is read from the queue key's index too,
  between the runs where its text sorts.

A jump counts the pieces before its page and reads the page from the pieces it falls
in: about as many index entries as there are matches before the page, where the walk
read every ticket before it.

Only a search that is exactly the summary's text index can be served so: a term of three
characters or more without wildcards, that no caller's or client's name holds and that
is no number (``jump`` says ``None`` otherwise, and ``QueuePages`` walks as before), and
only when nothing else filters the history.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

from .migrations import ORDERED_BLOCK
from .queue import _number_parts, _phrase
from .queue_pages import KEY_PARTS

#: The priorities whose tickets ``ticket_text_ordered`` holds, by the digit of each.
PRIORITIES = ("P1", "P2", "P3", "P4")

_RANK, _DUE, _PRIORITY, _NUMBER = KEY_PARTS[:4]


def usable(db: sqlite3.Connection, search: str) -> str | None:
    """The full-text phrase a jump through ``ticket_text_ordered`` matches for ``search``,
    or ``None`` when the summary's index is not the whole search: a wildcard or a term
    shorter than a trigram (``LIKE`` decides there), a number, or a caller's or client's
    name holding the term (those tickets are found by name, not by text)."""
    if "%" in search or "_" in search:
        return None
    phrase = _phrase(search)
    if phrase is None or _number_parts(search.lstrip("#")):
        return None
    pattern = f"%{search}%"
    cursor = db.cursor()
    cursor.row_factory = None
    names = cursor.execute(
        "SELECT EXISTS (SELECT 1 FROM callers WHERE name LIKE ?) "
        "OR EXISTS (SELECT 1 FROM clients WHERE name LIKE ?) "
        "OR NOT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'ticket_text_ordered')",
        (pattern, pattern)).fetchone()[0]
    return None if names else phrase


def jump(db: sqlite3.Connection, search: str, offset: int, limit: int, *,
         reverse: bool = False) -> list[int] | None:
    """The rowids of the ``limit`` matches of ``search`` from ``offset`` in the queue's
    order (``reverse``: counted from the last match, the nearest to it first), or
    ``None`` when the search is not one the ordered index serves (``usable``)."""
    phrase = usable(db, search)
    if phrase is None:
        return None
    cursor = db.cursor()
    cursor.row_factory = None
    out: list[int] = []
    pieces = list(_pieces(cursor, search, phrase, reverse))
    for piece in reversed(pieces) if reverse else pieces:
        if len(out) >= limit:
            break
        size = piece.size()
        if offset >= size:
            offset -= size
            continue
        out += piece.read(offset, limit - len(out))
        offset = 0
    return out


class _Listed:
    """A piece read whole from the queue key's index (few tickets): its rowids in order."""

    def __init__(self, ids: list[int]) -> None:
        self.ids = ids  # in the order the jump reads (reversed for a reverse jump)

    def size(self) -> int:
        return len(self.ids)

    def read(self, offset: int, limit: int) -> list[int]:
        return self.ids[offset:offset + limit]


class _Run:
    """One priority's run of ``ticket_text_ordered``'s matches, in its rowids' order."""

    def __init__(self, cursor: sqlite3.Cursor, phrase: str, digit: int,
                 reverse: bool) -> None:
        self.cursor = cursor
        self.phrase = phrase
        self.low = ORDERED_BLOCK * digit + 1
        self.high = ORDERED_BLOCK * digit + ORDERED_BLOCK - 1
        self.digit = digit
        self.order = "DESC" if reverse else "ASC"

    def size(self) -> int:
        return int(self.cursor.execute(
            "SELECT count(*) FROM ticket_text_ordered WHERE ticket_text_ordered MATCH ? "
            "AND rowid BETWEEN ? AND ?", (self.phrase, self.low, self.high)).fetchone()[0])

    def read(self, offset: int, limit: int) -> list[int]:
        numbers = [code - ORDERED_BLOCK * self.digit for (code,) in self.cursor.execute(
            "SELECT rowid FROM ticket_text_ordered WHERE ticket_text_ordered MATCH ? "
            f"AND rowid BETWEEN ? AND ? ORDER BY rowid {self.order} LIMIT ? OFFSET ?",
            (self.phrase, self.low, self.high, limit, offset))]
        if not numbers:
            return []
        marks = ", ".join("?" for _ in numbers)
        found = dict(self.cursor.execute(
            f"SELECT number, rowid FROM tickets WHERE number IN ({marks})", numbers))
        return [found[n] for n in numbers if n in found]


def _pieces(cursor: sqlite3.Cursor, search: str, phrase: str,
            reverse: bool) -> Iterator[_Listed | _Run]:
    """The list's pieces in the queue's order (see the module docstring), each to be
    read forwards or, with ``reverse``, from its end. The listed pieces check each row's
    own summary with ``LIKE`` (``usable`` found that no name or number can match)."""
    condition, params = "t.summary LIKE ?", [f"%{search}%"]
    direction = " DESC" if reverse else ""

    def listed(where: str, where_params: list[Any], start: int) -> _Listed:
        # Ordered by the key's parts from ``start``: the ones before it are held equal
        # (naming them too would make SQLite sort the rows).
        order = ", ".join(f"{part}{direction}" for part in KEY_PARTS[start:])
        rows = cursor.execute(
            f"SELECT t.rowid FROM tickets t INDEXED BY tickets_queue_key WHERE {where} "
            f"AND {condition} ORDER BY {order}", [*where_params, *params])
        return _Listed([rowid for (rowid,) in rows])

    yield listed(f"{_RANK} < 2", [], 0)
    rank2 = f"{_RANK} = 2 AND {_DUE} = ''"
    below = ""  # the priorities sorting before this one (none in practice: P1-P4 only)
    for digit, priority in enumerate(PRIORITIES, start=1):
        yield listed(f"{rank2} AND {_PRIORITY} < ?{below}", [priority], 2)
        below = f" AND {_PRIORITY} > '{PRIORITIES[digit - 1]}'"
        run = f"{rank2} AND {_PRIORITY} = ?"
        # No number (0 in the key) or one the code cannot hold: before and after the run.
        yield listed(f"{run} AND {_NUMBER} < 1", [priority], 3)
        yield _Run(cursor, phrase, digit, reverse)
        yield listed(f"{run} AND {_NUMBER} >= ?", [priority, ORDERED_BLOCK], 3)
    yield listed(f"{rank2}{below}", [], 2)
