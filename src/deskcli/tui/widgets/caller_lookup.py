"""Find a known caller while they are on the line: type part of a name, email or phone.

Look-ups run in a thread worker (the callers table can be large) and the newest typed text
wins; picking a result hands the caller's record to the intake screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option

from deskcli.storage.store import Row
from deskcli.tui.session import DeskSession
from deskcli.tui.widgets.vim_list import VimOptionList


def caller_prompt(row: Row) -> Text:
    text = Text(row["name"], style="bold", no_wrap=True, overflow="ellipsis")
    if row.get("vip"):
        text.append(" VIP", style="bold yellow")
    # Name, client and phone fit one line at 80 columns; the email fills its field on pick.
    details = [v for v in (row.get("client_name"), row.get("phone")) if v]
    if details:
        text.append("  " + " · ".join(details), style="dim")
    return text


class CallerLookup(Vertical):
    DEFAULT_CSS = """
    CallerLookup {
        height: auto;
    }
    CallerLookup > OptionList {
        height: auto;
        max-height: 6;
        display: none;
        border: none;
        padding: 0;
    }
    CallerLookup > OptionList:focus {
        border: none;
    }
    CallerLookup.-found > OptionList {
        display: block;
    }
    """

    @dataclass
    class Picked(Message):
        caller: Row

    @dataclass
    class _Found(Message):
        text: str
        rows: list[Row]

    def __init__(self, session: DeskSession, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.session = session
        self._rows: list[Row] = []
        self._debounce: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Input(placeholder="name, email or phone of a known caller (enter: to the list)",
                    id="lookup-input", compact=True)
        yield VimOptionList(id="lookup-results")

    @on(Input.Changed, "#lookup-input")
    def _typed(self, event: Input.Changed) -> None:
        event.stop()
        if self._debounce is not None:
            self._debounce.stop()
        text = event.value.strip()
        if len(text) < 2:
            self._show("", [])
            return
        self._debounce = self.set_timer(0.15, lambda: self._search(text))

    @on(Input.Submitted, "#lookup-input")
    def _to_results(self, event: Input.Submitted) -> None:
        event.stop()
        if self._rows:
            results = self.query_one(VimOptionList)
            results.focus()
            results.highlighted = 0

    @work(thread=True, exclusive=True, group="caller-lookup")
    def _search(self, text: str) -> None:
        self.post_message(self._Found(text, self.session.search_callers(text)))

    def on_caller_lookup__found(self, message: _Found) -> None:
        message.stop()
        current = self.query_one("#lookup-input", Input).value.strip()
        if message.text == current:
            self._show(current, message.rows)

    def _show(self, _text: str, rows: list[Row]) -> None:
        self._rows = rows
        results = self.query_one(VimOptionList)
        results.set_options([Option(caller_prompt(r), id=str(i)) for i, r in enumerate(rows)])
        self.set_class(bool(rows), "-found")

    @on(OptionList.OptionSelected, "#lookup-results")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        index = int(event.option.id or 0)
        self.post_message(self.Picked(self._rows[index]))
        self._show("", [])

    def rows(self) -> list[dict[str, Any]]:
        return list(self._rows)
