"""The tickets behind one dashboard figure, a page at a time; enter opens a ticket.

A figure can stand on 100,000 tickets, so only the refs travel here and the rows of one
page (newest first) are read from the store when the page is shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from deskcli.storage.store import Row
from deskcli.tui.screens.context import desk_app
from deskcli.tui.widgets.status_bar import DeskStatusBar
from deskcli.tui.widgets.vim_list import VimOptionList

#: Tickets per page: a screenful or two, never the whole figure.
PAGE = 100


def ticket_line(row: Row) -> Text:
    ref = f"#{row['number']}" if row["number"] is not None else str(row["provisional"])
    text = Text(f"{ref:<8}", style="bold", no_wrap=True, overflow="ellipsis")
    text.append(f"{row['priority']}  {str(row['status'])[:13]:<14}")
    text.append(f"{(row['client'] or '—')[:18]:<19}", style="dim")
    text.append(str(row["summary"]))
    return text


class MetricTicketsScreen(Screen[None]):
    CSS_PATH = "metric_tickets.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "back", "Back", tooltip="Back to the dashboard"),
        Binding("n", "page(1)", "Next page", tooltip="The next page of tickets"),
        Binding("p", "page(-1)", "Previous page", tooltip="The previous page of tickets"),
    ]

    @dataclass
    class _Page(Message):
        page: int
        rows: list[Row]

    def __init__(self, title: str, refs: tuple[str, ...]) -> None:
        super().__init__()
        self.heading = title
        #: Newest first: the tickets a lead looks at are usually the recent ones.
        self.refs = tuple(reversed(refs))
        self.page = 0
        self._rows: list[Row] = []

    @property
    def pages(self) -> int:
        return max(1, -(-len(self.refs) // PAGE))

    def compose(self) -> ComposeResult:
        yield Static(id="drill-title")
        yield VimOptionList(id="drill-rows")
        yield DeskStatusBar()
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#drill-rows", VimOptionList).focus()
        self._show(0)

    def _show(self, page: int) -> None:
        self.page = page
        title = Text(f" {self.heading} · {len(self.refs):,} tickets", style="bold")
        if self.pages > 1:
            title.append(f"   page {page + 1} of {self.pages} (n/p)", style="dim")
        self.query_one("#drill-title", Static).update(title)
        self._read(page, self.refs[page * PAGE:(page + 1) * PAGE])

    @work(thread=True, exclusive=True, group="drill")
    def _read(self, page: int, refs: tuple[str, ...]) -> None:
        session = desk_app(self).session
        self.post_message(self._Page(page, session.run(session.desk.store.tickets.by_refs,
                                                       list(refs))))

    def on_metric_tickets_screen__page(self, message: _Page) -> None:
        if message.page != self.page:
            return
        self._rows = message.rows
        rows = self.query_one("#drill-rows", VimOptionList)
        if not message.rows:
            rows.set_options([Option(Text("No tickets behind this figure.", style="dim"),
                                     disabled=True)])
            return
        rows.set_options([Option(ticket_line(row), id=str(i))
                          for i, row in enumerate(message.rows)])
        rows.highlighted = 0

    @on(OptionList.OptionSelected, "#drill-rows")
    def _open(self, event: OptionList.OptionSelected) -> None:
        from deskcli.tui.screens.ticket import TicketScreen

        row = self._rows[int(event.option.id or 0)]
        ref = f"#{row['number']}" if row["number"] is not None else str(row["provisional"])
        self.app.push_screen(TicketScreen(ref))

    def action_page(self, step: int) -> None:
        target = self.page + step
        if 0 <= target < self.pages:
            self._show(target)

    def action_back(self) -> None:
        self.app.pop_screen()
