"""The work timer of the ticket on screen: it runs while the ticket is open, shows in
the status bar, and is offered as a time entry on the way out.

A glance at a ticket is not work, so time is offered only after a full minute. Logging
time from the ticket restarts it, so what was logged is not offered again. Every half
minute of the timer the ticket's SLA clocks are drawn again (``half_minute``). The
widget has no area of its own on screen.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from textual.widget import Widget

from deskcli.services.worktimer import WorkTimer
from deskcli.tui.screens.context import desk_app


class WorkClock(Widget):
    DEFAULT_CSS = """
    WorkClock {
        display: none;
    }
    """

    def __init__(self, *, half_minute: Callable[[], object] | None = None) -> None:
        super().__init__()
        self.ref = ""
        self.timer: WorkTimer | None = None
        self._half_minute = half_minute

    def on_mount(self) -> None:
        tick = desk_app(self).tick
        if tick:
            self.set_interval(tick, self._tick)

    def start(self, ref: str, started: datetime | None = None) -> None:
        """Time work on ``ref`` from ``started`` (the intake's start), else from now."""
        now = desk_app(self).desk.now
        self.ref = ref
        self.timer = WorkTimer(started or now(), now)

    def restart(self) -> None:
        """Time was logged: count again from now."""
        self.start(self.ref)
        self.show()

    def stop(self) -> None:
        desk_app(self).timer_text = ""
        self.timer = None

    def show(self) -> None:
        if self.timer is not None:
            desk_app(self).timer_text = f"{self.ref} {self.timer.display()}"

    def entry_text(self) -> str:
        """The timer's reading as a time entry's text (empty when not running)."""
        return self.timer.entry_text() if self.timer is not None else ""

    def offers_time(self) -> bool:
        """A glance at a ticket is not work: offer time only after a full minute on it."""
        return self.timer is not None and self.timer.elapsed().total_seconds() >= 60

    def offer_time(self, then: Callable[[], object]) -> None:
        """Offer the timer's reading as an editable time entry, then carry on."""
        from deskcli.tui.screens.time_entry import TimeEntryScreen

        assert self.timer is not None
        suggested, elapsed = self.timer.entry_text(), self.timer.display()
        self.timer = None  # asked once; the answer stands

        def done(_logged: bool | None) -> None:
            desk_app(self).timer_text = ""
            then()

        self.app.push_screen(TimeEntryScreen(self.ref, suggested=suggested, elapsed=elapsed,
                                             leaving=True), done)

    def _tick(self) -> None:
        if self.screen not in self.app.screen_stack:
            return  # kept for the next ticket, not showing one
        self.show()
        if (self.timer is not None and self.timer.elapsed().seconds % 30 == 0
                and self._half_minute is not None):
            self._half_minute()
