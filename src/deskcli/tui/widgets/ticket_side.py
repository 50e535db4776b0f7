"""The ticket screen's side column: how far the checklist is, a repeat of a known
problem, the ticket's parent and children, and the checklist itself.

``show`` draws all four from one ``TicketView``, so the column never mixes two tickets.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from deskcli.services.kb import Repeat
from deskcli.tui.session import TicketView
from deskcli.tui.widgets.checklist_sidebar import ChecklistSidebar
from deskcli.tui.widgets.ticket_family import TicketFamily


def repeat_text(repeat: Repeat) -> Text:
    """Repeat detection: this error was fixed before; say how often, and the fix."""
    times = "once" if repeat.count == 1 else f"{repeat.count} times"
    text = Text(f"⟳ Seen {times} before", style="bold")
    text.append(f" ({', '.join(repeat.codes)})\n")
    text.append(f"latest {repeat.latest_ref}: ", "bold")
    text.append(repeat.latest_fix or "no fix recorded")
    text.append("  · / to search", "dim")
    return text


class TicketSide(Vertical):
    def compose(self) -> ComposeResult:
        yield Static(id="progress-line")
        yield Static(id="repeat-line")
        yield TicketFamily(id="ticket-family")
        yield ChecklistSidebar(id="checklist")

    @property
    def checklist(self) -> ChecklistSidebar:
        return self.query_one(ChecklistSidebar)

    def show(self, view: TicketView, selected: str | None) -> None:
        """Show ``view``'s progress, with ``selected`` highlighted in the checklist."""
        progress = view.detail.progress
        self.query_one("#progress-line", Static).update(Text(
            f"Checklist: {progress.done} of {progress.applicable} done", style="bold"))
        repeat: Repeat | None = view.extra.get("repeat")
        line = self.query_one("#repeat-line", Static)
        line.display = repeat is not None
        if repeat is not None:
            line.update(repeat_text(repeat))
        self.query_one(TicketFamily).show(view.ticket, view.family)
        self.checklist.show_progress(progress, selected)
