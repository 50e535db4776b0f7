"""The ticket's timeline: every event with who and when, note bodies written out.

Public replies and internal notes are labelled in words, because which one the caller
saw matters and colour alone would not show it. A table keeps long lines hanging under
their own column at any width.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.events import Click
from textual.message import Message
from textual.widgets import Static

from deskcli.domain.timefmt import from_iso
from deskcli.storage.store import Row

_KIND_STYLE = {
    "public_reply": "bold cyan",
    "caller_reply": "bold magenta",
    "internal_note": "bold",
    "escalated": "bold yellow",
    "resolved": "bold green",
    "closed": "bold green",
    "reopened": "bold yellow",
    "identity_unverified": "bold yellow",
}


def collected_of(event: Row) -> list[tuple[str, str]]:
    """What a completed step collected, as its event recorded it (labels and text)."""
    if event.get("kind") != "step_completed" or not event.get("detail"):
        return []
    try:
        detail = json.loads(event["detail"])
    except (TypeError, ValueError):
        return []
    pairs = detail.get("collected") if isinstance(detail, dict) else None
    if not isinstance(pairs, list):
        return []
    return [(str(p[0]), str(p[1])) for p in pairs if isinstance(p, list) and len(p) == 2]


def render_timeline(events: Sequence[Row]) -> RenderableType:
    if not events:
        return Text("Nothing has happened on this ticket yet.", style="dim")
    table = Table(box=None, show_header=False, padding=(0, 1, 0, 0), expand=True)
    table.add_column("when", no_wrap=True, style="dim")
    table.add_column("who", no_wrap=True, style="dim")
    table.add_column("what", ratio=1)
    for event in events:
        what = Text(event["summary"], style=_KIND_STYLE.get(event["kind"], ""))
        for label, value in collected_of(event):
            what.append(f"\n{label}: ", style="dim")
            what.append(value)
        body = event.get("note_body")
        if body:
            label = ("internal" if event.get("note_internal") else
                     "from the caller" if event["kind"] == "caller_reply" else "to the caller")
            what.append(f"\n[{label}] ", style="dim")
            what.append(body)
        table.add_row(from_iso(event["at"]).strftime("%d %b %H:%M"), event["actor"], what)
    return table


#: Reads the page of events before the given one: (events oldest first, earlier ones left).
EarlierReader = Callable[[str, Row], tuple[list[Row], bool]]


class TimelineView(VerticalScroll):
    """The latest events of a ticket, with earlier ones read on demand: ``e`` (or a click
    on the line at the top) reads the page before, in a thread worker."""

    DEFAULT_CSS = """
    TimelineView {
        height: 1fr;
        padding: 0 1;
    }
    TimelineView > Static {
        width: 100%;
    }
    TimelineView > #timeline-earlier {
        color: $text-muted;
        display: none;
        dock: top;
    }
    TimelineView > #timeline-earlier.-shown {
        display: block;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("e", "earlier", "Earlier events", show=False,
                tooltip="Show the timeline's earlier events"),
    ]

    @dataclass
    class _Earlier(Message):
        shown: int
        events: list[Row]
        more: bool

    def __init__(self, read_earlier: EarlierReader | None = None, *,
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self.read_earlier = read_earlier
        self.ticket_id: str | None = None
        self.events: list[Row] = []
        self.more = False
        self._asked = False
        #: Counts the timelines shown: a page read for an earlier one is dropped.
        self._shown = 0
        #: Events taken by ``show`` but not drawn yet (``draw_pending``).
        self._pending = False

    def compose(self) -> ComposeResult:
        yield Static(id="timeline-text")
        yield Static(id="timeline-earlier")  # docked above the events

    def show(self, events: Sequence[Row], more: bool = False, *,
             ticket_id: str | None = None, draw: bool = True) -> None:
        """The latest events of ticket ``ticket_id``; ``more`` when earlier ones exist.

        ``draw`` False: the events are taken but not drawn until ``draw_pending`` (the
        ticket screen's timeline tab is out of sight when a ticket opens, and laying
        out a page of events nobody sees was part of every open's first paint)."""
        self._shown += 1
        self.ticket_id = ticket_id
        self.events = list(events)
        self.more, self._asked = more, False
        self._pending = True
        if draw:
            self.draw_pending()

    @property
    def pending(self) -> bool:
        """The events taken by the last ``show`` are not drawn yet."""
        return self._pending

    def draw_pending(self) -> None:
        """Draw the events the last ``show`` took, if not drawn yet (latest at the
        bottom, in view)."""
        if self._pending:
            self._pending = False
            self._draw(self.more)
            self.scroll_end(animate=False)

    def prepend(self, events: Sequence[Row], more: bool) -> None:
        """Earlier events go above the ones shown."""
        self.draw_pending()
        self.events = [*events, *self.events]
        self._draw(more)
        self.scroll_home(animate=False)

    def _draw(self, more: bool) -> None:
        self.more, self._asked = more, False
        earlier = self.query_one("#timeline-earlier", Static)
        earlier.set_class(more, "-shown")
        if more:
            earlier.update(Text("… earlier events: press e to show them", style="dim"))
        self.query_one("#timeline-text", Static).update(render_timeline(self.events))

    def action_earlier(self) -> None:
        if (self.more and self.events and not self._asked and self.ticket_id is not None
                and self.read_earlier is not None):
            self._asked = True  # once per page: a held key must not ask again and again
            self._read(self.read_earlier, self.ticket_id, self.events[0], self._shown)

    @work(thread=True, exclusive=True, group="timeline-earlier")
    def _read(self, read: EarlierReader, ticket_id: str, first: Row, shown: int) -> None:
        events, more = read(ticket_id, first)
        self.post_message(self._Earlier(shown, events, more))

    def on_timeline_view__earlier(self, message: _Earlier) -> None:
        if message.shown == self._shown:
            self.prepend(message.events, message.more)

    def on_click(self, event: Click) -> None:
        if event.widget is not None and event.widget.id == "timeline-earlier":
            self.action_earlier()
