"""The tickets a technician has marked in the queue, to act on them all at once.

A selection is a set of ticket ids held by the queue screen, not a state of the table's
rows: the table only ever holds the page or two on screen (``QueueTable``), and a mark
must survive scrolling, a new search and a trip into a ticket and back. Ids, not
``#4521`` references, because a ticket opened offline is renumbered when it syncs; the
bulk service takes an id wherever it takes a reference.

``shift+up/down`` grow a range from an anchor, like a file manager: moving back towards
the anchor shrinks it again, and only unmarks what the range itself marked, so a ticket
marked on its own before is never dropped by passing over it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

#: A marked ticket, in the queue's first column and in the status bar's count. Rows are
#: tinted too, but the mark must read without colour.
MARKED = "✓"


class Selection:
    """Marked ticket ids, and the range ``shift+arrow`` is growing (if any)."""

    def __init__(self) -> None:
        self._ids: set[str] = set()
        #: Where the range being extended started (a row index), or None.
        self.anchor: int | None = None
        #: Ids the current range marked, which shrinking it may unmark again.
        self._ranged: set[str] = set()

    def __len__(self) -> int:
        return len(self._ids)

    def __bool__(self) -> bool:
        return bool(self._ids)

    def __contains__(self, ticket_id: object) -> bool:
        return ticket_id in self._ids

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    @property
    def ids(self) -> frozenset[str]:
        return frozenset(self._ids)

    def toggle(self, ticket_id: str) -> bool:
        """Mark or unmark one ticket; True when it is now marked. Ends any range."""
        self.end_range()
        if ticket_id in self._ids:
            self._ids.discard(ticket_id)
            return False
        self._ids.add(ticket_id)
        return True

    def mark(self, ticket_ids: Iterable[str]) -> int:
        """Mark every one of ``ticket_ids``; returns how many were not marked before."""
        self.end_range()
        before = len(self._ids)
        self._ids.update(ticket_ids)
        return len(self._ids) - before

    def keep_only(self, ticket_ids: Iterable[str]) -> None:
        """Keep marked only those of ``ticket_ids`` (the ones a bulk action refused)."""
        self.end_range()
        self._ids.intersection_update(ticket_ids)

    def clear(self) -> None:
        self.end_range()
        self._ids.clear()

    # --- a range grown with shift+arrows ------------------------------------------------

    def end_range(self) -> None:
        self.anchor = None
        self._ranged.clear()

    def extend(self, cursor: int, cursor_id: str, target: int, target_id: str) -> None:
        """The cursor moves from row ``cursor`` to the next row ``target`` with shift held.

        The first such move starts a range at the cursor (marking it). Moving away from
        the anchor marks the row reached; moving back towards it unmarks the row left,
        if the range had marked it.
        """
        if self.anchor is None:
            self.anchor = cursor
            self._ranged.clear()
            self._add(cursor_id)
        if abs(target - self.anchor) > abs(cursor - self.anchor):
            self._add(target_id)
        elif cursor_id in self._ranged:
            self._ranged.discard(cursor_id)
            self._ids.discard(cursor_id)

    def _add(self, ticket_id: str) -> None:
        if ticket_id not in self._ids:
            self._ids.add(ticket_id)
            self._ranged.add(ticket_id)
