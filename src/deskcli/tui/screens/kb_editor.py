"""Write or fix the KB article for a ticket (the closure step "update the KB").

Opens on the article already linked to the ticket, or on a draft made from the ticket
(symptom from the caller's words and the error, cause from the root cause, steps from the
resolution). ctrl+s saves it (a new article, or a new version of the linked one) and
links it to the ticket; the answer is the article's id, for the step's form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static, TextArea

from deskcli.domain.errors import DeskError
from deskcli.domain.kb import ArticleDraft, short_handle, split_list
from deskcli.tui.screens.context import desk_app
from deskcli.tui.session import DeskSession


@dataclass(frozen=True)
class KbSaved:
    """What the editor saved: the article's id and whether it is new."""

    handle: str
    created: bool


class KbEditorScreen(ModalScreen[KbSaved | None]):
    CSS_PATH = "kb_editor.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save article", priority=True),
        Binding("escape", "cancel", "Close without saving"),
    ]

    @dataclass
    class _Loaded(Message):
        draft: ArticleDraft
        article_id: str | None

    @dataclass
    class _Saved(Message):
        saved: KbSaved

    @dataclass
    class _Refused(Message):
        error: DeskError

    def __init__(self, ticket_ref: str) -> None:
        super().__init__()
        self.ticket_ref = ticket_ref
        self.article_id: str | None = None
        #: What was loaded: fields this form does not show (the client) are kept from it.
        self.base = ArticleDraft(title="")
        self.loaded = False

    def compose(self) -> ComposeResult:
        with Vertical(id="kb-editor"):
            yield Static(Text(f"Knowledge-base article for {self.ticket_ref}", style="bold"),
                         id="kb-editor-title")
            yield Label("Title")
            yield Input(id="kb-title", compact=True)
            with Horizontal(id="kb-meta"):
                with Vertical():
                    yield Label("Tags (comma-separated)")
                    yield Input(id="kb-tags", compact=True)
                with Vertical():
                    yield Label("Error codes")
                    yield Input(id="kb-errors", compact=True)
                with Vertical():
                    yield Label("Products")
                    yield Input(id="kb-products", compact=True)
            yield Label("Body (Markdown: symptom, cause, steps)")
            yield TextArea(id="kb-body", soft_wrap=True, show_line_numbers=False)
            yield Static(id="kb-editor-error")
            with Horizontal(id="kb-editor-buttons"):
                yield Button("Save and link (ctrl+s)", id="kb-save", variant="primary",
                             compact=True)
                yield Button("Cancel (escape)", id="kb-cancel", compact=True)

    @property
    def session(self) -> DeskSession:
        return desk_app(self).session

    def on_mount(self) -> None:
        self._load(self.session, self.ticket_ref)

    @work(thread=True, exclusive=True, group="kb-editor")
    def _load(self, session: DeskSession, ref: str) -> None:
        draft, article = session.run(session.kb.draft_for_ticket, ref)
        self.post_message(self._Loaded(draft, article["id"] if article else None))

    def on_kb_editor_screen__loaded(self, message: _Loaded) -> None:
        draft = message.draft
        self.article_id = message.article_id
        self.base = draft
        what = (f"editing linked article {short_handle(self.article_id)}"
                if self.article_id else "new article drafted from the ticket")
        self.query_one("#kb-editor-title", Static).update(Text.assemble(
            (f"Knowledge-base article for {self.ticket_ref}", "bold"), f"  ({what})"))
        self.query_one("#kb-title", Input).value = draft.title
        self.query_one("#kb-tags", Input).value = ", ".join(draft.tags)
        self.query_one("#kb-errors", Input).value = ", ".join(draft.error_codes)
        self.query_one("#kb-products", Input).value = ", ".join(draft.products)
        self.query_one("#kb-body", TextArea).text = draft.body
        self.query_one("#kb-title", Input).focus()
        self.loaded = True

    def draft(self) -> ArticleDraft:
        return self.base.replace(
            title=self.query_one("#kb-title", Input).value,
            tags=split_list(self.query_one("#kb-tags", Input).value),
            error_codes=split_list(self.query_one("#kb-errors", Input).value),
            products=split_list(self.query_one("#kb-products", Input).value),
            body=self.query_one("#kb-body", TextArea).text)

    @on(Button.Pressed, "#kb-save")
    def action_save(self) -> None:
        if self.loaded:
            self._save(self.session, self.ticket_ref, self.draft(), self.article_id)

    @work(thread=True, exclusive=True, group="kb-editor-save")
    def _save(self, session: DeskSession, ref: str, draft: ArticleDraft,
              article_id: str | None) -> None:
        try:
            article, _changed = session.run(session.kb.save_for_ticket, ref, draft,
                                            article_id)
        except DeskError as error:
            self.post_message(self._Refused(error))
        else:
            self.post_message(self._Saved(KbSaved(short_handle(article["id"]),
                                                  article_id is None)))

    def on_kb_editor_screen__refused(self, message: _Refused) -> None:
        self.query_one("#kb-editor-error", Static).update(
            Text(f"✗ {message.error.message}", style="bold red"))

    def on_kb_editor_screen__saved(self, message: _Saved) -> None:
        self.dismiss(message.saved)

    @on(Button.Pressed, "#kb-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
