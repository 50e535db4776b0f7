"""The caller's satisfaction rating (1-5) and their own words, as ``deskcli csat`` takes it.

The rules are the domain's, the same for both front ends: a whole number from 1 to 5,
only on a resolved or closed ticket, one answer per resolution. A refusal is shown beside
the field it is about and nothing is written.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label, Static

from deskcli.tui.screens.form_modal import FormModal
from deskcli.tui.widgets.field_error import FieldError
from deskcli.tui.widgets.text_box import TextBox


class CsatScreen(FormModal):
    SAVE_LABEL = "Record the rating"

    def heading(self) -> str:
        return f"The caller's rating of {self.ref}"

    def body(self) -> ComposeResult:
        yield Static(Text("What the caller answered to the survey: 1 (very unhappy) to 5 "
                          "(very happy), and anything they said, as they said it."),
                     classes="dialog-help")
        with Vertical(classes="field"):
            yield Label("Score (1-5)", classes="field-label")
            yield Input(placeholder="1 to 5", id="csat-score", compact=True, max_length=3,
                        select_on_focus=False)
            yield FieldError("score")
        with Vertical(classes="field"):
            yield Label("In the caller's words (optional)", classes="field-label")
            yield TextBox(id="csat-comment", soft_wrap=True, tab_behavior="focus",
                          show_line_numbers=False)
            yield FieldError("comment")
        yield FieldError("status")

    def on_mount(self) -> None:
        self.query_one("#csat-score", Input).focus()

    def gather(self) -> dict[str, Any]:
        return {"score": self.query_one("#csat-score", Input).value.strip(),
                "comment": self.query_one("#csat-comment", TextBox).text}

    def perform(self, values: dict[str, Any]) -> str:
        self.session.desk.tickets.record_csat(self.ref, values["score"],
                                              values["comment"] or None)
        return f"Rating {values['score']}/5 recorded on {self.ref}"
