"""Search the knowledge base (articles and resolved tickets) while you type.

Results come from the FTS5 index through a thread worker, a short pause after the last
key, and only the newest answer is shown: typing never waits on SQLite. The highlighted
hit is shown as Markdown beside the list. Enter on a hit returns it: the ticket screen
links an article and pre-fills the fix step's runbook, or cites a past ticket.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Input, Markdown, OptionList, Static
from textual.widgets.option_list import Option

from deskcli.services.kb import HIT_END, HIT_START, Hit, one_line
from deskcli.tui.screens.context import desk_app
from deskcli.tui.session import DeskSession
from deskcli.tui.widgets.vim_list import VimOptionList

#: Seconds after the last key before a search runs.
DEBOUNCE = 0.2


@dataclass(frozen=True)
class KbPick:
    """The hit a technician chose: an article (``ref`` is its id) or a ticket (number)."""

    kind: str
    ref: str
    ref_id: str
    title: str


def highlighted(snippet: str) -> Text:
    """A snippet with the matched words in bold (the store marks them \\x02 ... \\x03)."""
    text = Text()
    bold = False
    for part in one_line(snippet).replace(HIT_END, HIT_START).split(HIT_START):
        if part:
            text.append(part, "bold underline" if bold else "")
        bold = not bold
    return text


def hit_label(hit: Hit) -> Text:
    marker = "ART" if hit.kind == "article" else "TKT"
    label = Text(f"{marker} ", style="bold" if hit.kind == "article" else "dim")
    label.append(f"{hit.ref:<9}", "bold")
    label.append(hit.title)
    label.append("\n    ")
    label.append_text(highlighted(hit.snippet))
    return label


class KbSearchScreen(ModalScreen[KbPick | None]):
    CSS_PATH = "kb_search.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Close the search"),
    ]

    @dataclass
    class _Found(Message):
        text: str
        hits: list[Hit]

    @dataclass
    class _Preview(Message):
        ref_id: str
        markdown: str

    def __init__(self, query: str = "", articles_for: str | None = None) -> None:
        super().__init__()
        self.initial = query
        #: The client of the ticket searched from ("" for none): only articles it may use.
        self.articles_for = articles_for
        self.hits: list[Hit] = []
        #: The query whose results are on screen.
        self.shown: str | None = None
        #: The hit whose article or ticket the preview shows.
        self.previewed: str | None = None
        #: The text the last search was started for while its results are shown or on
        #: the way (None once its answer was dropped as out of date).
        self._asked: str | None = None
        self._debounce: Timer | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="kb-dialog"):
            yield Static(Text("Search the knowledge base: articles and resolved tickets",
                              style="bold"))
            yield Input(self.initial, placeholder="error code, product, symptom…",
                        id="kb-query", compact=True)
            with Horizontal(id="kb-split"):
                yield VimOptionList(id="kb-results")
                with VerticalScroll(id="kb-preview-scroll"):
                    yield Markdown("", id="kb-preview")
            yield Static(Text("↓/enter: results · enter on a hit: use it (an article is "
                              "linked and becomes the fix's runbook; a ticket is cited) "
                              "· escape: close", style="dim"), id="kb-hint")

    @property
    def session(self) -> DeskSession:
        return desk_app(self).session

    def on_mount(self) -> None:
        self.query_one("#kb-query", Input).focus()
        if self.initial.strip():
            self._ask(self.initial.strip())

    @on(Input.Changed, "#kb-query")
    def _typed(self, event: Input.Changed) -> None:
        if self._debounce is not None:
            self._debounce.stop()
            self._debounce = None
        text = event.value.strip()
        if text == self._asked:
            # The box says again what was last searched for (the pre-filled query as the
            # box mounts, or a word typed and deleted): its results stand. Searching again
            # would replace the list under the technician's keys for nothing.
            return
        self._debounce = self.set_timer(DEBOUNCE, lambda: self._ask(text))

    def _ask(self, text: str) -> None:
        self._asked = text
        self._search(self.session, text)

    @on(Input.Submitted, "#kb-query")
    def _to_results(self) -> None:
        if self.hits:
            self.query_one("#kb-results", VimOptionList).focus()

    def on_key(self, event: events.Key) -> None:
        """Down from the search box goes to the first result."""
        if event.key == "down" and self.hits and \
                self.focused is self.query_one("#kb-query", Input):
            event.prevent_default()
            event.stop()
            self.query_one("#kb-results", VimOptionList).focus()

    @work(thread=True, exclusive=True, group="kb-search")
    def _search(self, session: DeskSession, text: str) -> None:
        self.post_message(self._Found(text, session.search_kb(
            text, articles_for=self.articles_for) if text else []))

    def on_kb_search_screen__found(self, message: _Found) -> None:
        if message.text != self.query_one("#kb-query", Input).value.strip():
            # An older answer: the technician has typed on since. If it answered the
            # last words asked, they are no longer on the way: typed again, they are
            # searched again (``_typed``), as nothing shows their results.
            if message.text == self._asked:
                self._asked = None
            return
        self.shown = message.text
        self.hits = message.hits
        results = self.query_one("#kb-results", VimOptionList)
        results.set_options([Option(hit_label(hit), id=str(i))
                             for i, hit in enumerate(message.hits)])
        if message.hits:
            results.highlighted = 0
            self._preview(self.session, message.hits[0])
        else:
            self.query_one("#kb-preview", Markdown).update(
                "*Nothing matches yet.* Try the exact error code, or fewer words."
                if message.text else "")

    @on(OptionList.OptionHighlighted, "#kb-results")
    def _show(self, event: OptionList.OptionHighlighted) -> None:
        index = int(event.option.id or 0)
        if index < len(self.hits):
            self._preview(self.session, self.hits[index])

    @work(thread=True, exclusive=True, group="kb-preview", exit_on_error=False)
    def _preview(self, session: DeskSession, hit: Hit) -> None:
        self.post_message(self._Preview(hit.ref_id, session.kb_preview(hit)))

    async def on_kb_search_screen__preview(self, message: _Preview) -> None:
        results = self.query_one("#kb-results", VimOptionList)
        index = results.highlighted
        if index is None or index >= len(self.hits) or \
                self.hits[index].ref_id != message.ref_id:
            return
        await self.query_one("#kb-preview", Markdown).update(message.markdown)
        self.previewed = message.ref_id
        self.query_one("#kb-preview-scroll", VerticalScroll).scroll_home(animate=False)

    @property
    def caught_up(self) -> bool:
        """The results (and the first hit's preview) answer what is in the box now: what
        tests and the app wait for, since searching runs behind the typing."""
        if self.shown != self.query_one("#kb-query", Input).value.strip():
            return False
        return not self.hits or self.previewed in {hit.ref_id for hit in self.hits}

    @on(OptionList.OptionSelected, "#kb-results")
    def _pick(self, event: OptionList.OptionSelected) -> None:
        hit = self.hits[int(event.option.id or 0)]
        self.dismiss(KbPick(hit.kind, hit.ref, hit.ref_id, hit.title))

    def action_cancel(self) -> None:
        self.dismiss(None)
