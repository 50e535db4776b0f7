"""Skip a checklist step with the reason it was not done.

Closing refuses while an applicable step is neither done nor skipped, so a step that
could not be done ("caller unreachable after two attempts") is skipped here, honestly:
the reason is required (the domain refuses a blank one, shown beside the field), and it
goes on the timeline and into ``deskcli show``.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label, Static

from deskcli.tui.screens.form_modal import FormModal
from deskcli.tui.widgets.field_error import FieldError


class SkipStepScreen(FormModal):
    SAVE_LABEL = "Skip the step"

    def __init__(self, ref: str, step_key: str, title: str) -> None:
        super().__init__(ref)
        self.step_key = step_key
        self.title = title

    def heading(self) -> str:
        return f"Skip '{self.title}' on {self.ref}"

    def body(self) -> ComposeResult:
        yield Static(Text("Say why it was not done; the reason goes on the timeline. "
                          "Completing the step later replaces the skip."),
                     classes="dialog-help")
        with Vertical(classes="field"):
            yield Label("Why it was not done", classes="field-label")
            yield Input(placeholder="e.g. caller unreachable after two attempts",
                        id="skip-reason", compact=True)
            yield FieldError("reason")
        yield FieldError("step")

    def on_mount(self) -> None:
        self.query_one("#skip-reason", Input).focus()

    def gather(self) -> dict[str, Any]:
        return {"reason": self.query_one("#skip-reason", Input).value}

    def perform(self, values: dict[str, Any]) -> str:
        self.session.desk.tickets.skip_step(self.ref, self.step_key, values["reason"])
        return f"Skipped '{self.title}' on {self.ref}"
