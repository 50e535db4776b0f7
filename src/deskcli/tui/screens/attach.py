"""Attach a file (a screenshot, a log) to the ticket by its path."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label, Static

from deskcli.tui.screens.form_modal import FormModal
from deskcli.tui.widgets.field_error import FieldError


class AttachScreen(FormModal):
    SAVE_LABEL = "Attach"

    def heading(self) -> str:
        return f"Attach a file to {self.ref}"

    def body(self) -> ComposeResult:
        with Vertical(classes="field"):
            yield Label("File", classes="field-label")
            yield Input(placeholder="path, e.g. ~/Desktop/error.png", id="attach-path",
                        compact=True)
            yield FieldError("file")
        limit = self.session.desk.config.attachment_max_bytes // (1024 * 1024)
        yield Static(f"Up to {limit} MiB. The file is copied into the store.",
                     classes="dialog-help")

    def on_mount(self) -> None:
        self.query_one("#attach-path", Input).focus()

    def gather(self) -> dict[str, Any]:
        return {"path": self.query_one("#attach-path", Input).value.strip()}

    def perform(self, values: dict[str, Any]) -> str:
        self.session.desk.tickets.attach(self.ref, values["path"])
        return f"Attached {values['path']} to {self.ref}"
