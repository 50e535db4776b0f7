"""A new ticket, as the checklist's first phase walked one page at a time.

Each page is that step's form, built from the checklist data, with the few things only
intake has around it: the caller look-up beside identity verification, a one-line summary
beside the caller's own words, the priority definitions and SLA due times beside the
priority, the ticket type beside the tags. A page is checked with the domain's rules
before moving on; the ticket and every intake step are then written in one transaction
(``TicketService.intake``), and the acknowledgement for the caller is drafted.

Everything typed is kept as a draft, so leaving half-way (or the app closing) loses nothing:
``n`` on the queue resumes where the call left off.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import (
    Button,
    ContentSwitcher,
    Input,
    Select,
    TextArea,
)

from deskcli.domain import engine, validation
from deskcli.domain.checklist import Checklist, StepSpec
from deskcli.domain.communication import draft_acknowledgement, next_update_by
from deskcli.domain.engine import StepState
from deskcli.domain.enums import Channel, TicketType
from deskcli.domain.errors import DeskError
from deskcli.domain.facts import TicketFacts
from deskcli.domain.intake import NewTicket
from deskcli.domain.numbering import display_ref
from deskcli.domain.timefmt import from_iso, to_iso
from deskcli.storage.rows import TicketRow
from deskcli.tui.screens.context import desk_app
from deskcli.tui.session import DeskSession
from deskcli.tui.widgets.caller_lookup import CallerLookup
from deskcli.tui.widgets.field_error import show_desk_error
from deskcli.tui.widgets.footer import DeskFooter
from deskcli.tui.widgets.intake_done import IntakeDone
from deskcli.tui.widgets.intake_entries import IntakeEntries
from deskcli.tui.widgets.intake_nav import IntakeButtons, IntakeHeading
from deskcli.tui.widgets.intake_page import (
    IntakePage,
    channel_box,
    channel_spec,
    lead_for,
    summary_step,
    trail_for,
)
from deskcli.tui.widgets.intake_priority import PriorityAdvisor
from deskcli.tui.widgets.status_bar import DeskStatusBar
from deskcli.tui.widgets.step_form import StepForm
from deskcli.tui.widgets.work_clock import WorkClock

DRAFT = "intake"
DONE = "page-done"

CALLER_FIELDS = ("caller", "email", "phone", "verified")


class IntakeScreen(Screen[None]):
    CSS_PATH = "intake.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "next", "Next",
                tooltip="Check this page and go on (on the last page: open the ticket)"),
        Binding("escape", "back", "Back",
                tooltip="Previous page; on the first, leave (what you typed is kept)"),
        Binding("ctrl+r", "start_over", "Start over", show=False,
                tooltip="Discard this intake draft and start again"),
    ]

    @dataclass
    class _Opened(Message):
        ticket: TicketRow
        acknowledgement: str

    @dataclass
    class _Refused(Message):
        error: DeskError

    def __init__(self) -> None:
        super().__init__()
        self.steps: list[StepSpec] = []
        self.page = 0
        self.ticket: TicketRow | None = None
        self._caller_client: str | None = None
        self._forms: dict[str, StepForm] = {}
        #: What was entered, read back as records.
        self.entries = IntakeEntries(self, self.steps, self.form, lambda: self._skipped,
                                     lambda: self.session.tech)
        self._draft_timer: Timer | None = None
        self._checklist: Checklist | None = None
        #: Intake steps the checklist skips for the channel chosen, with the reason
        #: (identity for a ticket raised by monitoring: there is no caller).
        self._skipped: dict[str, str] = {}

    @property
    def session(self) -> DeskSession:
        return desk_app(self).session

    # --- building the pages -------------------------------------------------------------

    def compose(self) -> ComposeResult:
        desk = self.session.desk
        checklist = self._checklist = desk.checklists[desk.tickets.default_checklist]
        self.steps[:] = checklist.phases[0].steps  # the list the entries reader holds
        draft = self.session.drafts.load(DRAFT)
        saved_steps = draft.get("steps", {})
        channel_at = channel_spec(self.steps)
        channel = draft.get("channel") or Channel.PHONE.value
        self.page = min(int(draft.get("page", 0)), len(self.steps) - 1)
        self._caller_client = draft.get("caller_client")
        yield IntakeHeading()
        with ContentSwitcher(initial=f"page-{self.page}", id="intake-pages"):
            carrier = summary_step(self.steps)
            for index, step in enumerate(self.steps):
                yield IntakePage(
                    index, step, values=saved_steps.get(step.key, {}),
                    lead=lead_for(step, draft, self.session, carries_summary=step is carrier),
                    trail=trail_for(step),
                    before=[channel_box(channel_at[1].choices, channel)]
                    if index == 0 and channel_at is not None else ())
            yield IntakeDone(id=DONE, classes="intake-page")
        yield IntakeButtons(id="intake-buttons")
        yield DeskStatusBar()
        yield DeskFooter()
        yield WorkClock()
        yield PriorityAdvisor(self.session, self.steps, self.form,
                              caller_client=lambda: self._caller_client)

    def _replan(self) -> None:
        """Ask the checklist which intake steps apply to a ticket that came in this way
        (its own ``when``/``unless`` conditions), and show a skipped page's reason in
        place of its form."""
        if self._checklist is None:
            return
        try:
            facts = TicketFacts(channel=Channel(self.entries.planned_channel()))
        except ValueError:
            return
        progress = engine.evaluate(self._checklist, facts)
        self._skipped = {}
        for step in self.steps:
            item = progress.of(step.key)
            if item.state is StepState.SKIPPED and not item.by_hand:
                self._skipped[step.key] = item.reason
        for page in self.query(IntakePage):
            page.show_skipped(self._skipped.get(page.step.key))

    def on_mount(self) -> None:
        draft = self.session.drafts.load(DRAFT)
        started = draft.get("started")
        self.clock.start("new ticket", from_iso(started) if started else None)
        if draft:
            self.notify("Resumed the unfinished intake (ctrl+r starts over).")
        self._replan()
        self._show_page(self.page)

    @property
    def clock(self) -> WorkClock:
        """The work timer, from the first page (carried on to the ticket)."""
        return self.query_one(WorkClock)

    # --- pages ----------------------------------------------------------------------------

    def form(self, step: StepSpec) -> StepForm:
        form = self._forms.get(step.key)
        if form is None:
            form = self._forms[step.key] = self._page_widget(self.steps.index(step)).form
        return form

    def _show_page(self, index: int) -> None:
        self.page = index
        self.query_one(ContentSwitcher).current = f"page-{index}"
        step = self.steps[index]
        self.query_one(IntakeHeading).show_page(index, self.steps, self._skipped)
        self.query_one(IntakeButtons).show_page(index == 0, index == len(self.steps) - 1)
        advisor = self.query_one(PriorityAdvisor)
        if step.action == "set_priority":
            advisor.prefill_impact()
            advisor.refresh_guide()
        if step.action == "open":
            self._prefill_open()
            advisor.refresh_guide()
        self.clock.show()
        self.call_after_refresh(self._focus_page, step)
        self._save_draft()

    def _focus_page(self, step: StepSpec) -> None:
        if step.key in self._skipped:
            channel = self.query("#intake-channel")
            if channel and self.page == 0:
                channel.first().focus()
            else:
                self.query_one("#next", Button).focus()
        elif step.action == "verify_identity":
            self.query_one("#lookup-input", Input).focus()
        elif step is summary_step(self.steps):
            self.query_one("#summary", Input).focus()
        else:
            self.form(step).focus_first()

    def _page_widget(self, index: int) -> IntakePage:
        return self.query_one(f"#page-{index}", IntakePage)

    def check_page(self, index: int) -> bool:
        """The domain's checks for one page; the first problem is shown beside its field."""
        step = self.steps[index]

        def own_fields() -> None:
            if step.action == "verify_identity":
                # The same record check the ticket is created with (caller, email, phone,
                # and a verified identity needs a name).
                NewTicket.from_mapping({"summary": "-", **self.entries.caller()})
            if step is summary_step(self.steps):
                validation.summary(self.query_one("#summary", Input).value)

        return self._page_widget(index).check(own_fields)

    @on(Button.Pressed, "#next")
    def action_next(self) -> None:
        if self.ticket is not None:
            self.query_one(IntakeDone).send(self.session, self.ticket)
            return
        if not self.check_page(self.page):
            return
        if self.page < len(self.steps) - 1:
            self._show_page(self.page + 1)
            return
        self.query_one(IntakeButtons).busy(True)
        self._open(self.session, self.entries.record(), self.entries.step_values())

    @on(Button.Pressed, "#back")
    def action_back(self) -> None:
        if self.ticket is not None:
            self._go_to_ticket()
        elif self.page > 0:
            self._show_page(self.page - 1)
        else:
            self._save_draft()
            if self.session.drafts.load(DRAFT).get("steps") or self.entries.caller():
                self.app.notify("Intake kept as a draft: n resumes it.")
            desk_app(self).timer_text = ""
            self.app.pop_screen()

    def action_start_over(self) -> None:
        """Start again, after asking: everything typed on every page would be lost."""
        from deskcli.tui.screens.confirm import ConfirmScreen

        if self.ticket is not None:
            return
        self._save_draft()
        if not self.session.drafts.load(DRAFT):
            return  # nothing typed yet: nothing to wipe

        def answered(wipe: bool | None) -> None:
            if wipe:
                self.session.drafts.discard(DRAFT)
                self.app.switch_screen(IntakeScreen())

        self.app.push_screen(ConfirmScreen(
            "Start this intake over?",
            "Everything typed on every page (caller, their words, priority, tags) is "
            "thrown away. This cannot be undone.",
            yes="Wipe it and start over", no="Keep it"), answered)

    # --- what was entered -------------------------------------------------------------------

    def _keep(self) -> None:
        """Save the draft shortly after typing pauses (and at once on any page change)."""
        if self._draft_timer is not None:
            self._draft_timer.stop()
        self._draft_timer = self.set_timer(0.3, self._save_draft)

    def flush(self) -> None:
        """Write the draft now (the app calls this before quitting)."""
        self._save_draft()

    def _save_draft(self) -> None:
        if self._draft_timer is not None:
            self._draft_timer.stop()
            self._draft_timer = None
        if self.ticket is not None or not self.steps or not self.is_mounted:
            return
        timer = self.clock.timer
        started = to_iso(timer.started) if timer else None
        steps = self.entries.step_values()
        caller = {k: v for k, v in self.entries.caller().items() if k != "verified"}
        summary = self.entries.value("#summary")
        data: dict[str, Any] = {"page": self.page, "steps": steps, "caller": caller,
                                "summary": summary, "caller_client": self._caller_client}
        channel = self.entries.planned_channel()
        if channel != Channel.PHONE.value:
            data["channel"] = channel
        kind = self.entries.value("#ticket-type")
        if kind and kind != TicketType.INCIDENT.value:
            data["type"] = kind
        if not (any(steps.values()) or caller or summary):
            # Nothing worth keeping: no draft, and no "resumed" message next time.
            self.session.drafts.discard(DRAFT)
            return
        data["started"] = started
        self.session.drafts.save(DRAFT, data)

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        self._keep()
        self.entries.recheck(event.input)
        opener = next((s for s in self.steps if s.action == "open"), None)
        client = next((f for f in opener.fields if f.maps_to == "client"), None) \
            if opener is not None else None
        if client is not None and event.input.id == f"field-{client.key}":
            # The SLA preview names the client and its contract tier: follow the typing.
            self.query_one(PriorityAdvisor).refresh_guide()

    @on(TextArea.Changed)
    def _area_typed(self, event: TextArea.Changed) -> None:
        if event.text_area.id != "ack":
            self._keep()

    @on(Select.Changed)
    def _chosen(self, event: Select.Changed) -> None:
        self._keep()
        channel_at = channel_spec(self.steps)
        if channel_at is not None and isinstance(event.value, str) and (
                event.select.id in ("intake-channel", f"field-{channel_at[1].key}")):
            # One channel, chosen on the first page or the last: keep both in step and
            # re-plan the pages that apply.
            opener = self.form(channel_at[0])
            current = opener.values().get(channel_at[1].key)
            if current != event.value and (current or event.value != Channel.PHONE.value):
                # (The chooser's own default is not typing: page 4 takes it when shown.)
                opener.set_value(channel_at[1].key, event.value)
            chooser = self.query_one("#intake-channel", Select)
            if chooser.value != event.value:
                chooser.value = event.value
            skipped = dict(self._skipped)
            self._replan()
            if skipped != self._skipped:
                self._show_page(self.page)
        key = (event.select.id or "").removeprefix("field-")
        if key in ("impact", "urgency", "priority") or event.select.id == "ticket-type":
            self.query_one(PriorityAdvisor).changed(key)

    # --- caller look-up -----------------------------------------------------------------

    @on(CallerLookup.Picked)
    def _picked(self, event: CallerLookup.Picked) -> None:
        caller = event.caller
        self.query_one("#caller-name", Input).value = caller["name"] or ""
        self.query_one("#caller-email", Input).value = caller.get("email") or ""
        self.query_one("#caller-phone", Input).value = caller.get("phone") or ""
        self._caller_client = caller.get("client_name")
        self._save_draft()
        verify = self.steps[self.page]
        self.form(verify).focus_first()
        if caller.get("phone"):
            self.notify(f"Call back {caller['phone']} (the number on file) to verify.")

    # --- the opening page --------------------------------------------------------------

    def _prefill_open(self) -> None:
        """Carry the caller's client and email, and the channel chosen on the first page,
        to the tags."""
        opener = next((s for s in self.steps if s.action == "open"), None)
        if opener is None:
            return
        known = {"client": self._caller_client, "caller_email": self.entries.value("#caller-email"),
                 "channel": self.entries.planned_channel()}
        form = self.form(opener)
        for spec in opener.fields:
            value = known.get(spec.maps_to or "")
            if value and not form.values().get(spec.key):
                form.set_value(spec.key, value)

    # --- opening ----------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="intake-open")
    def _open(self, session: DeskSession, record: dict[str, Any],
              steps: dict[str, dict[str, Any]]) -> None:
        desk = session.desk
        try:
            draft = NewTicket.from_mapping(record)
            row = session.run(desk.tickets.intake, draft, steps)
        except DeskError as error:
            self.post_message(self._Refused(error))
            return
        now = desk.now()
        ack = draft_acknowledgement(
            ref=display_ref(row["number"], row["provisional"]), caller=row["caller_name"],
            owner=row["assignee"] or session.tech, summary=row["summary"],
            next_update=next_update_by(now, desk.config.checkpoint,
                                       from_iso(row["response_due"])))
        self.post_message(self._Opened(row, ack))

    def on_intake_screen__refused(self, message: _Refused) -> None:
        self.query_one(IntakeButtons).busy(False)
        error = message.error
        page = self.page
        carrier = summary_step(self.steps)
        if error.field in CALLER_FIELDS:
            page = 0
        elif error.field == "summary" and carrier is not None:
            page = self.steps.index(carrier)
        else:
            for index, step in enumerate(self.steps):
                if error.field and step.field(error.field) is not None:
                    page = index
                    break
        if page != self.page:
            self._show_page(page)
        show_desk_error(self._page_widget(page), error)

    def on_intake_screen__opened(self, message: _Opened) -> None:
        ticket = self.ticket = message.ticket
        self.session.drafts.discard(DRAFT)
        if ticket["channel"] == Channel.MONITORING.value and not ticket["caller_name"]:
            # Raised by monitoring: there is nobody to acknowledge to.
            ref = display_ref(ticket["number"], ticket["provisional"])
            self.notify(f"Ticket {ref} is open (raised by monitoring: no caller to "
                        "acknowledge).")
            desk_app(self).refresh_alerts()
            self._go_to_ticket()
            return
        self.query_one(IntakeDone).show(ticket, message.acknowledgement)
        self.query_one(ContentSwitcher).current = DONE
        self.query_one(IntakeHeading).show_open(
            display_ref(ticket["number"], ticket["provisional"]), self.steps)
        self.query_one(IntakeButtons).show_open()
        desk_app(self).refresh_alerts()
        self.query_one("#ack", TextArea).focus()

    def on_intake_done_sent(self, _message: IntakeDone.Sent) -> None:
        self.notify("Acknowledgement sent to the caller.")
        self._go_to_ticket()

    def _go_to_ticket(self) -> None:
        assert self.ticket is not None
        ref = display_ref(self.ticket["number"], self.ticket["provisional"])
        timer = self.clock.timer
        started = timer.started if timer else None
        desk_app(self).open_ticket(ref, timer_started=started, switch=True)

