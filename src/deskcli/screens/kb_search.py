"""Search past resolved tickets for a fix (the knowledge base, until the team has one).

Every word typed must match the summary, error text, root cause or resolution of a
resolved or closed ticket. Enter on a result returns its number, which the ticket screen
adds to the step being filled in (the references of the KB step, for instance).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from deskcli.domain.numbering import display_ref
from deskcli.domain.timefmt import from_iso
from deskcli.screens.context import desk_app
from deskcli.services.session import DeskSession
from deskcli.storage.store import Row
from deskcli.widgets.vim_list import VimOptionList


def result_detail(row: Row) -> Text:
    text = Text(f"{display_ref(row['number'], row['provisional'])}  {row['summary']}\n",
                style="bold")
    resolved = from_iso(row["resolved_at"]).strftime("%d %b %Y") if row["resolved_at"] else "—"
    text.append(f"{row.get('client_name') or 'no client'} · resolved {resolved}\n", "dim")
    if row.get("error_text"):
        text.append(f"Error: {row['error_text']}\n")
    text.append(f"Cause: {row.get('root_cause') or '—'}\n")
    text.append(f"Fix: {row.get('resolution') or '—'}")
    return text


class KbSearchScreen(ModalScreen[str | None]):
    CSS_PATH = "kb_search.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Close the search"),
    ]

    @dataclass
    class _Found(Message):
        text: str
        rows: list[Row]

    def __init__(self, query: str = "") -> None:
        super().__init__()
        self.initial = query
        self._rows: list[Row] = []
        self._debounce: Timer | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="kb-dialog"):
            yield Static(Text("Search past fixes (resolved tickets)", style="bold"))
            yield Input(self.initial, placeholder="error code, product, symptom…",
                        id="kb-query", compact=True)
            yield VimOptionList(id="kb-results")
            yield Static(id="kb-detail")
            yield Static(Text("enter on a result adds its number to the step · escape closes",
                              style="dim"))

    @property
    def session(self) -> DeskSession:
        return desk_app(self).session

    def on_mount(self) -> None:
        self.query_one("#kb-query", Input).focus()
        if self.initial.strip():
            self._search(self.session, self.initial.strip())

    @on(Input.Changed, "#kb-query")
    def _typed(self, event: Input.Changed) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        text = event.value.strip()
        session = self.session
        self._debounce = self.set_timer(0.2, lambda: self._search(session, text))

    @on(Input.Submitted, "#kb-query")
    def _to_results(self) -> None:
        if self._rows:
            self.query_one("#kb-results", VimOptionList).focus()

    @work(thread=True, exclusive=True, group="kb-search")
    def _search(self, session: DeskSession, text: str) -> None:
        self.post_message(self._Found(text, session.search_kb(text) if text else []))

    def on_kb_search_screen__found(self, message: _Found) -> None:
        if message.text != self.query_one("#kb-query", Input).value.strip():
            return
        self._rows = message.rows
        results = self.query_one("#kb-results", VimOptionList)
        results.set_options([
            Option(Text(f"{display_ref(r['number'], r['provisional'])}  {r['summary']}"),
                   id=str(i)) for i, r in enumerate(message.rows)])
        detail = self.query_one("#kb-detail", Static)
        if message.rows:
            results.highlighted = 0
            detail.update(result_detail(message.rows[0]))
        else:
            detail.update(Text("No resolved ticket matches every word." if message.text
                               else "", style="dim"))

    @on(OptionList.OptionHighlighted, "#kb-results")
    def _show(self, event: OptionList.OptionHighlighted) -> None:
        index = int(event.option.id or 0)
        if index < len(self._rows):
            self.query_one("#kb-detail", Static).update(result_detail(self._rows[index]))

    @on(OptionList.OptionSelected, "#kb-results")
    def _pick(self, event: OptionList.OptionSelected) -> None:
        row = self._rows[int(event.option.id or 0)]
        self.dismiss(display_ref(row["number"], row["provisional"]))

    def action_cancel(self) -> None:
        self.dismiss(None)
