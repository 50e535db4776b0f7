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

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import (
    Button,
    ContentSwitcher,
    Input,
    Label,
    Select,
    Static,
    TextArea,
)

from deskcli.domain import engine, validation
from deskcli.domain.checklist import Checklist, StepSpec
from deskcli.domain.communication import draft_acknowledgement, next_update_by
from deskcli.domain.engine import StepState
from deskcli.domain.enums import Channel, Priority, TicketType
from deskcli.domain.errors import DeskError, InvalidInput
from deskcli.domain.facts import TicketFacts
from deskcli.domain.intake import NewTicket
from deskcli.domain.numbering import display_ref
from deskcli.domain.priority import impact_from_users
from deskcli.domain.sla import compute_clock
from deskcli.domain.timefmt import from_iso, to_iso
from deskcli.services.worktimer import WorkTimer
from deskcli.storage.rows import TicketRow
from deskcli.storage.store import Row
from deskcli.tui.screens.context import desk_app
from deskcli.tui.session import DeskSession
from deskcli.tui.widgets.caller_lookup import CallerLookup
from deskcli.tui.widgets.field_error import FieldError, show_desk_error
from deskcli.tui.widgets.footer import DeskFooter
from deskcli.tui.widgets.intake_page import (
    IntakePage,
    channel_box,
    channel_spec,
    lead_for,
    summary_step,
    trail_for,
)
from deskcli.tui.widgets.priority_guide import PriorityGuide, suggestion
from deskcli.tui.widgets.status_bar import DeskStatusBar
from deskcli.tui.widgets.step_form import StepForm
from deskcli.tui.widgets.text_box import TextBox

DRAFT = "intake"
DONE = "page-done"

#: Ticket columns a step field maps to (``maps_to``), as the keys of a new-ticket record.
NEW_TICKET_KEY = {
    "verbatim": "verbatim", "error_text": "error", "doing": "doing",
    "users_affected": "users_affected", "priority": "priority", "channel": "channel",
    "client": "client", "asset": "asset", "category": "category", "caller_email": "email",
    "type": "type",
}
CALLER_FIELDS = ("caller", "email", "phone", "verified")


