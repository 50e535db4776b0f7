"""A checklist step's form, built from the step's data alone.

Each field becomes an input chosen by its kind (text, paragraph, email, choice, list,
file, number), with its label, help and an inline error slot. A team that adds a step to
its TOML checklist gets a working form without a line of screen code. Field checks are
the engine's (``engine.field_problem``); a field carrying the ``specific_resolution`` rule
shows the domain's verdict live as the technician types.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, Label, Select, Static, TextArea

from deskcli.domain import engine, validation
from deskcli.domain.checklist import FieldKind, FieldSpec, StepSpec
from deskcli.tui.widgets.choice import ChoiceSelect
from deskcli.tui.widgets.field_error import FORM, FieldError
from deskcli.tui.widgets.text_box import TextBox

PLACEHOLDERS = {
    FieldKind.EMAIL: "name@example.com",
    FieldKind.NUMBER: "a whole number",
    FieldKind.LIST: "comma-separated",
    FieldKind.FILE: "path of a file to attach",
}


def as_text(value: Any) -> str:
    """A stored or drafted value as the text an input shows."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):  # a file already attached: {"filename": ..., ...}
        return ""
    return str(value)


def choice_label(choice: str) -> str:
    return choice.replace("-", " ")


def choice_prompt(count: int) -> str:
    """The blank choice's prompt names the quick keys."""
    return f"Choose: 1-{count} or a first letter" if count > 1 else "Choose…"


def rule_verdict(text: str) -> Text:
    """The specificity rule's live verdict, one line per problem."""
    problems = validation.resolution_problems(text)
    if not problems:
        return Text("✓ specific enough to close on", style="green")
    return Text("\n".join(f"· {p}" for p in problems), style="yellow")


class StepWarning(Static):
    """A step's warning, pinned to the top of the scrolling page that holds the form:
    it stays on screen however far the technician scrolls (credential resets)."""

    DEFAULT_CSS = """
    StepWarning {
        dock: top;
        border: heavy $error;
        color: $text-error;
        text-style: bold;
        padding: 0 1;
        height: auto;
    }
    """

    def __init__(self, warning: str, *, id: str | None = None) -> None:
        super().__init__(Text("⚠ " + warning), id=id)


