"""One ticket: its checklist on the left, the chosen step's form, the timeline, the details.

The screen coordinates widgets that each own one part: ``TicketHeader`` (who, what, the
SLA clocks), ``TicketSide`` (progress, repeats, parent and children, the checklist),
``StepPanel`` (the chosen step's form, built from the checklist data, so this screen has
no code for any particular step), ``TimelineView``, ``TicketActions`` (the small
dialogs), ``KbActions`` (the knowledge-base flows), ``WorkClock`` (the work timer,
offered as a time entry on the way out) and ``Presence`` (who else has it open).
Everything they change goes through the services in thread workers; a refusal comes back
as a ``DeskError`` and is shown beside its field.

One ticket screen serves every ticket (``DeskApp.open_ticket``): it is built once, kept
when the technician goes back to the queue, and shows the next ticket with
``show_ticket``, which reads it before the screen is pushed again. Composing its
hundred-odd widgets and styling them took most of the half second opening a ticket used
to cost.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Self

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.geometry import Region
from textual.message import Message
from textual.screen import Screen
from textual.widgets import ContentSwitcher, OptionList, Static, TabbedContent, TabPane, Tabs

from deskcli.domain.engine import StepState
from deskcli.domain.errors import DeskError
from deskcli.tui.screens.context import desk_app
from deskcli.tui.session import DeskSession, TicketView
from deskcli.tui.widgets.checklist_sidebar import ChecklistSidebar
from deskcli.tui.widgets.footer import DeskFooter
from deskcli.tui.widgets.kb_actions import KbActions
from deskcli.tui.widgets.presence import Presence
from deskcli.tui.widgets.status_bar import DeskStatusBar
from deskcli.tui.widgets.step_form import StepForm
from deskcli.tui.widgets.step_panel import (
    KB_FIX_STEP,
    KB_SEARCH_STEP,
    KB_WRITE_STEP,
    StepPanel,
    recorded_values,
)
from deskcli.tui.widgets.ticket_actions import TicketActions
from deskcli.tui.widgets.ticket_details import render_details
from deskcli.tui.widgets.ticket_header import TicketHeader
from deskcli.tui.widgets.ticket_side import TicketSide
from deskcli.tui.widgets.timeline import TimelineView
from deskcli.tui.widgets.work_clock import WorkClock

__all__ = ["KB_FIX_STEP", "KB_SEARCH_STEP", "KB_WRITE_STEP", "TicketScreen",
           "recorded_values"]


class TicketScreen(Screen[None]):
    CSS_PATH = "ticket.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back",
                tooltip="Leave the form for the checklist; again to go back to the queue"),
        Binding("ctrl+s", "complete", "Complete", tooltip="Complete the step shown"),
        Binding("r", "dialog('reply')", "Reply", tooltip="Reply to the caller (they see it)"),
        Binding("i", "dialog('note')", "Note", tooltip="Add an internal note (team only)"),
        Binding("u", "dialog('update')", "Update", show=False,
                tooltip="One-key checkpoint update to the caller (emailed when set up)"),
        Binding("o", "dialog('page_ack')", "On-call has it", show=False,
                tooltip="The on-call engineer has the P1: acknowledge the page"),
        Binding("s", "dialog('status')", "Status", tooltip="Change the status"),
        Binding("p", "dialog('priority')", "Priority", show=False, tooltip="Change the priority"),
        Binding("a", "dialog('assignee')", "Assign", show=False,
                tooltip="Change who owns the ticket"),
        Binding("f", "dialog('attach')", "Attach", show=False, tooltip="Attach a file"),
        Binding("t", "dialog('time')", "Time", tooltip="Log time on the ticket"),
        Binding("x", "dialog('skip')", "Skip step", show=False,
                tooltip="Skip the step shown, with the reason it was not done"),
        Binding("g", "dialog('csat')", "Rating", show=False,
                tooltip="Record the caller's satisfaction rating (1-5) and their words"),
        Binding("slash", "dialog('kb_search')", "Search KB", show=False,
                tooltip="Search KB articles and resolved tickets for a fix"),
        Binding("w", "dialog('kb_write')", "Write KB", show=False,
                tooltip="Write the KB article for this ticket (or fix the linked one)"),
        Binding("c", "current_step", "Current step", show=False,
                tooltip="Go to the current step of the checklist"),
        Binding("1", "tab('step')", "Step", show=False, tooltip="Show the step form"),
        Binding("2", "tab('timeline')", "Timeline", show=False, tooltip="Show the timeline"),
        Binding("3", "tab('details')", "Details", show=False,
                tooltip="Show everything recorded on the ticket"),
    ]

    @dataclass
    class _Loaded(Message):
        view: TicketView
        opening: int
        header_only: bool = False

    @dataclass
    class _LoadFailed(Message):
        error: DeskError
        opening: int

    def __init__(self, ref: str, *, timer_started: datetime | None = None) -> None:
        super().__init__()
        self.ref = ref
        self.view: TicketView | None = None
        self.selected: str | None = None
        self._advance = False
        self._timer_started = timer_started
        #: Counts the tickets this screen has shown: a read or presence answer for an
        #: earlier one (a worker still running when the next ticket opened) is dropped.
        self._opening = 0
        #: Nothing read yet for ``ref``: the next resume starts on it.
        self._fresh = True
        #: The next resume is the ticket arriving (focus and tab set for it).
        self._arriving = False
        #: What shows the screen once the ticket is read (``show_ticket``).
        self._then: Callable[[], object] | None = None
        #: The theme the screen's styles were last worked out for (see ``_resume_styled``).
        self._styled_for: str | None = None
        #: The tabs (timeline, details) not yet drawn for the ticket shown: they are
        #: drawn when shown (``_tab_shown``), not while the ticket's first paint waits.
        self._stale_tabs: set[str] = set()
        #: Textual's resume handler is running (see ``refresh``).
        self._resuming = False

    @property
    def session(self) -> DeskSession:
        return desk_app(self).session

    @property
    def form(self) -> StepForm | None:
        return self.query_one(StepPanel).form

    # --- layout, and opening a ticket ---------------------------------------------------

    def compose(self) -> ComposeResult:
        session = self.session
        panel = StepPanel(session, id="step-area")
        header = TicketHeader(Text(f"{self.ref} …"), id="ticket-header")
        clock = WorkClock(half_minute=header.redraw)
        yield header
        with Horizontal(id="ticket-body"):
            yield TicketSide(id="ticket-side")
            with TabbedContent(id="ticket-tabs", initial="step"):
                with TabPane("1 Step", id="step"):
                    yield panel
                with TabPane("2 Timeline", id="timeline"):
                    yield TimelineView(session.earlier_events, id="timeline-view")
                with TabPane("3 Details", id="details"):
                    with VerticalScroll(id="details-scroll"):
                        yield Static(id="details-text")
        yield DeskStatusBar()
        yield DeskFooter()
        yield KbActions(session, panel)
        yield clock
        yield TicketActions(session, clock)
        yield Presence(session, every=30.0 if desk_app(self).sync_every else None)

    def on_mount(self) -> None:
        # The tab strip takes no focus (1, 2, 3 switch tabs): tab from the checklist goes
        # straight into the step, the timeline or the details, which then scroll.
        self.query_one(TabbedContent).query_one(Tabs).can_focus = False
        # Called as the tab switches (a key, a click, a focused field), before anything
        # paints: a tab left stale by ``_show_view`` never shows its old ticket.
        self.watch(self.query_one("#ticket-tabs > ContentSwitcher", ContentSwitcher),
                   "current", self._tab_shown, init=False)

    def show_ticket(self, ref: str, *, timer_started: datetime | None = None,
                    then: Callable[[], object] | None = None) -> None:
        """Show ``ref`` next, on this screen kept from an earlier ticket.

        What the last ticket left is cleared and the new one is read while the screen is
        still off the stack; ``then`` (which pushes it) runs once it is read, and the
        screen is filled in before anything paints, so the technician's first sight of it
        is the whole ticket, drawn once. Without ``then`` the screen is read when it is
        next resumed, as a new screen is."""
        self.ref = ref
        self.view = None
        self.selected = None
        self._advance = False
        self._timer_started = timer_started
        self.query_one(WorkClock).timer = None
        self._fresh = True
        self._then = None
        self.query_one(TicketHeader).clear(ref, redraw=then is None)
        if then is not None:
            # Off the stack until this ticket is filled in: nothing stale can show.
            self._then = then
            self._start()
            return
        # Nothing of the last ticket shows while this one is read.
        self.query_one("#ticket-body").display = False

    def _start(self) -> None:
        """Start on the ticket named by ``ref``: its work timer, and the read."""
        self._fresh = False
        self._arriving = True
        self._opening += 1
        self.query_one(WorkClock).start(self.ref, self._timer_started)
        self.load()

    @on(events.ScreenResume)
    def _resume_styled(self, event: events.ScreenResume) -> None:
        """Textual re-styles a pushed screen whole, every widget, in case the theme
        changed while it was away. This screen is pushed for every ticket opened: it is
        re-styled only when the theme did change (its own widgets restyle themselves as
        their classes change)."""
        restyle = event.refresh_styles and self._styled_for != self.app.theme
        self._styled_for = self.app.theme
        event.prevent_default()  # instead of Screen's handler, which always re-styles
        self._resuming = not restyle
        try:
            Screen._on_screen_resume(self, events.ScreenResume(refresh_styles=restyle))
        finally:
            self._resuming = False
        # That handler asks for the whole screen to be repainted (the terminal still
        # shows the queue). Textual lays out the new ticket first and paints what the
        # layout changed, then paints the whole screen again for that request: two
        # paints for one arrival. Counting the screen among what the layout repaints
        # makes the layout's paint the whole screen, and the second finds nothing left.
        self._dirty_widgets.add(self)

    def refresh(self, *regions: Region, repaint: bool = True, layout: bool = False,
                recompose: bool = False) -> Self:
        """As ``Widget.refresh``, except for the whole-screen repaint resuming asks for.

        The terminal still shows the queue, so the whole screen is painted next; but
        that request also threw away the screen's own rendered lines (its background,
        forty lines under every widget, unchanged unless the theme or the size did,
        which re-style or lay out the screen anyway), and rendering them again was
        about a twentieth of every open. Here the whole screen is marked for the next
        paint and those lines are kept."""
        if self._resuming and repaint and not (regions or layout or recompose):
            whole = self.outer_size.region
            self._dirty_regions.add(whole)
            self._repaint_regions.add(whole)
            self._repaint_required = True
            self.check_idle()
            return self
        return super().refresh(*regions, repaint=repaint, layout=layout,
                               recompose=recompose)

    def on_screen_resume(self) -> None:
        if self._fresh:  # a new screen, or ``show_ticket`` without ``then``
            self._start()
        if not self._arriving:
            return  # back from a dialog on the same ticket
        self._arriving = False
        self.query_one(WorkClock).show()
        self.query_one(TabbedContent).active = "step"
        self.query_one(ChecklistSidebar).focus()

    # --- loading ------------------------------------------------------------------------

    def load(self) -> None:
        self._read(self.session, self.ref, self._opening)

    def refresh_header(self) -> None:
        """Read the ticket again but redraw only its header (the page state moving on
        in the background): the step form being typed in is left alone."""
        self._read(self.session, self.ref, self._opening, header_only=True)

    @work(thread=True, exclusive=True, group="ticket-load")
    def _read(self, session: DeskSession, ref: str, opening: int,
              header_only: bool = False) -> None:
        try:
            self.post_message(self._Loaded(session.ticket_view(ref), opening, header_only))
        except DeskError as error:
            self.post_message(self._LoadFailed(error, opening))

    def on_ticket_screen__load_failed(self, message: _LoadFailed) -> None:
        if message.opening != self._opening:
            return
        self.app.notify(message.error.message, severity="error")
        if self._then is not None:
            self._then = None  # never shown: the queue stays as it was
            self.query_one(WorkClock).timer = None
        else:
            self._leave()

    async def on_ticket_screen__loaded(self, message: _Loaded) -> None:
        if message.opening != self._opening:
            return  # read for a ticket shown before this one
        if message.header_only and self.view is not None:
            self.view.extra.update(message.view.extra)
            self.query_one(TicketHeader).show(message.view)
            return
        then, self._then = self._then, None
        with self.app.batch_update():  # one paint for the whole ticket, not one per part
            if then is not None:
                # Pushed first and filled in before anything paints: the screen is laid
                # out once with the new ticket, not once on arrival and again for it.
                then()
            await self._show_view(message.view)
            if then is not None:
                # Let the widgets just filled report what they need redrawn before the
                # batch ends: one layout and one paint, not one for the first few to
                # report and another for the rest.
                for _ in range(3):
                    await asyncio.sleep(0)
        # The screen is kept for the next ticket: out of the collector's full passes.
        self.call_after_refresh(desk_app(self).keep_heap, "ticket")

    async def _show_view(self, view: TicketView) -> None:
        self.view = view
        self.query_one(Presence).enter(view.ticket["id"])
        self.ref = self.query_one(WorkClock).ref = view.detail.ref
        self.query_one(TicketHeader).show(view)
        progress = view.detail.progress
        advanced = self._advance
        if self._advance or self.selected is None:
            # The step to do next; with none open, the first one held up (it says why:
            # "no time is logged" before closing).
            current = progress.current or next(
                (i for i in progress.items
                 if i.state is StepState.BLOCKED and not i.undecided), None)
            self.selected = current.step.key if current else self.selected
            self._advance = False
        if self.selected is None:  # every step done or skipped: show the last one
            self.selected = progress.items[-1].step.key
        self.query_one(TicketSide).show(view, self.selected)
        # The timeline and the details are drawn when their tab is shown; a ticket
        # arriving opens on the step tab, so only a reload with one of them in view
        # draws it now.
        self._stale_tabs = {"timeline", "details"}
        self.query_one(TimelineView).show(view.detail.timeline, view.detail.timeline_more,
                                          ticket_id=view.ticket["id"], draw=False)
        tabs = self.query_one(TabbedContent)
        if self._arriving:
            tabs.active = "step"  # as resuming sets it, but before anything can paint
        else:
            self._tab_shown(tabs.active)
        await self.query_one(StepPanel).show(view.detail, view.step_values, self.selected)
        self.query_one("#ticket-body").display = True
        if advanced and not self.query_one(StepPanel).focus_form():
            # After a save, straight on to the next step's first field (focus left on
            # the page would turn the next typed letters into hotkeys); with nothing
            # left to fill in, the checklist takes it.
            self.query_one(ChecklistSidebar).focus()

    def _tab_shown(self, tab: str | None) -> None:
        """Draw the ticket's timeline or details as their tab comes into view, if the
        ticket shown has not drawn them yet."""
        if tab not in self._stale_tabs or self.view is None:
            return
        self._stale_tabs.discard(tab)
        if tab == "timeline":
            self.query_one(TimelineView).draw_pending()
        elif tab == "details":
            self.query_one("#details-text", Static).update(render_details(self.view))

    def on_presence_changed(self, message: Presence.Changed) -> None:
        """Who else has the ticket open (team server): say so once, show it in the header."""
        if self.query_one(TicketHeader).show_others(message.others) and message.others:
            self.app.notify(f"{', '.join(message.others)} also has {self.ref} open",
                            severity="warning")

    # --- the step area ------------------------------------------------------------------

    @on(OptionList.OptionSelected, "#checklist")
    async def _step_chosen(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is None or self.view is None:
            return
        self.selected = event.option.id
        await self.query_one(StepPanel).show(self.view.detail, self.view.step_values,
                                             event.option.id)
        self.action_tab("step")
        if self.form is not None:
            self.form.focus_first()
        if event.option.id == KB_SEARCH_STEP:
            self.action_dialog("kb_search")  # the step is the search: start it, pre-filled

    def action_complete(self) -> None:
        self.query_one(StepPanel).submit()

    def on_step_panel_completed(self, message: StepPanel.Completed) -> None:
        self.app.notify(f"Step done: {message.title}")
        self.on_ticket_actions_changed(TicketActions.Changed(advance=True))

    def action_current_step(self) -> None:
        if self.view is not None and self.view.detail.progress.current is not None:
            key = self.view.detail.progress.current.step.key
            self.selected = key
            self.run_worker(self.query_one(StepPanel).show(
                self.view.detail, self.view.step_values, key))
            sidebar = self.query_one(ChecklistSidebar)
            sidebar.highlighted = sidebar.get_option_index(key)

    def action_tab(self, name: str) -> None:
        self.query_one(TabbedContent).active = name
        if name == "timeline":
            self.query_one(TimelineView).focus()  # up/down/page keys scroll it at once
        elif name == "details":
            self.query_one("#details-scroll", VerticalScroll).focus()

    # --- leaving ------------------------------------------------------------------------

    def offers_time(self) -> bool:
        """Leaving would offer the work timer's reading as a time entry."""
        return self.query_one(WorkClock).offers_time()

    def _leave(self) -> None:
        self.query_one(WorkClock).stop()
        self.query_one(Presence).leave()
        self.app.pop_screen()

    def action_back(self) -> None:
        """First escape leaves the form for the checklist; the next leaves the ticket."""
        focused = self.focused
        sidebar = self.query_one(ChecklistSidebar)
        if focused is not None and focused is not sidebar:
            sidebar.focus()
            return
        if self.offers_time():
            self.query_one(WorkClock).offer_time(then=self._leave)
        else:
            self._leave()

    # --- actions on the ticket (TicketActions and KbActions run them) -------------------

    def action_dialog(self, name: str) -> None:
        """Open one of the ticket's dialogs (``ticket_actions.DIALOGS``), or the
        knowledge base's search or editor; whatever they change reloads the ticket."""
        if name == "kb_search":
            self.query_one(KbActions).search(self.view)
        elif self.view is None:
            return
        elif name == "kb_write":
            self.query_one(KbActions).write(self.ref)
        else:
            self.query_one(TicketActions).open(name, self.view, self.selected)

    def on_ticket_actions_changed(self, message: TicketActions.Changed) -> None:
        self._advance = self._advance or message.advance
        self.load()
        app = desk_app(self)
        app.refresh_alerts()
        if app.notify_every:
            app.run_notify()  # what the change queued goes out now, not in 15 s

    def on_kb_actions_cited(self, _message: KbActions.Cited) -> None:
        self.action_tab("step")

    def on_kb_actions_changed(self, _message: KbActions.Changed) -> None:
        self.load()
