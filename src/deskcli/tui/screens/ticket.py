"""One ticket: its checklist on the left, the chosen step's form, the timeline, the details.

The step form is built from the checklist data (see ``StepForm``), so this screen has no
code for any particular step. Everything it changes goes through the ticket service in a
thread worker; a refusal comes back as a ``DeskError`` and is shown beside its field. What
is typed into a step is kept as a draft until the step is saved. A work timer runs while
the ticket is open and is offered as a time entry on the way out.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import (
    Button,
    Footer,
    OptionList,
    Static,
    TabbedContent,
    TabPane,
    Tabs,
)

from deskcli.domain import engine
from deskcli.domain.checklist import FieldKind, StepSpec
from deskcli.domain.engine import StepState
from deskcli.domain.errors import DeskError
from deskcli.domain.kb import prefill_query
from deskcli.services.kb import Repeat
from deskcli.services.worktimer import WorkTimer
from deskcli.storage.store import Row
from deskcli.tui.screens.context import desk_app
from deskcli.tui.screens.kb_editor import KbSaved
from deskcli.tui.screens.kb_search import KbPick
from deskcli.tui.session import DeskSession, TicketView
from deskcli.tui.widgets.checklist_sidebar import ChecklistSidebar
from deskcli.tui.widgets.field_error import show_desk_error
from deskcli.tui.widgets.status_bar import DeskStatusBar
from deskcli.tui.widgets.step_form import StepForm, StepWarning
from deskcli.tui.widgets.ticket_details import render_details
from deskcli.tui.widgets.ticket_family import TicketFamily
from deskcli.tui.widgets.ticket_header import TicketHeader
from deskcli.tui.widgets.timeline import TimelineView

#: The checklist steps the knowledge base serves: search, follow the runbook, write it up.
KB_SEARCH_STEP, KB_FIX_STEP, KB_WRITE_STEP = "search_kb", "apply_fix", "update_kb"

#: Ticket columns for the ``maps_to`` names whose column is named differently.
COLUMN = {"client": "client_name"}


def recorded_values(step: StepSpec, ticket: Row) -> dict[str, Any]:
    """Prefill a step's mapped fields from the ticket, so the form shows what is already
    known (the caller's words recorded at intake are never typed twice)."""
    values: dict[str, Any] = {}
    for spec in step.fields:
        if spec.maps_to:
            value = ticket.get(COLUMN.get(spec.maps_to, spec.maps_to))
            if value not in (None, ""):
                values[spec.key] = value
    return values


NOTICES = {
    StepState.DONE: ("done", "✓ Done. Change anything below and press ctrl+s to record "
                             "it again."),
    StepState.BLOCKED: ("blocked", "✗ Blocked: {reason}"),
    StepState.TODO: ("todo", "· Not the current step yet; you can still complete it now."),
}


class TicketScreen(Screen[None]):
    CSS_PATH = "ticket.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back",
                tooltip="Leave the form for the checklist; again to go back to the queue"),
        Binding("ctrl+s", "complete", "Complete", tooltip="Complete the step shown"),
        Binding("r", "reply", "Reply", tooltip="Reply to the caller (they see it)"),
        Binding("i", "note", "Note", tooltip="Add an internal note (team only)"),
        Binding("u", "update", "Update", show=False,
                tooltip="One-key checkpoint update to the caller (emailed when set up)"),
        Binding("o", "acknowledge_page", "On-call has it", show=False,
                tooltip="The on-call engineer has the P1: acknowledge the page"),
        Binding("s", "status", "Status", tooltip="Change the status"),
        Binding("p", "priority", "Priority", show=False, tooltip="Change the priority"),
        Binding("a", "assignee", "Assign", show=False, tooltip="Change who owns the ticket"),
        Binding("f", "attach", "Attach", show=False, tooltip="Attach a file"),
        Binding("t", "log_time", "Time", tooltip="Log time on the ticket"),
        Binding("x", "skip_step", "Skip step", show=False,
                tooltip="Skip the step shown, with the reason it was not done"),
        Binding("g", "csat", "Rating", show=False,
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
        header_only: bool = False

    @dataclass
    class _LoadFailed(Message):
        error: DeskError

    @dataclass
    class _Presence(Message):
        others: tuple[str, ...]

    @dataclass
    class _StepDone(Message):
        step_key: str
        title: str

    @dataclass
    class _StepRefused(Message):
        step_key: str
        error: DeskError

    @dataclass
    class _KbLinked(Message):
        pick: KbPick
        created: bool

    @dataclass
    class _KbRefused(Message):
        error: DeskError

    def __init__(self, ref: str, *, timer_started: datetime | None = None) -> None:
        super().__init__()
        self.ref = ref
        self.view: TicketView | None = None
        self.selected: str | None = None
        self._advance = False
        self._timer_started = timer_started
        self.timer: WorkTimer | None = None

    @property
    def session(self) -> DeskSession:
        return desk_app(self).session

    # --- layout -------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield TicketHeader(Text(f"{self.ref} …"), id="ticket-header")
        with Horizontal(id="ticket-body"):
            with Vertical(id="ticket-side"):
                yield Static(id="progress-line")
                yield Static(id="repeat-line")
                yield TicketFamily(id="ticket-family")
                yield ChecklistSidebar(id="checklist")
            with TabbedContent(id="ticket-tabs", initial="step"):
                with TabPane("1 Step", id="step"):
                    yield VerticalScroll(id="step-area")
                with TabPane("2 Timeline", id="timeline"):
                    yield TimelineView(id="timeline-view")
                with TabPane("3 Details", id="details"):
                    with VerticalScroll(id="details-scroll"):
                        yield Static(id="details-text")
        yield DeskStatusBar()
        yield Footer()

    def on_mount(self) -> None:
        app = desk_app(self)
        now = app.desk.now
        # The tab strip takes no focus (1, 2, 3 switch tabs): tab from the checklist goes
        # straight into the step, the timeline or the details, which then scroll.
        self.query_one(TabbedContent).query_one(Tabs).can_focus = False
        self.timer = WorkTimer(self._timer_started or now(), now)
        self._show_timer()
        self.query_one(ChecklistSidebar).focus()
        self.load()
        if app.tick:
            self.set_interval(app.tick, self._tick)

    def _tick(self) -> None:
        self._show_timer()
        if self.view is not None and self.timer and self.timer.elapsed().seconds % 30 == 0:
            self._show_header(self.view)

    def _show_timer(self) -> None:
        if self.timer is not None:
            desk_app(self).timer_text = f"{self.ref} {self.timer.display()}"

    # --- loading ------------------------------------------------------------------------

    def load(self) -> None:
        self._read(self.session, self.ref)

    def refresh_header(self) -> None:
        """Read the ticket again but redraw only its header (the page state moving on
        in the background): the step form being typed in is left alone."""
        self._read(self.session, self.ref, header_only=True)

    @work(thread=True, exclusive=True, group="ticket-load")
    def _read(self, session: DeskSession, ref: str, header_only: bool = False) -> None:
        try:
            self.post_message(self._Loaded(session.ticket_view(ref), header_only))
        except DeskError as error:
            self.post_message(self._LoadFailed(error))

    def on_ticket_screen__load_failed(self, message: _LoadFailed) -> None:
        self.app.notify(message.error.message, severity="error")
        self._leave()

    async def on_ticket_screen__loaded(self, message: _Loaded) -> None:
        if message.header_only and self.view is not None:
            self.view.extra.update(message.view.extra)
            self._show_header(message.view)
            return
        first = self.view is None
        view = self.view = message.view
        app = desk_app(self)
        if first and app.sync_every:
            # Collision detection: tell the team server we are here, every half minute.
            ticket_id = view.ticket["id"]
            self._announce(self.session, ticket_id)
            self.set_interval(30.0, lambda: self._announce(self.session, ticket_id))
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
        self.query_one(TimelineView).show(view.detail.timeline)
        self.query_one("#details-text", Static).update(render_details(view))
        await self.show_step(self.selected)
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

    @work(thread=True, exclusive=True, group="presence", exit_on_error=False)
    def _announce(self, session: DeskSession, ticket_id: str) -> None:
        self.post_message(self._Presence(tuple(session.presence(ticket_id))))

    def on_ticket_screen__presence(self, message: _Presence) -> None:
        header = self.query_one(TicketHeader)
        if message.others == header.also_open:
            return
        if message.others:
            self.app.notify(f"{', '.join(message.others)} also has {self.ref} open",
                            severity="warning")
        header.also_open = message.others
        if self.view is not None:
            self._show_header(self.view)

    def on_unmount(self) -> None:
        if self.view is not None and desk_app(self).sync_every:
            session, ticket_id = self.session, self.view.ticket["id"]
            # Leaving: say so, off the UI thread; a failure only delays the expiry.
            threading.Thread(target=session.presence, args=(ticket_id,),
                             kwargs={"leave": True}, daemon=True).start()

    def _show_header(self, view: TicketView) -> None:
        desk = desk_app(self).desk
        self.query_one(TicketHeader).show_view(view, desk.now(), desk.config.checkpoint)

    # --- the step area ------------------------------------------------------------------

    @property
    def form(self) -> StepForm | None:
        forms = self.query(StepForm)
        return forms.first() if forms else None

    async def show_step(self, step_key: str) -> None:
        """Show ``step_key``: its form (drafts over recorded values), or why it is skipped."""
        assert self.view is not None
        item = self.view.detail.progress.of(step_key)
        self.selected = step_key
        area = self.query_one("#step-area", VerticalScroll)
        await area.remove_children()
        step = item.step
        if item.state is StepState.SKIPPED and not item.by_hand:
            await area.mount(
                Static(Text(step.title, style="bold")),
                Static(Text(f"– Not needed on this ticket: {item.reason}"),
                       classes="step-skipped"))
            return
        # What the ticket already records, then what this step recorded, then the draft.
        values = recorded_values(step, self.view.ticket)
        # Fields that start from an earlier step's record (reproduce notes → repro steps).
        values.update(engine.prefilled(step, self.view.step_values))
        values.update(self.view.step_values.get(step_key, {}))
        values.update(self.session.drafts.step(self.view.ticket["id"], step_key))
        kind, notice = NOTICES.get(item.state, ("", ""))
        if item.by_hand:
            kind, notice = ("skipped", "– Skipped: {reason}. Complete it below to record "
                                       "it done after all.")
        form = StepForm(step, values=values, notice=notice.format(reason=item.reason),
                        notice_kind=kind, warning=False)
        label = "Record again" if item.state is StepState.DONE else "Complete step"
        # Completing or skipping (with a reason): the two honest ends of a step.
        can_skip = item.state not in (StepState.DONE, StepState.SKIPPED)
        widgets: list[Widget] = [StepWarning(step.warning)] if step.warning else []
        note = self.view.detail.notes.get(step_key)
        if note and item.state not in (StepState.DONE, StepState.SKIPPED):
            # Said before the step is completed: no channel can carry what it is about
            # (no pager for the page, no email channel for the survey).
            widgets.append(Static(Text("! " + note), classes="step-channel-note"))
        widgets += [form, Button(f"{label} (ctrl+s)", id="complete", variant="primary",
                                 compact=True)]
        if can_skip:
            widgets.append(Button("Skip, with a reason (x)", id="skip", compact=True))
        if step.key == KB_SEARCH_STEP:
            widgets.append(Button("Search the knowledge base (/)", id="kb-open",
                                  compact=True))
        elif step.key == KB_WRITE_STEP:
            widgets.append(Button("Write the KB article (w)", id="kb-write", compact=True))
        await area.mount(*widgets)
        area.scroll_home(animate=False)

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

    @on(StepForm.Changed)
    def _keep_draft(self, event: StepForm.Changed) -> None:
        if self.view is not None:
            self.session.drafts.put_step(self.view.ticket["id"], event.form.step.key,
                                         event.values)

    @on(Button.Pressed, "#complete")
    def action_complete(self) -> None:
        if self.form is not None:
            self.form.submit()

    @on(Button.Pressed, "#skip")
    def _skip_pressed(self) -> None:
        self.action_skip_step()

    @on(StepForm.Submitted)
    def _submit(self, event: StepForm.Submitted) -> None:
        self._complete(self.session, self.ref, event.form.step.key, event.form.step.title,
                       event.values)

    @work(thread=True, exclusive=True, group="ticket-write")
    def _complete(self, session: DeskSession, ref: str, step_key: str, title: str,
                  values: dict[str, Any]) -> None:
        try:
            session.run(session.desk.tickets.complete_step, ref, step_key, values)
        except DeskError as error:
            self.post_message(self._StepRefused(step_key, error))
        else:
            self.post_message(self._StepDone(step_key, title))

    def on_ticket_screen__step_refused(self, message: _StepRefused) -> None:
        form = self.form
        if form is not None and form.step.key == message.step_key:
            show_desk_error(form, message.error)

    def on_ticket_screen__step_done(self, message: _StepDone) -> None:
        if self.view is not None:
            self.session.drafts.drop_step(self.view.ticket["id"], message.step_key)
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

    def _draft_key(self) -> str | None:
        return self.view.ticket["id"] if self.view is not None else None

    def action_reply(self) -> None:
        self._note(public=True)

    def action_note(self) -> None:
        self._note(public=False)

    def action_update(self) -> None:
        """The communication checkpoint's one key: a reply that starts from the 'working'
        canned response, ready to send with ctrl+s or to edit first."""
        from deskcli.tui.screens.note import NoteScreen

        key = self._draft_key()
        if key is not None:
            self.app.push_screen(NoteScreen(self.ref, key, public=True, initial="/working "),
                                 self._after)

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

    def _note(self, *, public: bool) -> None:
        from deskcli.tui.screens.note import NoteScreen

        key = self._draft_key()
        if key is not None:
            self.app.push_screen(NoteScreen(self.ref, key, public=public), self._after)

    def action_status(self) -> None:
        from deskcli.tui.screens.status import StatusScreen

        if self.view is not None:
            self.app.push_screen(StatusScreen(self.ref, self.view.ticket["status"]),
                                 self._after)

    def action_priority(self) -> None:
        from deskcli.tui.screens.priority import PriorityScreen

        if self.view is not None:
            self.app.push_screen(PriorityScreen(self.ref, self.view.ticket["priority"]),
                                 self._after)

    def action_assignee(self) -> None:
        from deskcli.tui.screens.assignee import AssigneeScreen

        if self.view is not None:
            self.app.push_screen(AssigneeScreen(self.ref, self.view.ticket["assignee"]),
                                 self._after)

    def action_attach(self) -> None:
        from deskcli.tui.screens.attach import AttachScreen

        self.app.push_screen(AttachScreen(self.ref), self._after)

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

    def action_csat(self) -> None:
        from deskcli.tui.screens.csat import CsatScreen

        self.app.push_screen(CsatScreen(self.ref), self._after)

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

    @on(Button.Pressed, "#kb-open")
    def action_kb_search(self) -> None:
        from deskcli.tui.screens.kb_search import KbSearchScreen

        ticket = self.view.ticket if self.view is not None else {}
        search = KbSearchScreen(prefill_query(ticket), articles_for=ticket.get("client_id") or "")

        def done(pick: KbPick | None) -> None:
            self._searched(search.shown)
            self._use_hit(pick)

        self.app.push_screen(search, done)

    def _searched(self, query: str | None) -> None:
        """The query searched fills "What you searched for" of the search step, unless
        something is already there (typed, drafted or recorded)."""
        if not query or self.view is None:
            return
        step = self.view.detail.progress.checklist.step(KB_SEARCH_STEP)
        target = step.field("query") if step is not None else None
        if target is None:
            return
        ticket_id = self.view.ticket["id"]
        form = self.form
        if form is not None and form.step.key == KB_SEARCH_STEP:
            if not (form.raw(target) or "").strip():
                form.set_value(target.key, query)
                self.session.drafts.put_step(ticket_id, KB_SEARCH_STEP, form.values())
            return
        draft = self.session.drafts.step(ticket_id, KB_SEARCH_STEP)
        recorded = self.view.step_values.get(KB_SEARCH_STEP, {})
        if not draft.get(target.key) and not recorded.get(target.key):
            self.session.drafts.put_step(ticket_id, KB_SEARCH_STEP,
                                         {**draft, target.key: query})

    def _use_hit(self, pick: KbPick | None) -> None:
        """An article is linked and becomes the runbook; a past ticket is cited."""
        if pick is None:
            return
        if pick.kind == "article":
            self._link(self.session, self.ref, pick)
        else:
            self._cite(pick.ref)

    @work(thread=True, exclusive=True, group="ticket-write")
    def _link(self, session: DeskSession, ref: str, pick: KbPick) -> None:
        try:
            _article, created = session.run(session.kb.link, ref, pick.ref_id)
        except DeskError as error:
            self.post_message(self._KbRefused(error))
        else:
            self.post_message(self._KbLinked(pick, created))

    def on_ticket_screen__kb_refused(self, message: _KbRefused) -> None:
        self.app.notify(message.error.message, severity="error")

    def on_ticket_screen__kb_linked(self, message: _KbLinked) -> None:
        pick = message.pick
        if self.view is not None:
            ticket_id = self.view.ticket["id"]
            fix = self.session.drafts.step(ticket_id, KB_FIX_STEP)
            self.session.drafts.put_step(ticket_id, KB_FIX_STEP, {
                **fix, "runbook": f"KB {pick.ref}: {pick.title}"})
        self._cite(pick.ref, quiet=True)
        self.app.notify(f"Linked KB {pick.ref}; it is the runbook of the fix step")
        self.load()

    def _cite(self, ref: str | None, *, quiet: bool = False) -> None:
        """Add a reference to the list field of the step being filled in."""
        form = self.form
        if not ref or form is None:
            return
        target = next((f for f in form.step.fields if f.kind is FieldKind.LIST), None)
        if target is None:
            if not quiet:
                self.app.notify(f"{ref} noted; this step has no list of references to add "
                                "it to.")
            return
        current = form.raw(target) or ""
        if ref not in [part.strip() for part in current.split(",")]:
            form.set_value(target.key, f"{current}, {ref}" if current.strip() else ref)
        if form.step.key == KB_SEARCH_STEP:
            found = next((f for f in form.step.fields if f.key == "found"), None)
            if found is not None and not form.raw(found):
                form.set_value("found", "yes")
        if self.view is not None:  # kept now: a reload may rebuild the form at once
            self.session.drafts.put_step(self.view.ticket["id"], form.step.key,
                                         form.values())
        self.action_tab("step")
        if not quiet:
            self.app.notify(f"Added {ref} to '{target.label}'")

    @on(Button.Pressed, "#kb-write")
    def action_kb_write(self) -> None:
        from deskcli.tui.screens.kb_editor import KbEditorScreen

        if self.view is not None:
            self.app.push_screen(KbEditorScreen(self.ref), self._kb_written)

    def _kb_written(self, saved: KbSaved | None) -> None:
        if saved is None:
            return
        self.app.notify(f"KB article {saved.handle} saved and linked")
        if self.view is not None:
            ticket_id = self.view.ticket["id"]
            step = self.session.drafts.step(ticket_id, KB_WRITE_STEP)
            self.session.drafts.put_step(ticket_id, KB_WRITE_STEP, {
                **step, "outcome": "created" if saved.created else "updated",
                "article": saved.handle})
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
