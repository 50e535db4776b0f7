"""The home screen: open tickets, most urgent SLA first, one key to open any of them.

It also holds the technician's marks (``Selection``): ``space`` and ``shift+↑/↓`` on the
table, ``*`` for everything the current filter shows, ``escape`` to drop them. The marks
are the screen's, not the table's rows, so they survive scrolling, searches and a visit
to a ticket.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Input, Static

from deskcli.domain.errors import DeskError
from deskcli.domain.sla import format_span
from deskcli.tui.selection import MARKED, Selection
from deskcli.tui.session import OPEN_STATUSES, DeskSession, QueueFilters
from deskcli.tui.widgets.footer import DeskFooter
from deskcli.tui.widgets.queue_table import SILENT_MARK, QueueTable
from deskcli.tui.widgets.status_bar import DeskStatusBar

if TYPE_CHECKING:
    from deskcli.domain.bulk import BulkResult
    from deskcli.tui.app import DeskApp

LEGEND = "!! breached  ! at risk  || paused  {silent} silent: no word to the caller in {span}"
#: The legend's line while tickets are marked: what can be done with them.
ACTION_BAR = (("a", "act on them"), ("space", "mark"), ("shift+↑↓", "range"), ("*", "all"),
              ("esc", "unmark"))


class QueueScreen(Screen[None]):
    CSS_PATH = "queue.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "new_ticket", "New", tooltip="New ticket: the guided intake"),
        Binding("enter", "open", "Open", show=False, tooltip="Open the ticket under the cursor"),
        Binding("slash", "search", "Search",
                tooltip="Search the queue as you type (summary, caller, client, #number)"),
        Binding("f", "filter", "Filter", tooltip="Filter by status, priority, owner, client, tag"),
        Binding("m", "mine", "Mine", tooltip="Only my tickets (toggle)"),
        Binding("r", "refresh", "Refresh", tooltip="Reload the queue and the SLA alerts"),
        Binding("d", "dashboard", "Dashboard", show=False,
                tooltip="Dashboard: the service-desk numbers, trends and recurring issues"),
        Binding("a", "act", "Act on marked", show=False,
                tooltip="Act on the marked tickets: status, priority, owner, queue, tags, "
                        "note, update, link, resolve, close (a preview comes first)"),
        Binding("asterisk", "mark_all", "Mark all", show=False,
                tooltip="Mark every ticket the filter shows, not only those on screen"),
        Binding("escape", "clear", "Clear", show=False,
                tooltip="Clear the search field, then the marks, then the search and "
                        "filters"),
        Binding("q", "quit", "Quit", tooltip="Quit deskcli"),
    ]

    @dataclass
    class _AllIds(Message):
        filters: QueueFilters
        ids: list[str]

    def __init__(self) -> None:
        super().__init__()
        self._debounce: Timer | None = None
        #: The marked tickets, for the bulk actions. The screen's, not a widget's.
        self.selection = Selection()
        self._shown_title: Text | None = None

    @property
    def desk_app(self) -> DeskApp:
        return cast("DeskApp", self.app)

    def compose(self) -> ComposeResult:
        desk = self.desk_app.desk
        yield Static(id="queue-title")
        yield Input(placeholder="Search summary, caller, client or #number (enter: to list, "
                    "escape: clear)", id="queue-search", compact=True)
        yield QueueTable(self.desk_app.session, now=desk.now,
                         checkpoint=desk.config.checkpoint, selection=self.selection,
                         id="queue")
        yield Static(self._legend(), id="queue-legend")
        yield DeskStatusBar()
        yield DeskFooter()

    @property
    def table(self) -> QueueTable:
        return self.query_one(QueueTable)

    def on_mount(self) -> None:
        self._title(None)
        self.table.load()
        self.table.focus()
        tick = self.desk_app.tick
        if tick:
            self.set_interval(max(tick, 30.0), self.table.forget_views)

    @property
    def is_current(self) -> bool:
        """Visible to the technician: on top, or under a see-through dialog.

        Textual counts the screen just below the top one as visible whatever covers it,
        so a queue under a ticket lays itself out and, for anything it redraws (the
        refresh Textual asks of a screen it suspends, the status bar), repaints the whole
        ticket screen over it: two full paints of every ticket opened. Under an opaque
        screen the queue is hidden; it catches up when it is shown again (Textual
        refreshes a resumed screen whole)."""
        app = self.app
        if app.screen is self:
            return True
        return super().is_current and app.screen.styles.background.a < 1

    def on_screen_resume(self) -> None:
        # Textual has asked to repaint the resumed screen whole, after the layout it also
        # needs; counted among what that layout repaints, it is one paint, not two.
        self._dirty_widgets.add(self)
        if self.table.loaded:
            self.table.load()
            self.desk_app.refresh_alerts()

    def _title(self, total: int | None) -> None:
        filters = self.table.filters
        every = filters.to_store("")["statuses"] != list(OPEN_STATUSES)
        what = "Tickets" if every else "Queue"
        count = "" if total is None else f" · {total:,} {'' if every else 'open'}"
        text = Text(f" {what}{count}".rstrip(), style="bold")
        described = filters.describe(self.desk_app.session.tech)
        if described:
            text.append(f" · {described}", style="italic")
        text.append(f"   ({self.desk_app.session.tech})", style="dim")
        if text != self._shown_title:  # the same title again would cost a layout
            self._shown_title = text
            self.query_one("#queue-title", Static).update(text)

    def on_queue_table_counted(self, message: QueueTable.Counted) -> None:
        self._title(message.total)

    def on_queue_table_page_shown(self, _message: QueueTable.PageShown) -> None:
        if self.desk_app.alerts is None:  # after the first page: the queue comes first
            self.desk_app.refresh_alerts()
            self.call_after_refresh(self.desk_app.keep_heap, "queue")

    def on_queue_table_opened(self, message: QueueTable.Opened) -> None:
        self.desk_app.open_ticket(message.ref)

    # --- actions ------------------------------------------------------------------------

    def action_open(self) -> None:
        self.table.action_open()

    def action_new_ticket(self) -> None:
        from deskcli.tui.screens.intake import IntakeScreen

        self.app.push_screen(IntakeScreen())

    def action_dashboard(self) -> None:
        from deskcli.tui.screens.dashboard import DashboardScreen

        self.app.push_screen(DashboardScreen())

    def action_search(self) -> None:
        search = self.query_one("#queue-search", Input)
        search.add_class("-shown")
        search.focus()

    def action_filter(self) -> None:
        from deskcli.tui.screens.filters import FilterScreen

        def apply(filters: QueueFilters | None) -> None:
            if filters is not None:
                self.table.load(filters)
                self._title(None)

        self.app.push_screen(FilterScreen(self.table.filters), apply)

    def action_mine(self) -> None:
        current = self.table.filters
        self.table.load(replace(current, mine=not current.mine))
        self._title(None)

    def action_refresh(self) -> None:
        self.table.load()
        self.desk_app.refresh_alerts()

    def action_clear(self) -> None:
        """Escape undoes the nearest thing first: the search being typed, then the
        marks (they are what a bulk action would act on), then the search and filters."""
        search = self.query_one("#queue-search", Input)
        if search.has_focus or (search.value and not self.selection):
            search.value = ""
            search.remove_class("-shown")
            self.table.focus()
            return
        if self.selection:
            self.clear_marks()
            return
        if self.table.filters.narrowed:
            self.table.load(QueueFilters())
            self._title(None)

    # --- marks ---------------------------------------------------------------------------

    def on_queue_table_marks_changed(self, message: QueueTable.MarksChanged) -> None:
        self._show_marks()

    def _show_marks(self) -> None:
        self.query_one(DeskStatusBar).show_marked(len(self.selection))
        legend = self.query_one("#queue-legend", Static)
        legend.update(self._legend())
        legend.set_class(bool(self.selection), "-marking")
        self.table.refresh()

    def _legend(self) -> Text:
        """The SLA markers' legend; with tickets marked, the action bar instead."""
        if not self.selection:
            span = format_span(self.desk_app.desk.config.checkpoint)
            return Text(LEGEND.format(silent=SILENT_MARK, span=span))
        text = Text()
        text.append(f"{MARKED} {len(self.selection):,} marked ", style="bold")
        for key, does in ACTION_BAR:
            text.append(f"  {key}", style="bold")
            text.append(f" {does}")
        return text

    def clear_marks(self) -> None:
        count = len(self.selection)
        self.selection.clear()
        self._show_marks()
        if count:
            self.notify(f"Unmarked {count:,} ticket{'s' if count != 1 else ''}")

    def action_mark_all(self) -> None:
        """Mark every ticket the filter shows: the ids come from the store, since the
        table holds only the rows near the screen."""
        self._read_all_ids(self.desk_app.session, self.table.filters)

    @work(thread=True, exclusive=True, group="mark-all", exit_on_error=False)
    def _read_all_ids(self, session: DeskSession, filters: QueueFilters) -> None:
        try:
            ids = session.queue_ids(filters)
        except DeskError as error:
            self.app.call_from_thread(self.notify, error.message, severity="error")
            return
        self.post_message(self._AllIds(filters, ids))

    def on_queue_screen__all_ids(self, message: _AllIds) -> None:
        if message.filters != self.table.filters:
            return  # the filter changed while reading: those are not the rows shown
        added = self.selection.mark(message.ids)
        self._show_marks()
        shown = len(message.ids)
        if not shown:
            self.notify("Nothing to mark: this filter shows no tickets")
            return
        already = f" ({shown - added:,} already marked)" if added < shown else ""
        self.notify(f"Marked all {shown:,} ticket{'s' if shown != 1 else ''} this view "
                    f"shows{already}; {len(self.selection):,} marked in all")

    # --- bulk actions ----------------------------------------------------------------------

    def action_act(self) -> None:
        """The action palette for the marked tickets; each action's form, then the preview."""
        from deskcli.tui.screens.bulk_menu import BulkMenuScreen

        if not self.selection:
            self.notify("Nothing is marked: space marks the ticket under the cursor, "
                        "* everything this view shows", severity="warning")
            return
        ids = sorted(self.selection)

        def chosen(kind: str | None) -> None:
            if kind is not None:
                self.open_bulk_form(kind, ids)

        self.app.push_screen(BulkMenuScreen(len(ids)), chosen)

    def open_bulk_form(self, kind: str, ids: list[str]) -> None:
        from deskcli.tui.screens.bulk_flow import start_form
        from deskcli.tui.screens.bulk_forms import FORMS

        start_form(self.app, FORMS[kind](ids), self.after_bulk)

    def after_bulk(self, result: BulkResult) -> None:
        """Refresh, say what happened, and keep only the refused tickets marked.

        Mid-outage, the tickets a bulk action refused are the ones still to deal with
        (one has no time logged, one is waiting on a colleague): leaving exactly those
        marked lets the next action, or a look at each, start from them, while the done
        ones drop out. All done: no marks are left."""
        from deskcli.tui.screens.bulk_flow import result_notice

        refused = [o.ticket_id for o in result.refused if o.ticket_id is not None]
        self.selection.keep_only(refused)
        self._show_marks()
        self.action_refresh()
        app = self.desk_app
        if app.notify_every:
            app.run_notify()  # updates to callers go out now, not in 15 s
        message = result_notice(result)
        if len(refused) == 1:
            message += "; the refused ticket is still marked"
        elif refused:
            message += f"; the {len(refused):,} refused are still marked"
        self.notify(message, severity="warning" if refused else "information")

    async def action_quit(self) -> None:
        await self.desk_app.action_quit()

    # --- incremental search -------------------------------------------------------------

    @on(Input.Changed, "#queue-search")
    def _search_typed(self, event: Input.Changed) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        text = event.value
        self._debounce = self.set_timer(0.15, lambda: self._apply_search(text))

    def _apply_search(self, text: str) -> None:
        current = self.table.filters
        if text != current.search:
            self.table.load(replace(current, search=text))
            self._title(None)

    @on(Input.Submitted, "#queue-search")
    def _search_done(self, event: Input.Submitted) -> None:
        self._apply_search(event.value)
        self.table.focus()
