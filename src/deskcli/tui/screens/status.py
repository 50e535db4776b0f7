"""Move a ticket along its workflow. Only the moves the domain allows are offered.

Resolving and closing are not offered here: they have checklist steps that collect what
they need (root cause and resolution; time and category) and check their gates.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label, Static
from textual.widgets.option_list import Option

from deskcli.domain.enums import Status
from deskcli.domain.errors import InvalidInput
from deskcli.domain.transitions import allowed_from, is_reopen
from deskcli.tui.screens.form_modal import FormModal
from deskcli.tui.widgets.field_error import FieldError
from deskcli.tui.widgets.vim_list import VimOptionList

BY_CHECKLIST = (Status.RESOLVED, Status.CLOSED)


class StatusChoice(FormModal):
    """A status list, a reason and a line of help: the single-ticket status dialog and the
    bulk status form are both this, with different moves on offer (one ticket's allowed
    moves, or every status a bare change can reach) and different words around them."""

    REASON_LABEL = "Reason (shown on the timeline; needed to reopen)"
    HELP = ("Resolve and close through the checklist's closure steps: they record the "
            "root cause, the resolution and the time.")

    def status_options(self) -> list[Option]:
        """The moves on offer, each with the status's value as its id."""
        raise NotImplementedError

    def body(self) -> ComposeResult:
        with Vertical(classes="field"):
            yield Label("Move to", classes="field-label")
            yield VimOptionList(*self.status_options(), id="status-choice")
            yield FieldError("status")
        with Vertical(classes="field"):
            yield Label(self.REASON_LABEL, classes="field-label")
            yield Input(id="status-reason", compact=True)
            yield FieldError("reason")
        yield Static(self.HELP, classes="dialog-help")

    def on_mount(self) -> None:
        choice = self.query_one("#status-choice", VimOptionList)
        choice.focus()
        choice.highlighted = 0 if choice.option_count else None

    def gather(self) -> dict[str, Any]:
        choice = self.query_one("#status-choice", VimOptionList)
        option = (choice.get_option_at_index(choice.highlighted)
                  if choice.highlighted is not None else None)
        return {"status": option.id if option else None,
                "reason": self.query_one("#status-reason", Input).value}

    @staticmethod
    def chosen(values: dict[str, Any]) -> tuple[str, str | None]:
        """The status picked and the reason typed (None when blank); no status is refused
        beside the list."""
        if not values["status"]:
            raise InvalidInput("choose the new status", field="status")
        return values["status"], values["reason"].strip() or None


class StatusScreen(StatusChoice):
    def __init__(self, ref: str, current: str) -> None:
        super().__init__(ref)
        self.current = Status(current)

    def heading(self) -> str:
        return f"Status of {self.ref}: now {self.current.label}"

    def status_options(self) -> list[Option]:
        options = []
        for status in allowed_from(self.current):
            if status in BY_CHECKLIST:
                continue
            label = Text(status.label)
            if is_reopen(self.current, status):
                label.append("  (reopen: say why below)", style="dim")
            options.append(Option(label, id=status.value))
        return options

    def perform(self, values: dict[str, Any]) -> str:
        status, reason = self.chosen(values)
        row = self.session.desk.tickets.update(self.ref, {"status": status}, reason=reason)
        return f"{self.ref} is now {Status(row['status']).label}"
