"""Log time on a ticket; when leaving a ticket, the timer's reading is offered here first.

The duration is plain text the domain parses (``25m``, ``1h15m``, ``1:15``), so the
suggestion can be corrected before it is saved, or not logged at all.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label, Static

from deskcli.tui.screens.form_modal import FormModal
from deskcli.tui.widgets.field_error import FieldError


class TimeEntryScreen(FormModal):
    def __init__(self, ref: str, *, suggested: str = "", elapsed: str = "",
                 leaving: bool = False) -> None:
        super().__init__(ref)
        self.suggested = suggested
        self.elapsed = elapsed
        self.leaving = leaving
        if leaving:
            self.SAVE_LABEL = "Log it"
            self.CANCEL_LABEL = "Don't log"

    def heading(self) -> str:
        return f"Log time on {self.ref}"

    def body(self) -> ComposeResult:
        if self.leaving:
            yield Static(Text(f"You were on this ticket for {self.elapsed}. Log it as "
                              "time? The entry is rounded up to the minute; change it if "
                              "it is not right."), classes="dialog-help")
        with Vertical(classes="field"):
            yield Label("Time spent", classes="field-label")
            yield Input(self.suggested, placeholder="25m, 1h15m, 1:15 or 45",
                        id="time-duration", compact=True)
            yield FieldError("duration")
        with Vertical(classes="field"):
            yield Label("What it was for (optional)", classes="field-label")
            yield Input(placeholder="e.g. remote session, rebuilt the mail profile",
                        id="time-note", compact=True)
            yield FieldError("note")

    def on_mount(self) -> None:
        self.query_one("#time-duration", Input).focus()

    def gather(self) -> dict[str, Any]:
        return {"duration": self.query_one("#time-duration", Input).value,
                "note": self.query_one("#time-note", Input).value}

    def perform(self, values: dict[str, Any]) -> str:
        minutes = self.session.desk.tickets.log_time(self.ref, values["duration"],
                                                     note=values["note"] or None)
        return f"{minutes} min logged on {self.ref}"
