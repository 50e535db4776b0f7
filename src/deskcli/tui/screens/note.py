"""Write on the ticket: an internal note for the team, or a reply the caller sees.

Which one is chosen in words, not colour. The text is kept as a draft while typing, so a
note half-written when the phone rings is still there when the dialog is reopened.
Canned responses: typing ``/name`` and a space swaps in the snippet of that name, filled
in for this ticket (``deskcli notify snippets`` lists them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Label, Select

from deskcli.domain.errors import DeskError
from deskcli.domain.templates import expand_shortcodes
from deskcli.tui.screens.form_modal import FormModal
from deskcli.tui.widgets.field_error import FieldError
from deskcli.tui.widgets.text_box import TextBox

DRAFT = "note"
PUBLIC, INTERNAL = "public", "internal"
#: A shortcode just finished: ``/name`` followed by the space or newline typed after it.
_JUST_TYPED = re.compile(r"(?<![\w/])/([a-z][a-z0-9_-]*)(\s)$")


class NoteScreen(FormModal):
    @dataclass
    class _Snippets(Message):
        snippets: dict[str, str]
        values: dict[str, Any]

    def __init__(self, ref: str, draft_key: str, *, public: bool,
                 initial: str | None = None) -> None:
        super().__init__(ref)
        self.draft_key = draft_key
        self.public = public
        #: Text to start with instead of the draft (the one-key checkpoint update).
        self.initial = initial
        self.snippets: dict[str, str] = {}
        self.values: dict[str, Any] = {}

    def heading(self) -> str:
        return f"Write on {self.ref}"

    def body(self) -> ComposeResult:
        draft = self.session.drafts.load(self.draft_key).get(DRAFT, {})
        text = draft.get("text", "") if isinstance(draft, dict) else ""
        if self.initial is not None:
            text = self.initial
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
        self._load_snippets()

    @work(thread=True, exclusive=True, group="snippets", exit_on_error=False)
    def _load_snippets(self) -> None:
        try:
            snippets, values = self.session.snippet_context(self.ref)
        except DeskError:
            return  # a broken snippets file: replies still work, without shortcodes
        self.post_message(self._Snippets(snippets, values))

    def on_note_screen__snippets(self, message: _Snippets) -> None:
        self.snippets, self.values = message.snippets, message.values
        box = self.query_one("#note-text", TextBox)
        expanded = expand_shortcodes(box.text, self.snippets, self.values)
        if expanded != box.text:
            self._replace(box, expanded)

    def _replace(self, box: TextBox, text: str) -> None:
        box.text = text
        box.move_cursor(box.document.end)

    @on(Select.Changed, "#note-kind")
    def _kind(self, event: Select.Changed) -> None:
        self.public = event.value == PUBLIC

    @on(TextBox.Changed, "#note-text")
    def _keep(self, event: TextBox.Changed) -> None:
        text = event.text_area.text
        match = _JUST_TYPED.search(text)
        if match and match.group(1) in self.snippets:
            start = match.start()
            self._replace(self.query_one("#note-text", TextBox),
                          text[:start] + expand_shortcodes(text[start:], self.snippets,
                                                           self.values))
            return  # the swap raises Changed again, which keeps the draft
        self.session.drafts.put(self.draft_key, DRAFT, {"text": text})

    def gather(self) -> dict[str, Any]:
        text = expand_shortcodes(self.query_one("#note-text", TextBox).text, self.snippets,
                                 self.values)
        return {"text": text, "public": self.public}

    def perform(self, values: dict[str, Any]) -> str:
        self.session.desk.tickets.add_note(self.ref, values["text"],
                                           internal=not values["public"])
        return "Reply sent to the caller" if values["public"] else "Internal note added"

    def saved(self) -> None:
        self.session.drafts.put(self.draft_key, DRAFT, None)
