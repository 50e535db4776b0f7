"""The ticket's timeline: every event with who and when, note bodies written out.

Public replies and internal notes are labelled in words, because which one the caller
saw matters and colour alone would not show it. A table keeps long lines hanging under
their own column at any width.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
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


class TimelineView(VerticalScroll):
    DEFAULT_CSS = """
    TimelineView {
        height: 1fr;
        padding: 0 1;
    }
    TimelineView > Static {
        width: 100%;
    }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="timeline-text")

    def show(self, events: Sequence[Row]) -> None:
        self.query_one("#timeline-text", Static).update(render_timeline(events))
        self.scroll_end(animate=False)
