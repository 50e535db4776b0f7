"""The full-screen technician console: ``deskcli`` with no arguments opens it.

``build_app(desk)`` is the factory the entry point, the pilot tests and the snapshot tests
share; tests hand it a desk on a fixed clock and switch off the live timers. Screens other
than the queue are imported when first opened, which keeps the cold start close to that of
a bare Textual app (see ``benchmarks/bench_tui_start.py``).
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.dom import DOMNode
from textual.message import Message
from textual.reactive import reactive
from textual.screen import Screen

from deskcli.clock import new_id as system_ids
from deskcli.domain.errors import ChecklistFileError, DeskError, InvalidInput
from deskcli.services.desk import Desk, open_desk
from deskcli.storage.store import StoreError
from deskcli.tui.screens.queue import QueueScreen
from deskcli.tui.session import Alerts, DeskSession, NotifyState, SyncState

if TYPE_CHECKING:  # the ticket screen loads when the first ticket opens
    from deskcli.tui.screens.ticket import TicketScreen

#: Allocations between the collector's young passes once the console has settled
#: (``DeskApp.keep_heap``); Python's default is 700.
YOUNG_GC_THRESHOLD = 5000


def command_bindings(nodes: Iterable[DOMNode]) -> Iterator[tuple[Binding, DOMNode]]:
    """Every described binding of ``nodes``: the palette and the help list are built from
    the same bindings the keys use, so neither can drift from what the keys do."""
    seen: set[str] = set()
    for node in nodes:
        for binding in Binding.make_bindings(getattr(type(node), "BINDINGS", [])):
            if binding.description and binding.action not in seen:
                seen.add(binding.action)
                yield binding, node


class DeskApp(App[int]):
    #: Absolute, so a subclass defined elsewhere (tests, the benchmark) finds it too.
    CSS_PATH = Path(__file__).parent / "app.tcss"
    TITLE = "deskcli"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark,f1", "help", "Help", tooltip="Every key, by screen"),
        Binding("ctrl+q", "quit", "Quit", priority=True, show=False,
                tooltip="Quit from anywhere (a running timer is offered as time first)"),
    ]

    # The app's state below is data: the status bars watch it and redraw their one
    # line. ``repaint=False``: an app's own repaint is a full repaint of the screen.
    #: SLA alerts and unsent changes, for every screen's status bar.
    alerts: reactive[Alerts | None] = reactive(None, repaint=False)
    #: The running work timer, e.g. ``#1042 12:05``; empty when no ticket is open.
    timer_text: reactive[str] = reactive("", repaint=False)
    #: The team server as last seen by the background sync (None: not known yet).
    sync_state: reactive[SyncState | None] = reactive(None, repaint=False)
    #: An undelivered P1 page (or stopped notifications): shown on every screen until
    #: the page goes out. Empty when all is well.
    page_alert: reactive[str] = reactive("", repaint=False)

    @dataclass
    class Synced(Message):
        state: SyncState

    @dataclass
    class NotifyDone(Message):
        state: NotifyState

    @dataclass
    class AlertsRead(Message):
        alerts: Alerts

    @dataclass
    class RulesDone(Message):
        fired: int

    class StoreEmpty(Message):
        """The store has no tickets at all: offer the sample data."""

    class SamplesLoaded(Message):
        pass

    def __init__(self, desk: Desk, *, new_id: Callable[[], str] = system_ids,
                 tick: float | None = 1.0, offer_samples: bool = True,
                 sample_count: int = 1000, sync_every: float | None = 30.0,
                 notify_every: float | None = 15.0,
                 rules_every: float | None = 60.0) -> None:
        super().__init__()
        from deskcli.tui.widgets import inert

        inert.install()  # no control character from data ever reaches the terminal
        #: Seconds between runs of the outbound sender; None turns it off (it also stays
        #: off when the config sets up no channels).
        self.notify_every = notify_every
        #: Seconds between passes of the time-based rules; None turns them off (they
        #: also stay off without a rules file, and on a store joined to a server).
        self.rules_every = rules_every
        #: Seconds between background syncs with the team server; None turns them off.
        self.sync_every = sync_every
        self.session = DeskSession(desk, new_id=new_id)
        #: Seconds between repaints of live clocks; None (tests, snapshots) freezes them.
        self.tick = tick
        self.offer_samples = offer_samples
        self.sample_count = sample_count
        #: The one ticket screen, built on the first open and kept (``open_ticket``).
        self._ticket_screen: TicketScreen | None = None
        #: What ``keep_heap`` has already been called for.
        self._kept: set[str] = set()
        #: The collector's thresholds before ``keep_heap`` raised the young one.
        self._gc_thresholds: tuple[int, int, int] | None = None

    @property
    def desk(self) -> Desk:
        return self.session.desk

    def open_ticket(self, ref: str, *, timer_started: datetime | None = None,
                    switch: bool = False) -> None:
        """Show ticket ``ref`` (pushed, or in place of the current screen with ``switch``).

        The ticket screen is built once and kept when the technician goes back: the next
        ticket only changes what it shows, so opening one does not compose and style a
        hundred widgets again. That ticket is read and filled in before the screen is
        pushed, so it is laid out and painted once, whole. A second ticket opened while
        the first is still on the stack (from a screen above it) gets a screen of its
        own, dropped when it closes.
        """
        from deskcli.tui.screens.ticket import TicketScreen
        from deskcli.tui.widgets.presence import Presence

        screen = self._ticket_screen
        if screen is not None and screen not in self.screen_stack:
            origin, kept = self.screen, screen

            def arrive() -> None:
                # Read and filled in while the queue stayed up: shown only if the
                # technician is still where they asked from (not off in another screen).
                if self.screen is origin and kept not in self.screen_stack:
                    if switch:
                        self.switch_screen(kept)
                    else:
                        self.push_screen(kept)
                else:  # not shown after all: the team is not told it is open
                    kept.query_one(Presence).leave()

            screen.show_ticket(ref, timer_started=timer_started, then=arrive)
            return
        screen = TicketScreen(ref, timer_started=timer_started)
        if self._ticket_screen is None:
            self._ticket_screen = screen
            self.install_screen(screen, "ticket")
        if switch:
            self.switch_screen(screen)
        else:
            self.push_screen(screen)

    def on_mount(self) -> None:
        self.push_screen(QueueScreen())  # it asks for the alerts once its first page shows
        if self.tick:
            self.set_interval(max(self.tick, 30.0), self.refresh_alerts)
        if self.offer_samples:
            self._check_empty()
        if self.sync_every:
            self.run_sync()
            self.set_interval(self.sync_every, self.run_sync)
        if self.notify_every and self.session.notify_enabled():
            self.run_notify()
            self.set_interval(self.notify_every, self.run_notify)
        if self.rules_every and self.session.rules_enabled():
            self.set_interval(self.rules_every, self.run_rules)

    def on_unmount(self) -> None:
        self.session.close_sync()
        gc.unfreeze()  # what ``keep_heap`` kept out of sight can be collected again
        if self._gc_thresholds is not None:
            gc.set_threshold(*self._gc_thresholds)

    def keep_heap(self, what: str) -> None:
        """Take the objects alive now out of the garbage collector's full passes.

        Once the queue has shown, and again once the kept ticket screen has, nearly
        every object is there for the console's lifetime (modules, screens, widgets,
        styles); a full collection walked all ~100,000 of them, 50-75 ms that landed
        in one ticket open out of three. ``gc.freeze`` leaves them out of later passes,
        which then walk only what was made since. Once per ``what``, after a pass over
        the young generations (their garbage is not kept); undone on exit."""
        if what in self._kept:
            return
        self._kept.add(what)
        gc.collect(1)
        gc.freeze()
        if self._gc_thresholds is None:
            # A ticket opened allocates ~15,000 objects that die within it: at Python's
            # 700 allocations per young pass that was ~22 passes and two middle ones per
            # open, each walking what the open had built so far (~10 ms of ~80). Fewer,
            # larger young passes collect the same garbage (undone on exit).
            self._gc_thresholds = gc.get_threshold()
            gc.set_threshold(YOUNG_GC_THRESHOLD, *self._gc_thresholds[1:])

    # --- the team server ---------------------------------------------------------------

    @work(thread=True, exclusive=True, group="sync", exit_on_error=False)
    def run_sync(self) -> None:
        """Sync in a thread: a slow or absent server never blocks typing."""
        self.post_message(self.Synced(self.session.sync_once()))

    def on_desk_app_synced(self, message: Synced) -> None:
        state = message.state
        previous, self.sync_state = self.sync_state, state
        if state.mode == "local":
            return
        if previous is not None and previous.mode != state.mode:
            self.notify("Team server reachable again: changes are flowing"
                        if state.mode == "online" else
                        f"Working offline ({state.message}); nothing is lost, changes "
                        "go out when the server is back", severity="information"
                        if state.mode == "online" else "warning")
        self.refresh_alerts()
        if not state.changed:
            return
        from deskcli.tui.screens.ticket import TicketScreen

        for screen in self.screen_stack:
            if isinstance(screen, QueueScreen):
                screen.action_refresh()
        current = self.screen
        if (isinstance(current, TicketScreen) and current.view is not None
                and current.view.ticket["id"] in state.changed):
            current.load()
            self.notify(f"{current.ref} was changed by a colleague; showing the latest "
                        "(your draft is kept)")

    # --- time-based rules -----------------------------------------------------------------

    @work(thread=True, exclusive=True, group="rules", exit_on_error=False)
    def run_rules(self) -> None:
        """One pass of the time-based rules in a thread, off the screen's way."""
        self.post_message(self.RulesDone(self.session.rules_once()))

    def on_desk_app_rules_done(self, message: RulesDone) -> None:
        if not message.fired:
            return
        for screen in self.screen_stack:
            if isinstance(screen, QueueScreen):
                screen.action_refresh()
        self.refresh_alerts()
        if self.session.notify_enabled():
            self.run_notify()

    # --- outbound messages ----------------------------------------------------------------

    @work(thread=True, exclusive=True, group="notify", exit_on_error=False)
    def run_notify(self) -> None:
        """Send what is due in a thread; screens call it after a change that queues."""
        if self.session.notify_enabled():
            self.post_message(self.NotifyDone(self.session.notify_once()))

    def on_desk_app_notify_done(self, message: NotifyDone) -> None:
        alert = message.state.alert()
        previous, self.page_alert = self.page_alert, alert
        if alert and alert != previous:
            self.notify(message.state.detail(), title=alert, severity="error", timeout=30)
        from deskcli.tui.screens.ticket import TicketScreen

        current = self.screen
        if not isinstance(current, TicketScreen) or current.view is None:
            return
        if message.state.sent:
            current.load()  # the page state and the timeline moved on
        elif alert != previous or current.view.extra.get("page") in (
                "queued", "retrying", "failed"):
            # Another process (`deskcli notify send`) may have delivered the page.
            current.refresh_header()

    # --- background reads ---------------------------------------------------------------

    @work(thread=True, exclusive=True, group="alerts")
    def refresh_alerts(self) -> None:
        self.post_message(self.AlertsRead(self.session.alerts()))

    def on_desk_app_alerts_read(self, message: AlertsRead) -> None:
        self.alerts = message.alerts

    @work(thread=True, group="startup")
    def _check_empty(self) -> None:
        if self.session.is_empty():
            self.post_message(self.StoreEmpty())

    def on_desk_app_store_empty(self, _message: StoreEmpty) -> None:
        from deskcli.tui.screens.sample_data import SampleDataScreen

        def chosen(load: bool | None) -> None:
            if load:
                self.notify(f"Loading {self.sample_count:,} sample tickets…")
                self._load_samples()

        from deskcli.tui.widgets.status_bar import short_path

        self.push_screen(SampleDataScreen(self.sample_count,
                                          short_path(self.desk.store.path)), chosen)

    @work(thread=True, exclusive=True, group="samples")
    def _load_samples(self) -> None:
        try:
            self.session.load_samples(self.sample_count)
        except DeskError as error:
            self.call_from_thread(self.notify, error.message, severity="error")
            return
        self.post_message(self.SamplesLoaded())

    def on_desk_app_samples_loaded(self, _message: SamplesLoaded) -> None:
        self.notify("Sample data loaded. It never syncs to a team server.")
        self.refresh_alerts()
        for screen in self.screen_stack:
            if isinstance(screen, QueueScreen):
                screen.action_refresh()

    # --- keys everywhere ------------------------------------------------------------------

    def action_help(self) -> None:
        from deskcli.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    async def action_quit(self) -> None:
        """Quit, first offering the running timer as a time entry if a ticket is open."""
        from deskcli.tui.screens.ticket import TicketScreen
        from deskcli.tui.widgets.work_clock import WorkClock

        for screen in self.screen_stack:
            flush = getattr(screen, "flush", None)
            if callable(flush):
                flush()  # a draft still waiting for its debounce is written first
        for screen in reversed(self.screen_stack):
            if isinstance(screen, TicketScreen) and screen.offers_time():
                screen.query_one(WorkClock).offer_time(then=self.exit)
                return
        self.exit(0)

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """Every action of the current screen, then the app's, in the command palette."""
        for binding, node in command_bindings([screen, self]):
            key = self.get_key_display(binding)
            yield SystemCommand(binding.tooltip or binding.description, f"Key: {key}",
                                partial(self.run_action, binding.action, node))
        yield from super().get_system_commands(screen)


