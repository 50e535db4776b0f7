"""The chosen step of a ticket: its form, with what the ticket already records filled in,
and the buttons that end the step (complete, or skip with a reason).

What is typed is kept as a draft (``DraftStore``) until the step is saved, so leaving the
ticket or the app loses nothing. Completing runs the ticket service in a thread worker: a
refusal is shown beside its field, a success is reported as ``Completed``. The panel also
takes what the knowledge-base actions bring back (``cite`` a reference into the step's
list field, ``searched`` fills the search step's query), because those land in a step
form. The screen around it decides which step to show and what happens after a step.

The panel serves ticket after ticket: its notes and buttons are built once and only filled
and shown or hidden, and the forms of the last few steps shown are kept (hidden) and
refilled in place when a ticket shows one of those steps again (``StepForm.refill``), so
opening a ticket builds no widgets in the usual case.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, Static

from deskcli.domain import engine
from deskcli.domain.checklist import FieldKind, StepSpec
from deskcli.domain.engine import StepState
from deskcli.domain.errors import DeskError
from deskcli.storage.store import Row
from deskcli.tui.session import DeskSession
from deskcli.tui.widgets.field_error import show_desk_error
from deskcli.tui.widgets.step_form import StepForm, StepWarning

#: The checklist steps the knowledge base serves: search, follow the runbook, write it up.
KB_SEARCH_STEP, KB_FIX_STEP, KB_WRITE_STEP = "search_kb", "apply_fix", "update_kb"

#: How many steps' forms are kept between tickets: the step most tickets of a queue are at,
#: and the few a technician moves between, without keeping every step's widgets alive.
KEPT_FORMS = 3

#: Ticket columns for the ``maps_to`` names whose column is named differently.
COLUMN = {"client": "client_name"}

NOTICES = {
    StepState.DONE: ("done", "✓ Done. Change anything below and press ctrl+s to record "
                             "it again."),
    StepState.BLOCKED: ("blocked", "✗ Blocked: {reason}"),
    StepState.TODO: ("todo", "· Not the current step yet; you can still complete it now."),
}


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


class StepPanel(VerticalScroll):
    """One step of one ticket at a time; ``show`` replaces what is shown."""

    @dataclass
    class Completed(Message):
        """A step was recorded (its draft is gone)."""

        step_key: str
        title: str

    @dataclass
    class _Refused(Message):
        step_key: str
        error: DeskError

    def __init__(self, session: DeskSession, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.session = session
        self.drafts = session.drafts
        self.ticket_id: str | None = None
        self.ref: str | None = None
        self.step: StepSpec | None = None
        #: Where the step shown stands on its ticket.
        self.state: StepState | None = None
        #: The form shown, if any.
        self._form: StepForm | None = None
        #: The last few steps' forms, by step key (the form shown among them), refilled
        #: in place when a ticket shows that step again.
        self._forms: dict[str, StepForm] = {}

    def compose(self) -> ComposeResult:
        # Every part a step can show is built once and only filled and shown or hidden
        # after that: opening the next ticket changes text, it does not build widgets.
        parts: list[Widget] = [
            StepWarning("", id="step-warning"),
            Static(id="step-skipped-title"),
            Static(classes="step-skipped", id="step-skipped-reason"),
            Static(classes="step-channel-note", id="step-channel-note"),
            Button("Complete step (ctrl+s)", id="complete", variant="primary",
                   compact=True),
            # These run the screen's actions, as their keys do.
            Button("Skip, with a reason (x)", id="skip", compact=True,
                   action="screen.dialog('skip')"),
            Button("Search the knowledge base (/)", id="kb-open", compact=True,
                   action="screen.dialog('kb_search')"),
            Button("Write the KB article (w)", id="kb-write", compact=True,
                   action="screen.dialog('kb_write')"),
        ]
        for part in parts:
            part.display = False
        yield from parts

    @property
    def form(self) -> StepForm | None:
        return self._form

    def _part(self, part_id: str, shown: bool, text: str | Text | None = None) -> None:
        widget = self.query_one(f"#{part_id}")
        widget.display = shown
        if shown and text is not None:
            if isinstance(widget, Button):
                widget.label = text
            elif isinstance(widget, Static):
                widget.update(text)

    async def show(self, detail: Any, step_values: Any, step_key: str) -> None:
        """Show ``step_key`` of the ticket in ``detail`` (a ``TicketDetail``): its form
        (drafts over recorded values), or why it is skipped. ``step_values``: what each
        step recorded, by step key.

        A kept form of that step is refilled in place (the next ticket of a queue is
        usually at the same step); otherwise the step's form is built."""
        item = detail.progress.of(step_key)
        ticket = detail.ticket
        self.ticket_id, self.ref, self.step = ticket["id"], detail.ref, item.step
        self.state = item.state
        step = item.step
        skipped = item.state is StepState.SKIPPED and not item.by_hand
        with self.app.batch_update():
            self._part("step-skipped-title", skipped, Text(step.title, style="bold"))
            self._part("step-skipped-reason", skipped,
                       Text(f"– Not needed on this ticket: {item.reason}"))
            if skipped:
                for part in ("step-warning", "step-channel-note", "complete", "skip",
                             "kb-open", "kb-write"):
                    self._part(part, False)
                self._hide_form()
                return
            await self._show_form(item, detail, step_values)
        self.scroll_home(animate=False)

    async def _show_form(self, item: Any, detail: Any, step_values: Any) -> None:
        step, ticket = item.step, detail.ticket
        # What the ticket already records, then what this step recorded, then the draft.
        values = recorded_values(step, ticket)
        # Fields that start from an earlier step's record (reproduce notes → repro steps).
        values.update(engine.prefilled(step, step_values))
        values.update(step_values.get(step.key, {}))
        values.update(self.drafts.step(ticket["id"], step.key))
        kind, notice = NOTICES.get(item.state, ("", ""))
        if item.by_hand:
            kind, notice = ("skipped", "– Skipped: {reason}. Complete it below to record "
                                       "it done after all.")
        notice = notice.format(reason=item.reason)
        settled = item.state in (StepState.DONE, StepState.SKIPPED)
        self._part("step-warning", bool(step.warning), Text("⚠ " + (step.warning or "")))
        # Said before the step is completed: no channel can carry what it is about
        # (no pager for the page, no email channel for the survey).
        note = detail.notes.get(step.key)
        self._part("step-channel-note", bool(note) and not settled, Text(f"! {note}"))
        label = "Record again" if item.state is StepState.DONE else "Complete step"
        self._part("complete", True, f"{label} (ctrl+s)")
        # Completing or skipping (with a reason): the two honest ends of a step.
        self._part("skip", not settled)
        self._part("kb-open", step.key == KB_SEARCH_STEP)
        self._part("kb-write", step.key == KB_WRITE_STEP)
        form = self._forms.pop(step.key, None)
        if form is not None and form.step == step:
            form.refill(values, notice=notice, notice_kind=kind)
        else:
            if form is not None:  # the same key in another checklist: not this form
                await form.remove()
            form = StepForm(step, values=values, notice=notice, notice_kind=kind,
                            warning=False)
            await self.mount(form, before="#complete")
        self._forms[step.key] = form  # the most recently shown last
        self._hide_form()
        self._form = form
        form.display = True
        # The form shown comes first among the kept ones, so a look-up by field id from
        # the screen finds its fields.
        first = next(iter(self.query_children(StepForm)), None)
        if first is not None and first is not form:
            self.move_child(form, before=first)
        while len(self._forms) > KEPT_FORMS:
            oldest = next(iter(self._forms))
            await self._forms.pop(oldest).remove()

    def _hide_form(self) -> None:
        """The form shown goes out of sight; it is kept (without its messages) in case
        a ticket at the same step is opened next."""
        form, self._form = self._form, None
        if form is not None:
            form.display = False
            form.clear_messages()

    def focus_form(self) -> bool:
        """Focus the first field of a step still to be filled in (after a save, the
        next step's); False when there is none, every step being settled."""
        form = self._form
        if form is not None and form.step.fields and self.state in (StepState.CURRENT,
                                                                     StepState.TODO):
            form.focus_first()
            return True
        return False

    def submit(self) -> None:
        """Complete the step shown (its form checks itself and posts ``Submitted``)."""
        if self.form is not None:
            self.form.submit()

    @on(Button.Pressed, "#complete")
    def _complete_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.submit()

    @on(StepForm.Submitted)
    def _submitted(self, event: StepForm.Submitted) -> None:
        event.stop()
        if self.ref is not None:
            self._complete(self.session, self.ref, event.form.step.key,
                           event.form.step.title, event.values)

    @work(thread=True, exclusive=True, group="ticket-write")
    def _complete(self, session: DeskSession, ref: str, step_key: str, title: str,
                  values: dict[str, Any]) -> None:
        try:
            session.run(session.desk.tickets.complete_step, ref, step_key, values)
        except DeskError as error:
            self.post_message(self._Refused(step_key, error))
        else:
            self.post_message(self.Completed(step_key, title))

    def on_step_panel__refused(self, message: _Refused) -> None:
        message.stop()
        form = self.form
        if form is not None and form.step.key == message.step_key:
            show_desk_error(form, message.error)

    def on_step_panel_completed(self, message: Completed) -> None:
        if self.ticket_id is not None:
            self.drafts.drop_step(self.ticket_id, message.step_key)

    @on(StepForm.Changed)
    def _keep_draft(self, event: StepForm.Changed) -> None:
        if self.ticket_id is not None:
            self.drafts.put_step(self.ticket_id, event.form.step.key, event.values)

    # --- what the knowledge-base actions bring back -----------------------------------------

    def searched(self, query: str | None, search_step: StepSpec | None,
                 recorded: dict[str, Any]) -> None:
        """The query searched fills "What you searched for" of the search step, unless
        something is already there (typed, drafted or ``recorded``)."""
        target = search_step.field("query") if search_step is not None else None
        if not query or target is None or self.ticket_id is None:
            return
        form = self.form
        if form is not None and form.step.key == KB_SEARCH_STEP:
            if not (form.raw(target) or "").strip():
                form.set_value(target.key, query)
                self.drafts.put_step(self.ticket_id, KB_SEARCH_STEP, form.values())
            return
        draft = self.drafts.step(self.ticket_id, KB_SEARCH_STEP)
        if not draft.get(target.key) and not recorded.get(target.key):
            self.drafts.put_step(self.ticket_id, KB_SEARCH_STEP, {**draft, target.key: query})

    def cite(self, ref: str) -> tuple[str, str] | None:
        """Add a reference to the list field of the step shown; returns (reference,
        field label) when added or already there, None when the step has no list field."""
        form = self.form
        if form is None:
            return None
        target = next((f for f in form.step.fields if f.kind is FieldKind.LIST), None)
        if target is None:
            return None
        current = form.raw(target) or ""
        if ref not in [part.strip() for part in current.split(",")]:
            form.set_value(target.key, f"{current}, {ref}" if current.strip() else ref)
        if form.step.key == KB_SEARCH_STEP:
            found = next((f for f in form.step.fields if f.key == "found"), None)
            if found is not None and not form.raw(found):
                form.set_value("found", "yes")
        if self.ticket_id is not None:  # kept now: a reload may rebuild the form at once
            self.drafts.put_step(self.ticket_id, form.step.key, form.values())
        return ref, target.label

    def note_draft(self, step_key: str, values: dict[str, Any]) -> None:
        """Merge ``values`` into a step's draft (the runbook of the fix step, the article
        of the write-up step), shown when that step is next opened."""
        if self.ticket_id is not None:
            draft = self.drafts.step(self.ticket_id, step_key)
            self.drafts.put_step(self.ticket_id, step_key, {**draft, **values})
