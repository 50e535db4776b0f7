"""One ticket: its checklist on the left, the chosen step's form, the timeline, the details.

The step form is built from the checklist data (``StepPanel``, ``StepForm``), so this
screen has no code for any particular step. Everything it changes goes through the ticket
service in a thread worker; a refusal comes back as a ``DeskError`` and is shown beside its
field. What is typed into a step is kept as a draft until the step is saved. A work timer
runs while the ticket is open and is offered as a time entry on the way out.

One ticket screen serves every ticket (``DeskApp.open_ticket``): it is built once, kept
when the technician goes back to the queue, and shows the next ticket with
``show_ticket``. Composing its hundred-odd widgets and styling them took most of the half
second opening a ticket used to cost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import (
    Button,
    OptionList,
    Static,
    TabbedContent,
    TabPane,
    Tabs,
)

from deskcli.domain.engine import StepState
from deskcli.domain.errors import DeskError
from deskcli.services.kb import Repeat
from deskcli.services.worktimer import WorkTimer
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
from deskcli.tui.widgets.ticket_details import render_details
from deskcli.tui.widgets.ticket_family import TicketFamily
from deskcli.tui.widgets.ticket_header import TicketHeader
from deskcli.tui.widgets.timeline import TimelineView

__all__ = ["KB_FIX_STEP", "KB_SEARCH_STEP", "KB_WRITE_STEP", "TicketScreen",
           "recorded_values"]


class TicketScreen(Screen[None]):
    CSS_PATH = "ticket.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back",
                tooltip="Leave the form for the checklist; again to go back to the queue"),
        Binding("ctrl+s", "complete", "Complete", tooltip="Complete the step shown"),
        Binding("r", "write('reply')", "Reply", tooltip="Reply to the caller (they see it)"),
        Binding("i", "write('note')", "Note", tooltip="Add an internal note (team only)"),
        Binding("u", "write('update')", "Update", show=False,
                tooltip="One-key checkpoint update to the caller (emailed when set up)"),
        Binding("o", "acknowledge_page", "On-call has it", show=False,
                tooltip="The on-call engineer has the P1: acknowledge the page"),
        Binding("s", "dialog('status')", "Status", tooltip="Change the status"),
        Binding("p", "dialog('priority')", "Priority", show=False, tooltip="Change the priority"),
        Binding("a", "dialog('assignee')", "Assign", show=False,
                tooltip="Change who owns the ticket"),
        Binding("f", "dialog('attach')", "Attach", show=False, tooltip="Attach a file"),
        Binding("t", "log_time", "Time", tooltip="Log time on the ticket"),
        Binding("x", "skip_step", "Skip step", show=False,
                tooltip="Skip the step shown, with the reason it was not done"),
        Binding("g", "dialog('csat')", "Rating", show=False,
                tooltip="Record the caller's satisfaction rating (1-5) and their words"),
        Binding("slash", "kb_search", "Search KB", show=False,
                tooltip="Search KB articles and resolved tickets for a fix"),
        Binding("w", "kb_write", "Write KB", show=False,
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
        self.timer: WorkTimer | None = None
        #: Counts the tickets this screen has shown: a read or presence answer for an
        #: earlier one (a worker still running when the next ticket opened) is dropped.
        self._opening = 0
        #: ``show_ticket`` was called: the next resume is a new ticket, not a return
        #: from a dialog on this one.
        self._fresh = True
        #: The theme the screen's styles were last worked out for (see ``_resume_styled``).
        self._styled_for: str | None = None

    @property
    def session(self) -> DeskSession:
        return desk_app(self).session

    @property
    def steps(self) -> StepPanel:
        return self.query_one(StepPanel)

    @property
    def form(self) -> StepForm | None:
        return self.steps.form

    # --- layout, and opening a ticket ---------------------------------------------------

    def compose(self) -> ComposeResult:
        session = self.session
        panel = StepPanel(session, id="step-area")
        yield TicketHeader(Text(f"{self.ref} …"), id="ticket-header")
        with Horizontal(id="ticket-body"):
            with Vertical(id="ticket-side"):
                yield Static(id="progress-line")
                yield Static(id="repeat-line")
                yield TicketFamily(id="ticket-family")
                yield ChecklistSidebar(id="checklist")
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
        yield Presence(session, every=30.0 if desk_app(self).sync_every else None)

    def on_mount(self) -> None:
        # The tab strip takes no focus (1, 2, 3 switch tabs): tab from the checklist goes
        # straight into the step, the timeline or the details, which then scroll.
        self.query_one(TabbedContent).query_one(Tabs).can_focus = False
        app = desk_app(self)
        if app.tick:
            self.set_interval(app.tick, self._tick)

    def show_ticket(self, ref: str, *, timer_started: datetime | None = None) -> None:
        """Show ``ref`` next (the screen is about to be pushed again): what the last
        ticket left is cleared, and the new one is read when the screen resumes."""
        self.ref = ref
        self.view = None
        self.selected = None
        self._advance = False
        self._timer_started = timer_started
        self.timer = None
        self._fresh = True
        header = self.query_one(TicketHeader)
        header.also_open = ()
        header.update(Text(f"{ref} …"))
        # Nothing of the last ticket shows while this one is read.
        self.query_one("#ticket-body").display = False

    @on(events.ScreenResume)
    def _resume_styled(self, event: events.ScreenResume) -> None:
        """Textual re-styles a pushed screen whole, every widget, in case the theme
        changed while it was away. This screen is pushed for every ticket opened: it is
        re-styled only when the theme did change (its own widgets restyle themselves as
        their classes change)."""
        restyle = event.refresh_styles and self._styled_for != self.app.theme
        self._styled_for = self.app.theme
        event.prevent_default()  # instead of Screen's handler, which always re-styles
        Screen._on_screen_resume(self, events.ScreenResume(refresh_styles=restyle))

    def on_screen_resume(self) -> None:
        if not self._fresh:
            return  # back from a dialog on the same ticket
        self._fresh = False
        self._opening += 1
        now = desk_app(self).desk.now
        self.timer = WorkTimer(self._timer_started or now(), now)
        self._show_timer()
        self.query_one(TabbedContent).active = "step"
        self.query_one(ChecklistSidebar).focus()
        self.load()

    def _tick(self) -> None:
        if self not in self.app.screen_stack:
            return  # kept for the next ticket, not showing one
        self._show_timer()
        if self.view is not None and self.timer and self.timer.elapsed().seconds % 30 == 0:
            self._show_header(self.view)

    def _show_timer(self) -> None:
        if self.timer is not None:
            desk_app(self).timer_text = f"{self.ref} {self.timer.display()}"

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
        self._leave()

    async def on_ticket_screen__loaded(self, message: _Loaded) -> None:
        if message.opening != self._opening:
            return  # read for a ticket shown before this one
        if message.header_only and self.view is not None:
            self.view.extra.update(message.view.extra)
            self._show_header(message.view)
            return
        with self.app.batch_update():  # one paint for the whole ticket, not one per part
            await self._show_view(message.view)

    async def _show_view(self, view: TicketView) -> None:
        self.view = view
        self.query_one(Presence).enter(view.ticket["id"])
        self.ref = view.detail.ref
        self._show_header(view)
        progress = view.detail.progress
        self.query_one("#progress-line", Static).update(Text(
            f"Checklist: {progress.done} of {progress.applicable} done", style="bold"))
        self._show_repeat(view.extra.get("repeat"))
        self.query_one(TicketFamily).show(view.ticket)  # parent, children: read on its own
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
        self.query_one(ChecklistSidebar).show_progress(progress, self.selected)
        self.query_one(TimelineView).show(view.detail.timeline, view.detail.timeline_more,
                                          ticket_id=view.ticket["id"])
        self.query_one("#details-text", Static).update(render_details(view))
        await self.show_step(self.selected)
        self.query_one("#ticket-body").display = True
        if advanced:
            self._focus_step()

    def _focus_step(self) -> None:
        """After a save, straight on to the next step's first field: focus left on the
        page would turn the next typed letters into hotkeys. With nothing left to fill
        in (every step settled), the checklist takes it."""
        form = self.form
        state = self.view.detail.progress.of(form.step.key).state if (
            form is not None and self.view is not None) else None
        if form is not None and form.step.fields and state in (StepState.CURRENT,
                                                                StepState.TODO):
            form.focus_first()
        else:
            self.query_one(ChecklistSidebar).focus()

    def on_presence_changed(self, message: Presence.Changed) -> None:
        """Who else has the ticket open (team server): say so once, show it in the header."""
        header = self.query_one(TicketHeader)
        if message.others == header.also_open:
            return
        if message.others:
            self.app.notify(f"{', '.join(message.others)} also has {self.ref} open",
                            severity="warning")
        header.also_open = message.others
        if self.view is not None:
            self._show_header(self.view)

    def _show_header(self, view: TicketView) -> None:
        desk = desk_app(self).desk
        self.query_one(TicketHeader).show_view(view, desk.now(), desk.config.checkpoint)

    # --- the step area ------------------------------------------------------------------

    async def show_step(self, step_key: str) -> None:
        """Show ``step_key``: its form (drafts over recorded values), or why it is skipped."""
        assert self.view is not None
        self.selected = step_key
        await self.steps.show(self.view.detail, self.view.step_values, step_key)

    @on(OptionList.OptionSelected, "#checklist")
    async def _step_chosen(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is None or self.view is None:
            return
        await self.show_step(event.option.id)
        self.action_tab("step")
        if self.form is not None:
            self.form.focus_first()
        if event.option.id == KB_SEARCH_STEP:
            self.action_kb_search()  # the step is the search: start it, pre-filled

    def action_complete(self) -> None:
        self.steps.submit()

    def on_step_panel_skip_wanted(self, _message: StepPanel.SkipWanted) -> None:
        self.action_skip_step()

    def on_step_panel_completed(self, message: StepPanel.Completed) -> None:
        self.app.notify(f"Step done: {message.title}")
        self._advance = True
        self._after(True)

    # --- leaving, and the work timer ----------------------------------------------------

    def offers_time(self) -> bool:
        """A glance at a ticket is not work: offer time only after a full minute on it."""
        return self.timer is not None and self.timer.elapsed().total_seconds() >= 60

    def offer_time(self, then: Callable[[], object]) -> None:
        """Offer the timer's reading as an editable time entry, then carry on."""
        from deskcli.tui.screens.time_entry import TimeEntryScreen

        assert self.timer is not None
        suggested, elapsed = self.timer.entry_text(), self.timer.display()
        self.timer = None  # asked once; the answer stands

        def done(_logged: bool | None) -> None:
            desk_app(self).timer_text = ""
            then()

        self.app.push_screen(TimeEntryScreen(self.ref, suggested=suggested, elapsed=elapsed,
                                             leaving=True), done)

    def _leave(self) -> None:
        desk_app(self).timer_text = ""
        self.timer = None
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
            self.offer_time(then=self._leave)
        else:
            self._leave()

    # --- actions on the ticket ----------------------------------------------------------

    def _after(self, changed: bool | None) -> None:
        if changed:
            self.load()
            app = desk_app(self)
            app.refresh_alerts()
            if app.notify_every:
                app.run_notify()  # what the change queued goes out now, not in 15 s

    def action_write(self, kind: str) -> None:
        """Write to the ticket: a ``reply`` the caller sees, an internal ``note``, or the
        communication checkpoint's one-key ``update`` (a reply that starts from the
        'working' canned response, ready to send with ctrl+s or to edit first)."""
        from deskcli.tui.screens.note import NoteScreen

        if self.view is not None:
            self.app.push_screen(NoteScreen(
                self.ref, self.view.ticket["id"], public=kind != "note",
                initial="/working " if kind == "update" else None), self._after)

    def action_acknowledge_page(self) -> None:
        self._acknowledge(self.session, self.ref)

    @work(thread=True, exclusive=True, group="ticket-write")
    def _acknowledge(self, session: DeskSession, ref: str) -> None:
        try:
            session.acknowledge_page(ref)
        except DeskError as error:
            self.app.call_from_thread(self.app.notify, error.message, severity="warning")
            return
        self.app.call_from_thread(self.app.notify, f"{ref}: page acknowledgement queued")
        self.app.call_from_thread(self._after, True)

    def action_dialog(self, name: str) -> None:
        """Open one of the ticket's small dialogs (status, priority, assignee, attach a
        file, satisfaction rating); whatever it changes reloads the ticket."""
        from deskcli.tui.screens.assignee import AssigneeScreen
        from deskcli.tui.screens.attach import AttachScreen
        from deskcli.tui.screens.csat import CsatScreen
        from deskcli.tui.screens.priority import PriorityScreen
        from deskcli.tui.screens.status import StatusScreen

        if self.view is None:
            return
        ticket, ref = self.view.ticket, self.ref
        dialogs: dict[str, Callable[[], Screen[bool]]] = {
            "status": lambda: StatusScreen(ref, ticket["status"]),
            "priority": lambda: PriorityScreen(ref, ticket["priority"]),
            "assignee": lambda: AssigneeScreen(ref, ticket["assignee"]),
            "attach": lambda: AttachScreen(ref),
            "csat": lambda: CsatScreen(ref),
        }
        self.app.push_screen(dialogs[name](), self._after)

    def action_log_time(self) -> None:
        """Log time, pre-filled from the running timer. What is logged here is not
        offered again on the way out: the timer restarts from now."""
        from deskcli.tui.screens.time_entry import TimeEntryScreen

        suggested = self.timer.entry_text() if self.timer is not None else ""

        def logged(changed: bool | None) -> None:
            if changed:
                now = desk_app(self).desk.now
                self.timer = WorkTimer(now(), now)
                self._show_timer()
                if self.view is not None and self.selected is not None and (
                        self.view.detail.progress.of(self.selected).state
                        in (StepState.DONE, StepState.SKIPPED)):
                    self._advance = True  # time was what the close step waited for
            self._after(changed)

        self.app.push_screen(TimeEntryScreen(self.ref, suggested=suggested), logged)

    def action_skip_step(self) -> None:
        """Skip the step shown, with a required reason (the domain refuses a blank one)."""
        from deskcli.tui.screens.skip_step import SkipStepScreen

        if self.view is None or self.selected is None:
            return
        step = self.view.detail.progress.of(self.selected).step

        def skipped(changed: bool | None) -> None:
            if changed:
                self._advance = True
            self._after(changed)

        self.app.push_screen(SkipStepScreen(self.ref, step.key, step.title), skipped)

    def _show_repeat(self, repeat: Repeat | None) -> None:
        """Repeat detection: this error was fixed before; say how often, and the fix."""
        line = self.query_one("#repeat-line", Static)
        line.display = repeat is not None
        if repeat is None:
            return
        times = "once" if repeat.count == 1 else f"{repeat.count} times"
        text = Text(f"⟳ Seen {times} before", style="bold")
        text.append(f" ({', '.join(repeat.codes)})\n")
        text.append(f"latest {repeat.latest_ref}: ", "bold")
        text.append(repeat.latest_fix or "no fix recorded")
        text.append("  · / to search", "dim")
        line.update(text)

    # --- the knowledge base (KbActions runs the flows; the step forms take the results) --

    @on(Button.Pressed, "#kb-open")
    def action_kb_search(self) -> None:
        self.query_one(KbActions).search(self.view)

    @on(Button.Pressed, "#kb-write")
    def action_kb_write(self) -> None:
        if self.view is not None:
            self.query_one(KbActions).write(self.ref)

    def on_kb_actions_cited(self, _message: KbActions.Cited) -> None:
        self.action_tab("step")

    def on_kb_actions_changed(self, _message: KbActions.Changed) -> None:
        self.load()

    def action_current_step(self) -> None:
        if self.view is not None and self.view.detail.progress.current is not None:
            key = self.view.detail.progress.current.step.key
            self.run_worker(self.show_step(key))
            self.query_one(ChecklistSidebar).highlighted = (
                self.query_one(ChecklistSidebar).get_option_index(key))

    def action_tab(self, name: str) -> None:
        self.query_one(TabbedContent).active = name
        if name == "timeline":
            self.query_one(TimelineView).focus()  # up/down/page keys scroll it at once
        elif name == "details":
            self.query_one("#details-scroll", VerticalScroll).focus()
