"""The queue: a virtualised table that only ever holds the rows near the screen.

The store can hold 100,000 tickets; a widget holding them all takes seconds to build (a
naive DataTable measured 22× slower than a 200-row one). This table knows only the row
count; ``render_line`` draws the visible lines from a small cache of pages, and a thread
worker fetches a missing page (by keyset from a neighbouring page's key, see
``storage/queue_pages.py``) and posts it back. The store sorts by
SLA urgency, so the first page is always the work that matters most.

Marks for bulk actions live in a ``Selection`` of ticket ids that the queue screen owns;
the table only paints them (the ✓ column) and turns ``space`` and ``shift+↑/↓`` into
changes of it, so a mark outlives the page it was made on.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events, work
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from deskcli.domain.communication import is_silent
from deskcli.domain.inert import visible
from deskcli.domain.numbering import display_ref
from deskcli.domain.sla import SlaState, classify, format_span
from deskcli.domain.timefmt import from_iso, to_iso
from deskcli.storage.queue_pages import key_of
from deskcli.tui.selection import MARKED, Selection
from deskcli.tui.session import TAGS_AT, DeskSession, Q, QueueFilters

Row = tuple[Any, ...]

#: Short status words: the column must fit an 80-column terminal.
STATUS_WORDS = {
    "new": "new", "open": "open", "in-progress": "in progress",
    "pending-caller": "wait caller", "pending-third-party": "wait 3rd pty",
    "escalated": "escalated", "resolved": "resolved", "closed": "closed",
}
SILENT_MARK = "~"


def fit(text: str, width: int) -> str:
    """Pad or cut ``text`` to exactly ``width`` cells, cutting with an ellipsis."""
    if width <= 0:
        return ""
    if cell_len(text) > width:
        return set_cell_size(text, width - 1) + "…"
    return set_cell_size(text, width)


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    width: int
    flex: int = 0


#: The ticket column's least width: "#" and six digits.
REF_WIDTH = 7


def layout(width: int, ref_width: int = REF_WIDTH) -> list[Column]:
    """Columns for a table ``width`` cells wide; caller, client and summary share the rest.
    ``ref_width`` fits the longest ticket reference loaded (#1000812 at a million
    tickets), so two tickets never look alike."""
    narrow = width < 100
    fixed = [
        Column("mark", "", 1), Column("flag", "", 3), Column("ref", "#", ref_width),
        Column("priority", "P", 2), Column("status", "Status", 12), Column("left", "Left", 7),
    ]
    owner = Column("assignee", "Owner", 5 if narrow else 8)
    spare = width - sum(c.width for c in fixed) - owner.width - 9  # one space between each
    caller = max(8, spare * 24 // 100)
    client = max(8, spare * 24 // 100)
    summary = max(8, spare - caller - client)
    return [*fixed, Column("caller", "Caller", caller), Column("client", "Client", client),
            Column("summary", "Summary", summary, flex=1), owner]


@dataclass(frozen=True)
class RowView:
    """A queue row in the words and markers the table shows."""

    ref: str
    ticket_id: str
    state: SlaState
    silent: bool
    cells: dict[str, str]
    #: The ticket's tags, shown in brackets before the summary ("[outage erp] ").
    tags: str = ""


def row_view(row: Row, now: datetime, checkpoint: timedelta) -> RowView:
    now_iso = to_iso(now)
    status = row[Q["status"]]
    is_open = status not in ("resolved", "closed")
    paused = row[Q["sla_paused_since"]] is not None
    state = classify(
        now=now_iso, is_open=is_open, paused=paused,
        response_due=row[Q["response_due"]], response_risk_at=row[Q["response_risk_at"]],
        first_response_at=row[Q["first_response_at"]], resolve_due=row[Q["resolve_due"]],
        resolve_risk_at=row[Q["resolve_risk_at"]], resolved_at=row[Q["resolved_at"]])
    last = row[Q["last_contact_at"]]
    silent = is_silent(is_open=is_open, created_at=from_iso(row[Q["created_at"]]),
                       last_contact_at=from_iso(last) if last else None, now=now,
                       checkpoint=checkpoint)
    due = row[Q["urgency_due"]]
    if not is_open:
        left = state.value
    elif due is None:
        left = "paused"
    else:
        left = format_span(from_iso(due) - now)
    ref = display_ref(row[Q["number"]], row[Q["provisional"]])
    cells = {
        "mark": "",  # painted from the selection, which changes without a reload
        "flag": state.marker + (SILENT_MARK if silent else " "),
        "ref": ref,
        "priority": row[Q["priority"]],
        "status": STATUS_WORDS.get(status, status),
        "left": left,
        # Stored text shown inert: ESC as ␛, a CR as ␍ (see domain/inert.py).
        "caller": visible(row[Q["caller"]] or "—"),
        "client": visible(row[Q["client"]] or "—"),
        "summary": visible(row[Q["summary"]]),
        "assignee": visible(row[Q["assignee"]] or "—"),
    }
    tags = row[TAGS_AT] if len(row) > TAGS_AT else ""
    return RowView(ref, row[Q["id"]], state, silent, cells, f"[{tags}] " if tags else "")


class QueueTable(ScrollView, can_focus=True):
    DEFAULT_CSS = """
    QueueTable {
        height: 1fr;
        overflow-x: hidden;
        overflow-y: auto;
        scrollbar-size-vertical: 1;
        background: $surface;
    }
    QueueTable > .queue-table--header {
        text-style: bold;
        background: $panel;
        color: $text;
    }
    QueueTable > .queue-table--cursor {
        background: $block-cursor-blurred-background;
    }
    QueueTable:focus > .queue-table--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
        text-style: bold;
    }
    QueueTable > .queue-table--breached {
        color: $text-error;
        text-style: bold;
    }
    QueueTable > .queue-table--at-risk {
        color: $text-warning;
    }
    QueueTable > .queue-table--muted {
        color: $text-muted;
    }
    QueueTable > .queue-table--p1 {
        text-style: bold;
        color: $text-error;
    }
    QueueTable > .queue-table--tag {
        color: $text-accent;
    }
    QueueTable > .queue-table--marked {
        background: $accent 30%;
        text-style: bold;
    }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "queue-table--header", "queue-table--cursor", "queue-table--breached",
        "queue-table--at-risk", "queue-table--muted", "queue-table--p1",
        "queue-table--marked", "queue-table--tag",
    }

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Open", show=False, tooltip="Open the ticket under the cursor"),
        Binding("down,j", "cursor_down", "Down", show=False, tooltip="Next ticket"),
        Binding("up,k", "cursor_up", "Up", show=False, tooltip="Previous ticket"),
        Binding("pagedown,ctrl+f", "page_down", "Page down", show=False,
                tooltip="A screenful down"),
        Binding("pageup,ctrl+b", "page_up", "Page up", show=False, tooltip="A screenful up"),
        Binding("home,g", "first", "First", show=False, tooltip="First (most urgent) ticket"),
        Binding("end,G", "last", "Last", show=False, tooltip="Last ticket"),
        Binding("space", "toggle_mark", "Mark", show=False,
                tooltip="Mark or unmark the ticket under the cursor (to act on several)"),
        Binding("shift+down", "extend('down')", "Mark down", show=False,
                tooltip="Mark from here down (shift+up shrinks it back)"),
        Binding("shift+up", "extend('up')", "Mark up", show=False,
                tooltip="Mark from here up (shift+down shrinks it back)"),
    ]

    PAGE = 100
    CACHED_PAGES = 30

    cursor: reactive[int] = reactive(0, init=False)

    @dataclass
    class Opened(Message):
        """The technician asked to open the ticket under the cursor."""

        ref: str

    @dataclass
    class Counted(Message):
        """A (re)load finished counting: the screen's title shows it."""

        total: int

    @dataclass
    class PageShown(Message):
        """Rows are on screen after a (re)load: the queue is interactive."""

        total: int

    @dataclass
    class MarksChanged(Message):
        """Tickets were marked or unmarked here: the screen shows the new count."""

        count: int

    @dataclass
    class _Reloaded(Message):
        generation: int
        total: int
        rows: list[Row]

    @dataclass
    class _PageLoaded(Message):
        generation: int
        page: int
        rows: list[Row]

    def __init__(self, session: DeskSession, *, now: Callable[[], datetime],
                 checkpoint: timedelta, selection: Selection | None = None,
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self.session = session
        #: The marked tickets; the screen owns it (it outlives pages and reloads).
        self.selection = selection if selection is not None else Selection()
        #: The cursor is moving as part of a shift+arrow range: keep the range going.
        self._extending = False
        self.now = now
        self.checkpoint = checkpoint
        self.filters = QueueFilters()
        self.total = 0
        self.loaded = False
        self._generation = 0
        self._pages: OrderedDict[int, list[Row]] = OrderedDict()
        self._pending: set[int] = set()
        self._views: dict[int, RowView] = {}
        #: A (re)load is on its way: rows on screen may be the old ones.
        self._reloading = False
        #: Enter was pressed during a reload: open the cursor's ticket once rows arrive.
        self._open_when_loaded = False
        #: Width of the ticket column: grows to the longest reference loaded, never shrinks
        #: (columns do not jump about while scrolling).
        self.ref_width = REF_WIDTH

    # --- loading ----------------------------------------------------------------------

    def load(self, filters: QueueFilters | None = None) -> None:
        """Count and fetch the first page for ``filters`` (or refresh the current ones)."""
        if filters is not None and filters != self.filters:
            self.filters = filters
            self.cursor = 0
            self.scroll_to(y=0, animate=False)
        self._generation += 1
        self._pending.clear()
        self._reloading = True
        self.selection.end_range()  # rows move on a reload: the anchor means nothing now
        self._reload(self._generation, self.filters, self.cursor // self.PAGE)

    @work(thread=True, exclusive=True, group="queue-reload")
    def _reload(self, generation: int, filters: QueueFilters, page: int) -> None:
        total = self.session.queue_count(filters)
        page = min(page, max(total - 1, 0) // self.PAGE)
        rows = self.session.queue_page(filters, page * self.PAGE, self.PAGE, total=total)
        self.post_message(self._Reloaded(generation, total, rows if page == 0 else []))
        if page:
            self.post_message(self._PageLoaded(generation, page, rows))

    def _fetch(self, page: int) -> None:
        if page in self._pending or page in self._pages:
            return
        self._pending.add(page)
        generation, filters, total = self._generation, self.filters, self.total
        # From a neighbouring page's key when one is loaded (scrolling, paging): the same
        # few index seeks at any depth. The End key and jumps have none; the store then
        # reads back from the end, or walks its index.
        above, below = self._pages.get(page - 1), self._pages.get(page + 1)
        after = key_of(above[-1]) if above and len(above) == self.PAGE else None
        before = key_of(below[0]) if below and after is None else None

        def read() -> None:
            rows = self.session.queue_page(filters, page * self.PAGE, self.PAGE, total=total,
                                           after=after, before=before)
            self.post_message(self._PageLoaded(generation, page, rows))

        self.run_worker(read, thread=True, group="queue-page")

    def on_queue_table__reloaded(self, message: _Reloaded) -> None:
        if message.generation != self._generation:
            return
        message.stop()
        self._reloading = False
        # The same rows as before (back from a ticket that did not change them): what
        # shows stays, and is not drawn again.
        unchanged = bool(self.loaded and message.rows and message.total == self.total
                         and list(self._pages) == [0] and self._pages[0] == message.rows)
        if not unchanged:
            self.total = message.total
            self.loaded = True
            self._pages.clear()
            self._views.clear()
            if message.rows:
                self._pages[0] = message.rows
                self._widen(message.rows)
            self.cursor = min(self.cursor, max(self.total - 1, 0))
            self._resize_virtual()
            self.refresh()
        self.post_message(self.Counted(self.total))
        if message.rows or not self.total:
            self._announce()
        if self._open_when_loaded:
            self._open_when_loaded = False
            self.action_open()

    def on_queue_table__page_loaded(self, message: _PageLoaded) -> None:
        message.stop()
        self._pending.discard(message.page)
        if message.generation != self._generation:
            return
        self._pages[message.page] = message.rows
        self._widen(message.rows)
        self._pages.move_to_end(message.page)
        while len(self._pages) > self.CACHED_PAGES:
            old, _ = self._pages.popitem(last=False)
            for index in range(old * self.PAGE, (old + 1) * self.PAGE):
                self._views.pop(index, None)
        self.refresh()
        self._announce()

    def _widen(self, rows: list[Row]) -> None:
        widest = max((len(display_ref(r[Q["number"]], r[Q["provisional"]])) for r in rows),
                     default=0)
        if widest > self.ref_width:
            self.ref_width = widest
            self._views.clear()

    def _announce(self) -> None:
        self.call_after_refresh(self.post_message, self.PageShown(self.total))

    def _row(self, index: int) -> Row | None:
        page, offset = divmod(index, self.PAGE)
        rows = self._pages.get(page)
        if rows is None:
            self.call_later(self._fetch, page)
            return None
        return rows[offset] if offset < len(rows) else None

    def view_at(self, index: int) -> RowView | None:
        view = self._views.get(index)
        if view is None:
            row = self._row(index)
            if row is None:
                return None
            view = self._views[index] = row_view(row, self.now(), self.checkpoint)
        return view

    def forget_views(self) -> None:
        """Recompute time left and markers on the next paint (the clock moved on)."""
        self._views.clear()
        self.refresh()

    @property
    def selected_ref(self) -> str | None:
        view = self.view_at(self.cursor) if self.total else None
        return view.ref if view else None

    # --- geometry ---------------------------------------------------------------------

    @property
    def rows_visible(self) -> int:
        return max(self.scrollable_content_region.height - 1, 1)

    def _resize_virtual(self) -> None:
        self.virtual_size = Size(self.scrollable_content_region.width, self.total + 1)

    def on_resize(self, _event: events.Resize) -> None:
        self._resize_virtual()
        self.refresh()

    def _keep_cursor_visible(self) -> None:
        top = self.scroll_offset.y
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False)
        elif self.cursor >= top + self.rows_visible:
            self.scroll_to(y=self.cursor - self.rows_visible + 1, animate=False)

    def watch_cursor(self, _old: int, _new: int) -> None:
        if not self._extending:
            self.selection.end_range()  # a plain move ends a shift+arrow range
        self._keep_cursor_visible()
        self.refresh()

    # --- painting ---------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        columns = layout(width, self.ref_width)
        if y == 0:
            header = self.get_component_rich_style("queue-table--header")
            text = " ".join(fit(c.title, c.width) for c in columns)
            return Strip([Segment(fit(text, width), header)])
        index = self.scroll_offset.y + y - 1
        if index >= self.total:
            if index == 0 and self.loaded:
                muted = self.get_component_rich_style("queue-table--muted")
                message = ("  Nothing matches these filters (escape clears them)."
                           if self.filters.narrowed else
                           "  No open tickets. Press n to open one.")
                return Strip([Segment(fit(message, width), base + muted)])
            return Strip.blank(width, base)
        view = self.view_at(index)
        style = base
        if view is not None and view.ticket_id in self.selection:
            style = base + self.get_component_rich_style("queue-table--marked")
        if index == self.cursor:
            style = base + self.get_component_rich_style("queue-table--cursor")
        if view is None:
            muted = self.get_component_rich_style("queue-table--muted")
            return Strip([Segment(fit("  …", width), style + muted)])
        return Strip(self._segments(view, columns, style, width))

    def _ink(self, component: str) -> Style:
        """A component's colour and weight without its background, so the cursor's
        background shows through every cell of its row."""
        full = self.get_component_rich_style(component)
        return Style(color=full.color, bold=full.bold, italic=full.italic)

    def _segments(self, view: RowView, columns: list[Column], style: Style,
                  width: int) -> list[Segment]:
        alert: Style | None = None
        if view.state is SlaState.BREACHED:
            alert = self._ink("queue-table--breached")
        elif view.state is SlaState.AT_RISK:
            alert = self._ink("queue-table--at-risk")
        segments: list[Segment] = []
        used = 0
        for number, column in enumerate(columns):
            cell_style = style
            if column.key in ("flag", "left") and alert is not None:
                cell_style = style + alert
            elif column.key == "priority" and view.cells["priority"] == "P1":
                cell_style = style + self._ink("queue-table--p1")
            elif column.key == "left" and view.state is SlaState.PAUSED:
                cell_style = style + self._ink("queue-table--muted")
            cell = view.cells[column.key]
            if column.key == "mark":
                cell = MARKED if view.ticket_id in self.selection else ""
            if number:
                segments.append(Segment(" ", style))
                used += 1
            if column.key == "summary" and view.tags:
                # Tags lead the summary: "[outage erp] ERP login fails". Tags are
                # lower-case ASCII words, so characters and cells count alike.
                text = fit(view.tags + cell, column.width)
                cut = min(len(view.tags), column.width)
                segments.append(Segment(text[:cut], cell_style + self._ink("queue-table--tag")))
                segments.append(Segment(text[cut:], cell_style))
            else:
                segments.append(Segment(fit(cell, column.width), cell_style))
            used += column.width
        if used < width:
            segments.append(Segment(" " * (width - used), style))
        return segments

    # --- keys and mouse ---------------------------------------------------------------

    def action_cursor_down(self) -> None:
        if self.cursor < self.total - 1:
            self.cursor += 1

    def action_cursor_up(self) -> None:
        if self.cursor > 0:
            self.cursor -= 1

    def action_page_down(self) -> None:
        self.cursor = min(self.cursor + self.rows_visible, max(self.total - 1, 0))

    def action_page_up(self) -> None:
        self.cursor = max(self.cursor - self.rows_visible, 0)

    def action_first(self) -> None:
        self.cursor = 0

    def action_last(self) -> None:
        self.cursor = max(self.total - 1, 0)

    def action_open(self) -> None:
        if self._reloading:  # typed ahead of a search: open what the search finds
            self._open_when_loaded = True
            return
        ref = self.selected_ref
        if ref is not None:
            self.post_message(self.Opened(ref))

    def action_toggle_mark(self) -> None:
        view = self.view_at(self.cursor) if self.total else None
        if view is None:
            return
        self.selection.toggle(view.ticket_id)
        # The cursor stays: space again unmarks (shift+↓ marks on down the list).
        self._marks_changed()

    def action_extend(self, direction: str) -> None:
        """shift+↓/↑: grow (or shrink back) a range of marks from where it started."""
        target = self.cursor + (1 if direction == "down" else -1)
        if not 0 <= target < self.total:
            return
        here, there = self.view_at(self.cursor), self.view_at(target)
        if here is None or there is None:
            return  # its page is still loading; the next press finds it
        self.selection.extend(self.cursor, here.ticket_id, target, there.ticket_id)
        self._extending = True
        try:
            self.cursor = target
        finally:
            self._extending = False
        self._marks_changed()

    def _marks_changed(self) -> None:
        self.refresh()
        self.post_message(self.MarksChanged(len(self.selection)))

    def on_click(self, event: events.Click) -> None:
        if event.y < 1:
            return
        index = self.scroll_offset.y + event.y - 1
        if 0 <= index < self.total:
            self.cursor = index
            if event.chain >= 2:
                self.action_open()
