"""One page of the guided intake: a checklist step's form with what intake adds around it.

Intake walks the checklist's first phase a step per page. Each page is the step's own form
(``StepForm``, built from the checklist data) with intake's extras: the caller look-up
beside identity verification, a one-line summary beside the caller's words, the priority
definitions and SLA times beside the priority, the ticket type beside the tags
(``lead_for``, ``trail_for``). A page the checklist skips for the channel chosen shows
why instead of its form (``show_skipped``); ``check`` runs the domain's rules for the page
and shows the first problem beside its field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import Input, Label, Static

from deskcli.domain import engine
from deskcli.domain.checklist import FieldKind, FieldSpec, StepSpec
from deskcli.domain.enums import TicketType
from deskcli.domain.errors import DeskError
from deskcli.tui.session import DeskSession
from deskcli.tui.widgets.caller_lookup import CallerLookup
from deskcli.tui.widgets.choice import ChoiceSelect
from deskcli.tui.widgets.field_error import FieldError, clear_errors, show_desk_error
from deskcli.tui.widgets.priority_guide import PriorityGuide
from deskcli.tui.widgets.step_form import StepForm, StepWarning


def channel_spec(steps: Sequence[StepSpec]) -> tuple[StepSpec, FieldSpec] | None:
    """The intake step and field the channel is recorded in (``maps_to = channel``)."""
    for step in steps:
        for spec in step.fields:
            if spec.maps_to == "channel" and spec.kind is FieldKind.CHOICE:
                return step, spec
    return None


def summary_step(steps: Sequence[StepSpec]) -> StepSpec | None:
    """The first step without an action carries the summary (capture, in Tier 1)."""
    plain = [s for s in steps if s.action is None]
    return plain[0] if plain else (steps[0] if steps else None)


def lead_for(step: StepSpec, draft: Mapping[str, Any], session: DeskSession, *,
             carries_summary: bool) -> list[Widget]:
    """What intake adds above a step's own fields."""
    if step.action == "verify_identity":
        caller = draft.get("caller", {})
        return [
            Vertical(Label("Find the caller", classes="field-label"),
                     CallerLookup(session, id="lookup"), classes="field"),
            Vertical(Label("Caller name", classes="field-label"),
                     Input(caller.get("caller", ""), placeholder="as they gave it",
                           id="caller-name", compact=True, select_on_focus=False),
                     FieldError("caller"), FieldError("verified"), classes="field"),
            Horizontal(
                Vertical(Label("Email (optional)", classes="field-label"),
                         Input(caller.get("email", ""), placeholder="name@example.com",
                               id="caller-email", compact=True, select_on_focus=False),
                         FieldError("email"), classes="field half"),
                Vertical(Label("Phone on file (optional)", classes="field-label"),
                         Input(caller.get("phone", ""), placeholder="+1 555 0100",
                               id="caller-phone", compact=True, select_on_focus=False),
                         FieldError("phone"), classes="field half"),
                classes="pair"),
        ]
    if carries_summary:
        return [Vertical(Label("Summary: one line for the queue", classes="field-label"),
                         Input(draft.get("summary", ""), id="summary", compact=True,
                               select_on_focus=False,
                               placeholder="e.g. Outlook asks for the password again"),
                         FieldError("summary"), classes="field")]
    if step.action == "set_priority":
        return [PriorityGuide(id="guide")]
    if step.action == "open":
        kind = draft.get("type", TicketType.INCIDENT.value)
        return [Vertical(Label("Type", classes="field-label"),
                         ChoiceSelect([(t.label, t.value) for t in TicketType],
                                      allow_blank=False, value=kind, id="ticket-type",
                                      compact=True),
                         FieldError("type"), classes="field")]
    return []


def trail_for(step: StepSpec) -> list[Widget]:
    """What intake adds below a step's own fields: the SLA times of the ticket opening."""
    if step.action == "open":
        return [Static(id="open-sla", classes="field-help")]
    return []


def channel_box(choices: Sequence[str], chosen: str) -> Widget:
    """How the ticket came in, asked first: it decides which pages apply."""
    return Vertical(
        Label("Came in by", classes="field-label"),
        ChoiceSelect([(c.replace("-", " "), c) for c in choices], allow_blank=False,
                     id="intake-channel", compact=True,
                     value=chosen if chosen in choices else choices[0]),
        Static(Text("Raised by monitoring (m): no caller, the identity page is skipped."),
               classes="field-help"),
        classes="field", id="channel-box")


class IntakePage(VerticalScroll):
    """Page ``index`` of the intake: step ``step`` with its ``lead`` and ``trail``, and
    ``before`` it anything the page asks first (the channel, on the first page)."""

    def __init__(self, index: int, step: StepSpec, *, values: Mapping[str, Any],
                 lead: list[Widget], trail: list[Widget],
                 before: Sequence[Widget] = ()) -> None:
        super().__init__(id=f"page-{index}", classes="intake-page")
        self.index = index
        self.step = step
        self._values = dict(values)
        self._lead, self._trail, self._before = lead, trail, list(before)
        self.skipped: str | None = None

    def compose(self) -> ComposeResult:
        yield from self._before
        yield Static(id=f"skip-{self.index}", classes="intake-skip")
        if self.step.warning:
            yield StepWarning(self.step.warning)
        yield StepForm(self.step, values=self._values, lead=self._lead, trail=self._trail,
                       title=False, warning=False, id=f"form-{self.step.key}")

    @property
    def form(self) -> StepForm:
        return self.query_one(StepForm)

    def show_skipped(self, reason: str | None) -> None:
        """A page the checklist skips for this ticket shows why, in place of its form."""
        self.skipped = reason
        note = self.query_one(f"#skip-{self.index}", Static)
        note.display = reason is not None
        if reason is not None:
            note.update(Text(f"– Not needed on this ticket: {reason}\nctrl+s goes on to "
                             "the next page.", style="bold"))
        for widget in self.query(StepWarning):
            widget.display = reason is None
        self.form.display = reason is None

    def check(self, extra: Callable[[], None] | None = None) -> bool:
        """The domain's checks for the page (and ``extra``, intake's own fields); the
        first problem is shown beside its field. A skipped page has nothing to check."""
        clear_errors(self)
        if self.skipped is not None:
            return True
        form = self.form
        form.check_all()
        try:
            if extra is not None:
                extra()
            engine.validate_values(self.step, form.values())
        except DeskError as error:
            show_desk_error(self, error)
            return False
        return True