class StepForm(Vertical):
    """Renders ``step`` and reports edits (for drafts) and submissions as messages."""

    DEFAULT_CSS = """
    StepForm {
        height: auto;
        padding: 0 1 0 0;
    }
    StepForm .step-title {
        text-style: bold;
        padding-left: 1;
    }
    StepForm .step-guidance {
        color: $text-muted;
        margin-bottom: 1;
        padding-left: 1;
    }
    StepForm .step-notice {
        border-left: thick $warning;
        padding: 0 1;
        margin-bottom: 1;
    }
    StepForm .step-notice.-done {
        border-left: thick $success;
    }
    StepForm .field-rule {
        color: $text-muted;
    }
    StepForm > FieldError {
        padding-left: 2;
    }
    """

    @dataclass
    class Changed(Message):
        """A field changed: the screen keeps the values as a draft."""

        form: StepForm
        values: dict[str, Any]

    @dataclass
    class Submitted(Message):
        form: StepForm
        values: dict[str, Any]

    def __init__(self, step: StepSpec, *, values: Mapping[str, Any] | None = None,
                 notice: str = "", notice_kind: str = "", title: bool = True,
                 warning: bool = True, lead: Iterable[Widget] = (),
                 trail: Iterable[Widget] = (), id: str | None = None) -> None:
        super().__init__(id=id)
        self.step = step
        self._initial = dict(values or {})
        self._notice = notice
        self._notice_kind = notice_kind
        self._title = title
        self._warning = warning
        self._lead = list(lead)
        self._trail = list(trail)
        #: Fields the technician has left once: from then on their check runs live.
        self._checked: set[str] = set()
        #: The values last reported (or filled in): an input settling on the value it was
        #: given reports no change, so opening a step never writes a draft by itself.
        self._reported = self._as_entered(self._initial)
        #: The form's message slots (``clear_messages``), found once it is composed.
        self._slots: list[FieldError] | None = None

    # --- building ---------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        step = self.step
        if self._title:
            yield Static(Text(step.title), classes="step-title")
        if self._warning and step.warning:
            yield Static(Text("⚠ " + step.warning), classes="step-notice")
        if step.guidance:
            yield Static(Text(" ".join(step.guidance.split())), classes="step-guidance")
        # Always there (hidden when empty), so ``refill`` can say something else.
        notice = Static(Text(self._notice), classes=f"step-notice -{self._notice_kind}",
                        id="step-form-notice")
        notice.display = bool(self._notice)
        yield notice
        yield from self._lead
        for spec in step.fields:
            with Vertical(classes="field", id=f"box-{spec.key}"):
                suffix = "" if spec.required else " (optional)"
                yield Label(Text(spec.label + suffix), classes="field-label")
                yield self._input_for(spec, self._initial.get(spec.key, spec.default))
                if spec.help:
                    yield Static(Text(spec.help), classes="field-help")
                if spec.rule == "specific_resolution":
                    yield Static(rule_verdict(as_text(self._initial.get(spec.key))),
                                 classes="field-rule", id=f"rule-{spec.key}")
                yield FieldError(spec.key)
        yield from self._trail
        yield FieldError(FORM, id=f"{FORM}-error")

    def _input_for(self, spec: FieldSpec, value: Any) -> Widget:
        widget_id = f"field-{spec.key}"
        if spec.kind is FieldKind.PARAGRAPH:
            return TextBox(as_text(value), id=widget_id, soft_wrap=True,
                           tab_behavior="focus", show_line_numbers=False)
        if spec.kind is FieldKind.CHOICE:
            current = as_text(value)
            options = [(choice_label(c), c) for c in spec.choices]
            return ChoiceSelect(options, prompt=choice_prompt(len(options)), id=widget_id,
                                allow_blank=True, compact=True,
                                value=current if current in spec.choices else Select.NULL)
        # Tabbing into a filled field puts the cursor at its end: selecting it all made
        # the next key replace what was there (a caller's email was lost that way).
        return Input(as_text(value), placeholder=PLACEHOLDERS.get(spec.kind, ""),
                     id=widget_id, compact=True, select_on_focus=False)

    def refill(self, values: Mapping[str, Any], *, notice: str = "",
               notice_kind: str = "") -> None:
        """Show another ticket's ``values`` in this same step's form, in place: every
        field, the notice, the rule verdicts and the messages are replaced, so nothing
        of what was shown before stays (a reused form is only safe if it forgets)."""
        self._initial = dict(values)
        self._checked.clear()
        self._reported = self._as_entered(self._initial)
        with self.prevent(Input.Changed, TextArea.Changed, Select.Changed):
            for spec in self.step.fields:
                value = self._initial.get(spec.key, spec.default)
                widget = self.field_widget(spec.key)
                if isinstance(widget, TextArea):
                    text = as_text(value)
                    widget.load_text(text)  # its undo history goes too
                    # Filled before the screen is laid out (it may be about to be shown
                    # at another terminal size): wrap it again at the width it gets.
                    widget.call_after_refresh(self._rewrap, widget, text, widget.wrap_width)
                elif isinstance(widget, Select):
                    current = as_text(value)
                    widget.value = current if current in spec.choices else Select.NULL
                elif isinstance(widget, Input):
                    widget.value = as_text(value)
                    widget.cursor_position = len(widget.value)
                if spec.rule == "specific_resolution":
                    self.query_one(f"#rule-{spec.key}", Static).update(
                        rule_verdict(as_text(value)))
        self.clear_messages()
        shown = self.query_one("#step-form-notice", Static)
        if notice_kind != self._notice_kind or not shown.has_class("step-notice"):
            shown.set_classes(f"step-notice -{notice_kind}")  # restyles: only if new
        shown.update(Text(notice))
        shown.display = bool(notice)
        self._notice, self._notice_kind = notice, notice_kind

    def clear_messages(self) -> None:
        """No message beside any field, and no live checks until a field is left."""
        self._checked.clear()
        slots = self._slots
        if slots is None:
            slots = list(self.query(FieldError))
            if self.is_mounted:  # composed with the form and never changed: found once
                self._slots = slots
        for slot in slots:
            slot.clear()

    @staticmethod
    def _rewrap(area: TextArea, text: str, width: int) -> None:
        if isinstance(area, TextBox):
            area.fit_wrap()  # its first paint at the new width has usually done it
            return
        if area.text == text and area.wrap_width != width:  # nothing typed since
            cursor = area.cursor_location
            area.load_text(text)
            area.move_cursor(cursor)

    def _as_entered(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """``values`` as ``values()`` would read them back from freshly filled inputs."""
        out: dict[str, Any] = {}
        for spec in self.step.fields:
            value = values.get(spec.key, spec.default)
            raw: Any = as_text(value)
            if spec.kind is FieldKind.CHOICE and raw not in spec.choices:
                raw = None
            if raw is not None and str(raw).strip():
                out[spec.key] = raw
        return out

    # --- reading ----------------------------------------------------------------------

    def field_widget(self, key: str) -> Widget:
        return self.query_one(f"#field-{key}")

    def raw(self, spec: FieldSpec) -> Any:
        widget = self.field_widget(spec.key)
        if isinstance(widget, TextArea):
            return widget.text
        if isinstance(widget, Select):
            return None if widget.value is Select.NULL else widget.value
        assert isinstance(widget, Input)
        return widget.value

    def values(self) -> dict[str, Any]:
        """What was entered, as raw text: the engine normalises it on completion."""
        out: dict[str, Any] = {}
        for spec in self.step.fields:
            raw = self.raw(spec)
            if raw is not None and str(raw).strip():
                out[spec.key] = raw
        return out

    def set_value(self, key: str, value: Any) -> None:
        widget = self.field_widget(key)
        if isinstance(widget, TextArea):
            widget.text = as_text(value)
        elif isinstance(widget, Select):
            widget.value = value if value is not None else Select.NULL
        elif isinstance(widget, Input):
            widget.value = as_text(value)

    def focus_first(self) -> None:
        """Focus the first field, at the end of any text already there (a draft)."""
        for spec in self.step.fields:
            widget = self.field_widget(spec.key)
            widget.focus()
            if isinstance(widget, TextArea):
                widget.move_cursor(widget.document.end)
            return

    # --- live checks ------------------------------------------------------------------

    def _spec_of(self, widget: Widget | None) -> FieldSpec | None:
        if widget is None or not widget.id or not widget.id.startswith("field-"):
            return None
        return self.step.field(widget.id.removeprefix("field-"))

    def check_field(self, spec: FieldSpec) -> str | None:
        """Run the engine's check for one field and show or clear its message."""
        raw = self.raw(spec)
        problem = None if spec.rule else engine.field_problem(spec, raw)
        slot = self.query_one(f"#box-{spec.key} FieldError", FieldError)
        if problem:
            slot.show(problem)
        else:
            slot.clear()
        return problem

    def check_all(self) -> None:
        """Check every field and keep checking them live from now on, so each message
        goes away as soon as its field is put right."""
        self._checked.update(spec.key for spec in self.step.fields)
        for spec in self.step.fields:
            self.check_field(spec)

    def _edited(self, widget: Widget) -> None:
        spec = self._spec_of(widget)
        if spec is None:
            return
        if spec.rule == "specific_resolution":
            text = self.raw(spec) or ""
            self.query_one(f"#rule-{spec.key}", Static).update(rule_verdict(text))
        if spec.key in self._checked:
            self.check_field(spec)
        values = self.values()
        if values != self._reported:
            self._reported = values
            self.post_message(self.Changed(self, values))

    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        self._edited(event.input)

    @on(TextArea.Changed)
    def _area_changed(self, event: TextArea.Changed) -> None:
        self._edited(event.text_area)

    @on(Select.Changed)
    def _select_changed(self, event: Select.Changed) -> None:
        spec = self._spec_of(event.select)
        if spec is not None:
            self._checked.add(spec.key)
        self._edited(event.select)

    @on(Input.Blurred)
    def _input_left(self, event: Input.Blurred) -> None:
        spec = self._spec_of(event.input)
        if spec is not None and event.input.value.strip():
            self._checked.add(spec.key)
            self.check_field(spec)

    @on(Input.Submitted)
    def _next_field(self, event: Input.Submitted) -> None:
        """Enter in a one-line field moves on, as in a paper form."""
        event.stop()
        self.screen.focus_next()

    def submit(self) -> None:
        """Check every field (marking them live) and ask the screen to save the step."""
        self._checked.update(spec.key for spec in self.step.fields)
        self.query_one(f"FieldError#{FORM}-error", FieldError).clear()
        for spec in self.step.fields:
            self.check_field(spec)
        # The service still decides (gates, cross-field rules); its refusal lands inline too.
        self.post_message(self.Submitted(self, self.values()))