def step_label(step: StepSpec) -> str:
    return step.key.replace("_", " ")


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

    @dataclass
    class _Tier(Message):
        client: str | None
        tier: str | None

    @dataclass
    class _Sent(Message):
        ok: bool
        error: DeskError | None = None

    def __init__(self) -> None:
        super().__init__()
        self.steps: list[StepSpec] = []
        self.page = 0
        self.ticket: TicketRow | None = None
        self.timer: WorkTimer | None = None
        self._suggested: str | None = None
        self._tier: tuple[str | None, str | None] = (None, None)
        self._caller_client: str | None = None
        self._forms: dict[str, StepForm] = {}
        self._widgets: dict[str, Widget | None] = {}
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
        self.steps = list(checklist.phases[0].steps)
        draft = self.session.drafts.load(DRAFT)
        saved_steps = draft.get("steps", {})
        channel_at = channel_spec(self.steps)
        channel = draft.get("channel") or Channel.PHONE.value
        self.page = min(int(draft.get("page", 0)), len(self.steps) - 1)
        self._caller_client = draft.get("caller_client")
        yield Static(id="intake-title")
        yield Static(id="intake-steps")
        with ContentSwitcher(initial=f"page-{self.page}", id="intake-pages"):
            carrier = summary_step(self.steps)
            for index, step in enumerate(self.steps):
                yield IntakePage(
                    index, step, values=saved_steps.get(step.key, {}),
                    lead=lead_for(step, draft, self.session, carries_summary=step is carrier),
                    trail=trail_for(step),
                    before=[channel_box(channel_at[1].choices, channel)]
                    if index == 0 and channel_at is not None else ())
            with VerticalScroll(id=DONE, classes="intake-page"):
                yield Static(id="done-summary")
                yield Label("Acknowledgement for the caller: read it out or send it (edit "
                            "freely)", classes="field-label")
                yield TextBox(id="ack", soft_wrap=True, tab_behavior="focus",
                               show_line_numbers=False)
                yield FieldError("note")
        with Horizontal(id="intake-buttons"):
            yield Button("‹ Back (esc)", id="back", compact=True)
            yield Button("Next › (ctrl+s)", id="next", variant="primary", compact=True)
        yield DeskStatusBar()
        yield DeskFooter()

    def _planned_channel(self) -> str:
        found = self.query("#intake-channel")
        if found:
            value = found.first(Select).value
            if isinstance(value, str):
                return value
        return Channel.PHONE.value

    def _replan(self) -> None:
        """Ask the checklist which intake steps apply to a ticket that came in this way
        (its own ``when``/``unless`` conditions), and show a skipped page's reason in
        place of its form."""
        if self._checklist is None:
            return
        try:
            facts = TicketFacts(channel=Channel(self._planned_channel()))
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
        app = desk_app(self)
        draft = self.session.drafts.load(DRAFT)
        started = draft.get("started")
        self.timer = WorkTimer(from_iso(started) if started else app.desk.now(),
                               app.desk.now)
        if draft:
            self.notify("Resumed the unfinished intake (ctrl+r starts over).")
        self._replan()
        self._show_page(self.page)
        if app.tick:
            self.set_interval(app.tick, self._show_timer)

    def _show_timer(self) -> None:
        if self.timer is not None:
            desk_app(self).timer_text = f"new ticket {self.timer.display()}"

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
        self.query_one("#intake-title", Static).update(Text(
            f" New ticket · step {index + 1} of {len(self.steps)}: {step.title}",
            style="bold"))
        marks = Text(" ")
        for number, other in enumerate(self.steps):
            if number:
                marks.append("  ›  ", style="dim")
            marker = "✓" if number < index else "▶" if number == index else "·"
            if other.key in self._skipped and number != index:
                marker = "–"
            marks.append(f"{marker} {number + 1} {step_label(other)}",
                         style="bold" if number == index else "dim")
        self.query_one("#intake-steps", Static).update(marks)
        self._label("back", "‹ Back (esc)" if index else "Leave (esc)")
        last = index == len(self.steps) - 1
        self._label("next", "Open the ticket (ctrl+s)" if last else "Next › (ctrl+s)")
        if step.action == "set_priority":
            self._prefill_impact()
            self._refresh_guide()
        if step.action == "open":
            self._prefill_open()
            self._refresh_guide()
        self._show_timer()
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

    def _label(self, button_id: str, text: str) -> None:
        button = self.query_one(f"#{button_id}", Button)
        button.label = text
        button.refresh(layout=True)  # a longer label needs a wider button

    def _page_widget(self, index: int) -> IntakePage:
        return self.query_one(f"#page-{index}", IntakePage)

    def check_page(self, index: int) -> bool:
        """The domain's checks for one page; the first problem is shown beside its field."""
        step = self.steps[index]

        def own_fields() -> None:
            if step.action == "verify_identity":
                # The same record check the ticket is created with (caller, email, phone,
                # and a verified identity needs a name).
                NewTicket.from_mapping({"summary": "-", **self._caller_record()})
            if step is summary_step(self.steps):
                validation.summary(self.query_one("#summary", Input).value)

        return self._page_widget(index).check(own_fields)

    @on(Button.Pressed, "#next")
    def action_next(self) -> None:
        if self.ticket is not None:
            self._send_acknowledgement(self.session, self.ticket,
                                       self.query_one("#ack", TextArea).text)
            return
        if not self.check_page(self.page):
            return
        if self.page < len(self.steps) - 1:
            self._show_page(self.page + 1)
            return
        self.query_one("#next", Button).disabled = True
        self._open(self.session, self._record(), self._step_values())

    @on(Button.Pressed, "#back")
    def action_back(self) -> None:
        if self.ticket is not None:
            self._go_to_ticket()
        elif self.page > 0:
            self._show_page(self.page - 1)
        else:
            self._save_draft()
            if self.session.drafts.load(DRAFT).get("steps") or self._caller_record():
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

    def _value(self, selector: str) -> str:
        if selector not in self._widgets:
            found = self.query(selector)
            self._widgets[selector] = found.first() if found else None
        widget = self._widgets[selector]
        if isinstance(widget, Input):
            return widget.value
        if isinstance(widget, Select):
            return "" if widget.value is Select.NULL else str(widget.value)
        return ""

    def _caller_record(self) -> dict[str, Any]:
        verify = next((s for s in self.steps if s.action == "verify_identity"), None)
        method = self.form(verify).values().get("method") if (
            verify and verify.key not in self._skipped) else None
        record = {"caller": self._value("#caller-name"), "email": self._value("#caller-email"),
                  "phone": self._value("#caller-phone"), "verified": method}
        return {k: v for k, v in record.items() if v}

    def _step_values(self) -> dict[str, dict[str, Any]]:
        return {step.key: self.form(step).values() for step in self.steps
                if step.key not in self._skipped}

    def _record(self) -> dict[str, Any]:
        """The new-ticket record: caller, summary, type, and every field mapped to a column."""
        record: dict[str, Any] = {"summary": self._value("#summary"),
                                  "type": self._value("#ticket-type") or None,
                                  "assignee": self.session.tech, **self._caller_record()}
        for step in self.steps:
            values = self.form(step).values()
            for spec in step.fields:
                key = NEW_TICKET_KEY.get(spec.maps_to or "")
                if key and spec.key in values and not record.get(key):
                    record[key] = values[spec.key]
        return {k: v for k, v in record.items() if v not in (None, "")}

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
        started = to_iso(self.timer.started) if self.timer else None
        steps = self._step_values()
        caller = {k: v for k, v in self._caller_record().items() if k != "verified"}
        summary = self._value("#summary")
        data: dict[str, Any] = {"page": self.page, "steps": steps, "caller": caller,
                                "summary": summary, "caller_client": self._caller_client}
        channel = self._planned_channel()
        if channel != Channel.PHONE.value:
            data["channel"] = channel
        kind = self._value("#ticket-type")
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
        self._recheck(event.input)
        opener = next((s for s in self.steps if s.action == "open"), None)
        client = next((f for f in opener.fields if f.maps_to == "client"), None) \
            if opener is not None else None
        if client is not None and event.input.id == f"field-{client.key}":
            # The SLA preview names the client and its contract tier: follow the typing.
            self._refresh_guide()

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
            self._priority_changed(key, event.value)

    #: The intake's own inputs (beside the step forms) and the field their errors name.
    LEAD_FIELDS: ClassVar[dict[str, str]] = {
        "caller-name": "caller", "caller-email": "email", "caller-phone": "phone",
        "summary": "summary"}

    def _recheck(self, widget: Input) -> None:
        """A message beside one of intake's own fields goes as soon as the value is
        accepted (the same checks the page runs on ctrl+s)."""
        field = self.LEAD_FIELDS.get(widget.id or "")
        if field is None:
            return
        slots = [s for s in self.query(FieldError) if s.field == field and s.has_class("-shown")]
        if not slots:
            return
        try:
            if field == "summary":
                validation.summary(widget.value)
            else:
                NewTicket.from_mapping({"summary": "-", **self._caller_record()})
        except DeskError as error:
            if error.field == field:
                return  # still wrong: the message stands
        for slot in slots:
            slot.clear()

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

    # --- priority help --------------------------------------------------------------------

    def _priority_step(self) -> StepSpec | None:
        return next((s for s in self.steps if s.action == "set_priority"), None)

    def _prefill_impact(self) -> None:
        """Suggest the impact from how many people the caller said are affected."""
        step = self._priority_step()
        if step is None or step.field("impact") is None:
            return
        form = self.form(step)
        if form.values().get("impact"):
            return
        users = None
        for other in self.steps:
            for spec in other.fields:
                if spec.maps_to == "users_affected":
                    raw = self.form(other).values().get(spec.key)
                    try:
                        users = validation.count(raw, field=spec.key)
                    except InvalidInput:
                        users = None
        if users is not None:
            form.set_value("impact", impact_from_users(users).value)

    def _priority_changed(self, key: str, value: object) -> None:
        step = self._priority_step()
        if step is None:
            return
        values = self.form(step).values()
        if key in ("impact", "urgency") and step.field("priority") is not None:
            suggested = suggestion(values.get("impact"), values.get("urgency"))
            chosen = values.get("priority")
            # Follow the suggestion until the technician picks a priority of their own.
            if suggested is not None and (not chosen or chosen == self._suggested):
                self._suggested = suggested.value
                self.form(step).set_value("priority", suggested.value)
        self._refresh_guide()

    def _client(self) -> str | None:
        opener = next((s for s in self.steps if s.action == "open"), None)
        typed = None
        if opener is not None:
            for spec in opener.fields:
                if spec.maps_to == "client":
                    typed = self.form(opener).values().get(spec.key)
        return (typed or self._caller_client or None)

    def _prefill_open(self) -> None:
        """Carry the caller's client and email, and the channel chosen on the first page,
        to the tags."""
        opener = next((s for s in self.steps if s.action == "open"), None)
        if opener is None:
            return
        known = {"client": self._caller_client, "caller_email": self._value("#caller-email"),
                 "channel": self._planned_channel()}
        form = self.form(opener)
        for spec in opener.fields:
            value = known.get(spec.maps_to or "")
            if value and not form.values().get(spec.key):
                form.set_value(spec.key, value)

    def _refresh_guide(self) -> None:
        client = self._client()
        if self._tier[0] != client:
            self._fetch_tier(self.session, client)
        self._draw_guide()

    @work(thread=True, exclusive=True, group="intake-tier")
    def _fetch_tier(self, session: DeskSession, client: str | None) -> None:
        self.post_message(self._Tier(client, session.client_tier(client)))

    def on_intake_screen__tier(self, message: _Tier) -> None:
        if message.client != self._client():
            return  # an answer for what was typed before: a newer look-up is on its way
        self._tier = (message.client, message.tier)
        self._draw_guide()

    def _draw_guide(self) -> None:
        step = self._priority_step()
        if step is None:
            return
        desk = self.session.desk
        values = self.form(step).values()
        client = self._client()
        tier = self._tier[1] if self._tier[0] == client else None
        self.query_one(PriorityGuide).show(
            impact=values.get("impact"), urgency=values.get("urgency"),
            chosen=values.get("priority"), policy=desk.config.sla, now=desk.now(),
            client=client, tier=tier)
        opening = self.query("#open-sla")
        chosen = values.get("priority")
        if opening and chosen:
            clock = compute_clock(desk.now(), Priority(chosen), desk.config.sla,
                                  tier=tier if tier in desk.config.sla.tiers else None)
            opening.first(Static).update(Text(
                f"{chosen} for {client or 'no client'}: first response by "
                f"{clock.response_due:%H:%M}, resolve by {clock.resolve_due:%H:%M %a %d %b} "
                "UTC. The acknowledgement for the caller is drafted when the ticket opens."))

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
        self.query_one("#next", Button).disabled = False
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
        ref = display_ref(ticket["number"], ticket["provisional"])
        response_due = from_iso(ticket["response_due"])
        resolve_due = from_iso(ticket["resolve_due"])
        self.query_one("#done-summary", Static).update(Text.assemble(
            (f"✓ Ticket {ref} is open", "bold"),
            f" · {ticket['priority']} · owner {ticket['assignee'] or '—'}\n",
            f"First response due {response_due:%H:%M %a %d %b} UTC, resolution due "
            f"{resolve_due:%H:%M %a %d %b} UTC.\n"))
        self.query_one("#ack", TextArea).text = message.acknowledgement
        self.query_one(ContentSwitcher).current = DONE
        self.query_one("#intake-title", Static).update(Text(f" New ticket {ref} is open",
                                                            style="bold"))
        self.query_one("#intake-steps", Static).update(Text(
            " " + "  ›  ".join(f"✓ {n + 1} {step_label(s)}" for n, s in enumerate(self.steps)),
            style="dim"))
        self._label("back", "Open the ticket, don't send (esc)")
        self._label("next", "Send to the caller (ctrl+s)")
        self.query_one("#next", Button).disabled = False
        desk_app(self).refresh_alerts()
        self.query_one("#ack", TextArea).focus()

    @work(thread=True, exclusive=True, group="intake-ack")
    def _send_acknowledgement(self, session: DeskSession, ticket: Row, text: str) -> None:
        ref = display_ref(ticket["number"], ticket["provisional"])
        try:
            session.run(session.desk.tickets.add_note, ref, text, internal=False)
        except DeskError as error:
            self.post_message(self._Sent(False, error))
        else:
            self.post_message(self._Sent(True))

    def on_intake_screen__sent(self, message: _Sent) -> None:
        if message.error is not None:
            show_desk_error(self.query_one(f"#{DONE}"), message.error)
            return
        self.notify("Acknowledgement sent to the caller.")
        self._go_to_ticket()

    def _go_to_ticket(self) -> None:
        assert self.ticket is not None
        ref = display_ref(self.ticket["number"], self.ticket["provisional"])
        started = self.timer.started if self.timer else None
        desk_app(self).open_ticket(ref, timer_started=started, switch=True)

