"""Hand the ticket to a technician (or take it); empty leaves it unassigned."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label, Static

from deskcli.tui.screens.form_modal import FormModal
from deskcli.tui.widgets.field_error import FieldError


class AssigneeScreen(FormModal):
    def __init__(self, ref: str, current: str | None) -> None:
        super().__init__(ref)
        self.current = current

    def heading(self) -> str:
        return f"Owner of {self.ref}: now {self.current or 'nobody'}"

    def body(self) -> ComposeResult:
        with Vertical(classes="field"):
            yield Label("Technician", classes="field-label")
            yield Input(self.current or "", placeholder="handle, e.g. dana", id="assignee",
                        compact=True)
            yield FieldError("assignee")
        yield Static(f"Your handle is {self.session.tech}. Leave empty to unassign.",
                     classes="dialog-help")

    def on_mount(self) -> None:
        self.query_one("#assignee", Input).focus()

    def gather(self) -> dict[str, Any]:
        return {"assignee": self.query_one("#assignee", Input).value}

    def perform(self, values: dict[str, Any]) -> str:
        row = self.session.desk.tickets.update(
            self.ref, {"assignee": values["assignee"].strip() or None})
        return f"{self.ref} is now owned by {row['assignee'] or 'nobody'}"
