"""The bottom line every screen shares: where the data lives, what is unsent, the running
timer and SLA alerts. It watches the app's state rather than asking the store itself."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import Static

from deskcli.tui.selection import MARKED

if TYPE_CHECKING:
    from deskcli.tui.app import DeskApp


def short_path(path: Path) -> str:
    """``~/...`` for paths under the home folder: the bar is narrow."""
    try:
        return "~/" + str(path.relative_to(Path.home()))
    except ValueError:
        return str(path)


class DeskStatusBar(Static):
    DEFAULT_CSS = """
    DeskStatusBar {
        height: 1;
        background: $panel;
        color: $foreground;
        padding: 0 1;
    }
    """

    def __init__(self) -> None:
        super().__init__()
        #: Tickets marked in the queue for a bulk action (the queue screen sets it).
        self.marked = 0
        self._line: Text | None = None

    def show_marked(self, count: int) -> None:
        self.marked = count
        self.refresh_line()

    def on_mount(self) -> None:
        app = cast("DeskApp", self.app)
        self.watch(app, "alerts", self._changed, init=False)
        self.watch(app, "timer_text", self._changed, init=False)
        self.watch(app, "sync_state", self._changed, init=False)
        self.watch(app, "page_alert", self._changed, init=False)
        self.refresh_line()

    def on_resize(self) -> None:
        self.refresh_line()

    def _changed(self, _value: object) -> None:
        self.refresh_line()

    def refresh_line(self) -> None:
        app = cast("DeskApp", self.app)
        alerts = app.alerts
        sync = app.sync_state
        if sync is not None and sync.mode != "local":
            # In a team the server matters more than the file: online, unsent, last sync.
            left = Text(sync.describe(),
                        style="dim" if sync.mode == "online" else "bold yellow")
        else:
            # No team server: nothing is waiting to be sent anywhere, so no "N unsent".
            left = Text(short_path(app.session.desk.store.path), style="dim")
            left.append(" · local only", style="dim")
        middle = Text()
        if app.timer_text:
            middle.append(f"timer {app.timer_text}", style="bold")
        if self.marked:
            middle.append(f"{MARKED} {self.marked:,} marked", style="bold reverse")
        right = Text()
        if alerts is not None and alerts.unpaged and not app.page_alert:
            # A new P1 and no pager: nobody was woken. It stays until a pager is set up
            # or the page is recorded by hand (the P1's "Page on-call" step).
            first, more = alerts.unpaged[0], len(alerts.unpaged) - 1
            left = Text(f"!! P1 {first} NOT PAGED: no pager set up; call on-call, record "
                        "the page" + (f" (+{more} more)" if more else ""),
                        style="bold white on red")
        if app.page_alert:
            # Louder than any SLA count, and it stays until the page is delivered.
            left = Text(f"!! {app.page_alert}", style="bold white on red")
        if alerts is not None:
            if alerts.breached:
                right.append(f"!! {alerts.breached} breached", style="bold red")
            if alerts.at_risk:
                if right:
                    right.append(" · ")
                right.append(f"! {alerts.at_risk} at risk", style="yellow")
            if alerts.mail_failing:
                if right:
                    right.append(" · ")
                right.append(f"! mail: {alerts.mail_failing[0]} failing", style="yellow")
            if not right:
                right.append("SLA clocks all fine", style="dim")
        width = max(self.size.width - 2, 20)
        used = cell_len(left.plain) + cell_len(middle.plain) + cell_len(right.plain)
        shouting = bool(app.page_alert or (alerts is not None and alerts.unpaged))
        if used + 4 > width and shouting:  # the alert keeps its start; clocks go
            right = Text()
            used = cell_len(left.plain) + cell_len(middle.plain)
            if used + 4 > width:
                middle = Text()
                left.truncate(width - 2, overflow="ellipsis")
                used = cell_len(left.plain)
        if used + 4 > width and not shouting:  # too narrow: the path gives way first
            room = max(width - cell_len(middle.plain) - cell_len(right.plain) - 4, 8)
            plain = left.plain
            left = Text("…" + plain[-(room - 1):]) if cell_len(plain) > room else left
            used = cell_len(left.plain) + cell_len(middle.plain) + cell_len(right.plain)
        gap = max(width - used, 2)
        line = Text()
        line.append_text(left)
        if middle:
            line.append(" " * (gap // 2))
            line.append_text(middle)
            line.append(" " * (gap - gap // 2))
        else:
            line.append(" " * gap)
        line.append_text(right)
        if line != self._line:  # the same line again would cost a layout of the screen
            self._line = line
            # One line tall and as wide as the screen whatever it says: a new line needs
            # a repaint, never a layout (the timer coming and going with every ticket
            # opened laid the whole queue out again on the way back).
            self.update(line, layout=False)
