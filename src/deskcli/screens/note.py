"""Write on the ticket: an internal note for the team, or a reply the caller sees.

Which one is chosen in words, not colour. The text is kept as a draft while typing, so a
note half-written when the phone rings is still there when the dialog is reopened.
"""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, Select

from deskcli.screens.form_modal import FormModal
from deskcli.widgets.field_error import FieldError
from deskcli.widgets.text_box import TextBox

DRAFT = "note"
PUBLIC, INTERNAL = "public", "internal"


class NoteScreen(FormModal):
    def __init__(self, ref: str, draft_key: str, *, public: bool) -> None:
        super().__init__(ref)
        self.draft_key = draft_key
        self.public = public

    def heading(self) -> str:
        return f"Write on {self.ref}"

    def body(self) -> ComposeResult:
        draft = self.session.drafts.load(self.draft_key).get(DRAFT, {})
        text = draft.get("text", "") if isinstance(draft, dict) else ""
        with Vertical(classes="field"):
            yield Label("Who sees it", classes="field-label")
            yield Select([("Reply to the caller: they see it, the checkpoint restarts",
                           PUBLIC), ("Internal note: the team only", INTERNAL)],
                         value=PUBLIC if self.public else INTERNAL, allow_blank=False,
                         compact=True, id="note-kind")
        with Vertical(classes="field"):
            yield Label("Text", classes="field-label")
            yield TextBox(text, id="note-text", soft_wrap=True, tab_behavior="focus",
                          show_line_numbers=False)
            yield FieldError("note")

    def on_mount(self) -> None:
        self.query_one("#note-text", TextBox).focus()

    @on(Select.Changed, "#note-kind")
    def _kind(self, event: Select.Changed) -> None:
        self.public = event.value == PUBLIC

    @on(TextBox.Changed, "#note-text")
    def _keep(self, event: TextBox.Changed) -> None:
        self.session.drafts.put(self.draft_key, DRAFT, {"text": event.text_area.text})

    def gather(self) -> dict[str, Any]:
        return {"text": self.query_one("#note-text", TextBox).text, "public": self.public}

    def perform(self, values: dict[str, Any]) -> str:
        self.session.desk.tickets.add_note(self.ref, values["text"],
                                           internal=not values["public"])
        return "Reply sent to the caller" if values["public"] else "Internal note added"

    def saved(self) -> None:
        self.session.drafts.put(self.draft_key, DRAFT, None)
