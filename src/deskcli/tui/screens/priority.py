"""Change the priority; the SLA clocks are recomputed by the service from the new one."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static
from textual.widgets.option_list import Option

from deskcli.domain.enums import Priority
from deskcli.domain.priority import DEFINITIONS
from deskcli.tui.screens.form_modal import FormModal
from deskcli.tui.widgets.field_error import FieldError
from deskcli.tui.widgets.vim_list import VimOptionList


class PriorityScreen(FormModal):
    def __init__(self, ref: str, current: str) -> None:
        super().__init__(ref)
        self.current = Priority(current)

    def heading(self) -> str:
        return f"Priority of {self.ref}: now {self.current.value}"

    def body(self) -> ComposeResult:
        options = []
        for priority, definition in DEFINITIONS.items():
            text = Text(f"{priority.value} {definition.name}: ", style="bold")
            text.append(definition.meaning)
            text.append(f"\n   e.g. {definition.example}", style="dim")
            options.append(Option(text, id=priority.value))
        with Vertical(classes="field"):
            yield VimOptionList(*options, id="priority-choice")
            yield FieldError("priority")
        yield Static("The SLA clocks are recomputed from the new priority.",
                     classes="dialog-help")

    def on_mount(self) -> None:
        choice = self.query_one("#priority-choice", VimOptionList)
        choice.focus()
        choice.highlighted = choice.get_option_index(self.current.value)

    def gather(self) -> dict[str, Any]:
        choice = self.query_one("#priority-choice", VimOptionList)
        index = choice.highlighted if choice.highlighted is not None else 0
        return {"priority": choice.get_option_at_index(index).id}

    def perform(self, values: dict[str, Any]) -> str:
        self.session.desk.tickets.update(self.ref, {"priority": values["priority"]})
        return f"{self.ref} is now {values['priority']}; SLA clocks recomputed"