def build_app(desk: Desk, *, new_id: Callable[[], str] = system_ids,
              tick: float | None = 1.0, offer_samples: bool = True,
              sample_count: int = 1000, sync_every: float | None = 30.0,
              notify_every: float | None = 15.0) -> DeskApp:
    """The app on an open desk. Tests pass a desk on a fixed clock, seeded ids and
    ``tick=None``, so no live timer moves between two snapshots."""
    return DeskApp(desk, new_id=new_id, tick=tick, offer_samples=offer_samples,
                   sample_count=sample_count, sync_every=sync_every,
                   notify_every=notify_every)


def main() -> int:
    """Open the technician's desk and run the console; the exit code for the shell."""
    try:
        desk = open_desk()
        try:
            len(desk.checklists)  # read on first use; the console needs them at once
        except ChecklistFileError:
            desk.close()
            raise
    except (InvalidInput, ChecklistFileError) as error:
        # A config or checklist file that cannot be used is the environment, not what was
        # typed: exit 1, as every command does (docs/cli.md, exit codes).
        print(f"deskcli: {error.message}", file=sys.stderr)
        return 1
    except (DeskError, StoreError) as error:
        print(f"deskcli: {error}", file=sys.stderr)
        return 1
    with desk:
        app = build_app(desk)
        result = app.run()
    return int(result or app.return_code or 0)


if __name__ == "__main__":
    sys.exit(main())
