"""Opening a ticket and going back, timed from the key to the paint that completes it.

Run by ``bench_tui_start.py --ticket`` (``python benchmarks/ticket_paint.py RUNS BIG
[REF ...]`` with ``DESKCLI_HOME`` set); prints one JSON object.

Why not ``pilot.press``: the pilot waits for the app to go idle twice after each key (at
least 20 ms each, more while a thread is still reading), and a pushed plain screen took
47 ms by that clock, all of it waiting. Here the clock starts when the key event is handed
to the app (or when ``open_ticket`` is called, for tickets not on the queue's first rows)
and stops at the paint that completes the change:

* Every paint is a real terminal write. The console runs with a driver that keeps the
  headless driver's behaviour (no terminal, no input thread) but is not "headless", so
  Textual turns each compositor update into the escape sequences it would send a
  terminal (a headless app skips that step) and hands them to the driver. The time and
  the process's CPU time are taken when the driver has been given them.
* After the key, nothing of the bench runs until the app has settled: no pilot messages
  are put into the widgets' queues between two paints of the same change. Settled means
  the process was idle for 20 ms (the pilot's own test, which only sleeps), twice in a
  row with no paint between, no worker running, no message waiting in the app's, the
  screen's or any widget's queue, and nothing pending on the screen (layout, repaint,
  dirty widgets).
* The paints of the change are then replayed, in order, onto a model of the terminal
  (one character and style per cell). The **full paint** is the last one that changed
  any cell: from then on the terminal shows the final picture. Paints after it that
  changed nothing are counted (``idle_paints``), not timed.
* Proof that the picture is complete: once settled, the modelled terminal must equal a
  fresh render of the whole current screen (every widget asked for its lines now). A
  difference means something was drawn that is not the screen's current state, or not
  drawn at all; it is counted (``mismatches``) and the bench fails.

The floor is the same path for a plain one-label screen: a key bound to push it, and
escape (bound on it) to pop it, so its figures include the key's dispatch and Textual's
paint cycle (a screen paints on its 60 fps update timer) exactly as the ticket's do. The
console runs without its background timers (sync, sending, rules, live clocks) and with
steady cursors: each would paint on its own time. ``tests/tui/test_paint_clock.py``
checks the clock: a later paint that changes the screen moves it, and the modelled
terminal holds what the ticket shows.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar

from rich.cells import cell_len
from rich.style import Style
from textual import events
from textual._compositor import ChopsUpdate, LayoutUpdate
from textual._wait import wait_for_idle
from textual.app import App
from textual.binding import Binding, BindingType
from textual.drivers.headless_driver import HeadlessDriver
from textual.screen import Screen
from textual.strip import Strip
from textual.widgets import Input, Static, TextArea
from textual.worker import WorkerState

from deskcli.services.desk import Desk, open_desk
from deskcli.tui.app import DeskApp
from deskcli.tui.screens.queue import QueueScreen
from deskcli.tui.widgets.queue_table import QueueTable

WIDTH, HEIGHT = 120, 40
#: Each paint of each change on stderr (``BENCH_TRACE=1``).
TRACE = bool(os.environ.get("BENCH_TRACE"))
Cell = tuple[str, Style | None]


@lru_cache(maxsize=4096)
def visible(style: Style | None) -> Style | None:
    """A style as the terminal shows it: without Textual's mouse metadata and link ids,
    which are not drawn (and a link's id is new on every render)."""
    return None if style is None else style.clear_meta_and_links()


class Frame:
    """What the terminal shows: one character and style per cell."""

    def __init__(self) -> None:
        self.rows: list[list[Cell]] = [[(" ", None)] * WIDTH for _ in range(HEIGHT)]

    def put(self, x: int, y: int, strip: Iterable[Any]) -> bool:
        """Write a strip's segments from (x, y); True if any cell changed."""
        if not 0 <= y < HEIGHT:
            return False
        row, changed = self.rows[y], False
        for segment in strip:
            if segment.control:
                continue
            style = visible(segment.style)
            for char in segment.text:
                width = cell_len(char)
                for n, cell in enumerate(((char, style), ("", style))[:width]):
                    if 0 <= x + n < WIDTH and row[x + n] != cell:
                        row[x + n], changed = cell, True
                x += width
        return changed

    def apply(self, update: object) -> bool:
        """Apply a compositor update as its ``render_segments`` writes it."""
        changed = False
        if isinstance(update, LayoutUpdate):
            for y, line in enumerate(update.strips, update.region.y):
                x = update.region.x
                for strip in line:
                    changed = self.put(x, y, strip) or changed
                    x += strip.cell_length
        elif isinstance(update, ChopsUpdate):
            for y, x1, x2 in update.spans:
                for end, (x, strip) in zip(update.chop_ends[y], update.chops[y].items(),
                                           strict=False):
                    if strip is None or x > x2 or end <= x1:
                        continue
                    if not (x2 > x >= x1 and end <= x2):
                        strip = strip.crop(0, min(end, x2) - x)
                    changed = self.put(x, y, strip) or changed
        else:
            raise TypeError(f"not a compositor update: {update!r}")
        return changed

    @classmethod
    def of(cls, strips: list[Strip]) -> Frame:
        frame = cls()
        for y, strip in enumerate(strips):
            frame.put(0, y, strip)
        return frame

    def differs(self, other: Frame) -> int:
        return sum(a != b for mine, theirs in zip(self.rows, other.rows, strict=True)
                   for a, b in zip(mine, theirs, strict=True))


class WritingDriver(HeadlessDriver):
    """The headless driver, except that the app renders its terminal writes for it."""

    written = 0
    flushes = 0

    @property
    def is_headless(self) -> bool:
        return False

    def write(self, data: str) -> None:
        self.written += len(data)

    def flush(self) -> None:
        self.flushes += 1


@dataclass
class Paint:
    wall: float
    cpu: float
    screen: Screen[Any]
    update: object
    written: int


class Plain(Screen[None]):
    """The floor: one label, popped by escape."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "app.pop_screen")]

    def compose(self) -> Iterable[Static]:
        yield Static("a plain screen")


class PaintRecorder(App[Any]):
    """Mixed into an app: each terminal write recorded with its time and update."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.driver_class = WritingDriver
        self.paints: list[Paint] = []

    def _display(self, screen: Screen[Any], renderable: Any) -> None:
        driver = self._driver
        before = driver.flushes if isinstance(driver, WritingDriver) else 0
        written = driver.written if isinstance(driver, WritingDriver) else 0
        super()._display(screen, renderable)
        if isinstance(driver, WritingDriver) and driver.flushes != before:
            self.paints.append(Paint(time.perf_counter(), time.process_time(), screen,
                                     renderable, driver.written - written))


class Bench(PaintRecorder, DeskApp):
    """The console, recording each terminal write; f12 pushes the floor's plain screen."""

    BINDINGS: ClassVar[list[BindingType]] = [*DeskApp.BINDINGS,
                                             Binding("f12", "plain", show=False)]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pages_shown = 0

    def action_plain(self) -> None:
        self.push_screen(Plain())

    def on_queue_table_page_shown(self, _message: QueueTable.PageShown) -> None:
        self.pages_shown += 1


def bench_app(desk: Desk) -> Bench:
    """The console as ``deskcli`` runs it, less its background timers (sync, sending,
    rules, clocks) and the cursor's blinking: each would paint on its own time."""
    Input.cursor_blink = False
    TextArea.cursor_blink = False
    return Bench(desk, tick=None, offer_samples=False, sync_every=None, notify_every=None,
                 rules_every=None)


def busy(app: Bench) -> str:
    """What the app still has to do, or ''."""
    if any(w.state in (WorkerState.PENDING, WorkerState.RUNNING) for w in app.workers):
        return "worker"
    screen = app.screen
    if app._batch_count or screen._layout_required or screen._repaint_required \
            or screen._scroll_required or screen._recompose_required or screen._dirty_widgets:
        return "screen"
    for node in (app, *app.screen_stack, *screen.walk_children(with_self=False)):
        if node.message_queue_size:
            return f"queue of {node!r}"
    return ""


async def settle(app: Bench, arrived: Callable[[], bool], timeout: float = 30.0) -> None:
    """Wait, without sending the app anything, until it has nothing left to do."""
    give_up, quiet = time.monotonic() + timeout, 0
    while quiet < 2:
        paints = len(app.paints)
        await wait_for_idle(0)  # sleeps until a 20 ms stretch with (almost) no CPU used
        quiet = quiet + 1 if (arrived() and paints == len(app.paints)
                              and not busy(app)) else 0
        if time.monotonic() > give_up:
            raise TimeoutError(f"not settled: arrived={arrived()}, busy={busy(app)!r}")


@dataclass
class Measured:
    wall: float  # key (or call) to the write of the full paint
    cpu: float
    paints: int  # writes from the key until settled
    idle_paints: int  # of those, writes after the full paint (they changed nothing)
    bytes: int  # written up to the full paint


class Terminal:
    """The modelled terminal, kept up to date with every paint the app made."""

    def __init__(self, app: Bench) -> None:
        self.app, self.frame, self.applied = app, Frame(), 0
        self.mismatches: list[str] = []

    def catch_up(self) -> None:
        for paint in self.app.paints[self.applied:]:
            self.frame.apply(paint.update)
        self.applied = len(self.app.paints)

    async def measure(self, act: Callable[[], object], arrived: Callable[[], bool],
                      what: str) -> Measured:
        app = self.app
        await settle(app, lambda: True)
        self.catch_up()
        wall, cpu = time.perf_counter(), time.process_time()
        act()
        await settle(app, arrived)
        paints = app.paints[self.applied:]
        full, written, total = None, 0, 0
        for paint in paints:
            total += paint.written
            changed = self.frame.apply(paint.update)
            if changed:
                full, written = paint, total
            if TRACE:
                print(f"{what:>16}: {(paint.wall - wall) * 1000:6.1f} ms wall "
                      f"{(paint.cpu - cpu) * 1000:6.1f} ms cpu {paint.written:6} bytes "
                      f"{type(paint.update).__name__:12} {type(paint.screen).__name__}"
                      f"{'' if changed else ' (no change)'}", file=sys.__stderr__)
        self.applied = len(app.paints)
        if full is None:
            raise AssertionError(f"{what}: nothing on the terminal changed")
        if full.screen is not app.screen:
            self.mismatches.append(f"{what}: the last change painted {full.screen!r}")
        # Every widget of the screen asked for its lines now, against what was written.
        now = Frame.of(app.screen._compositor.render_strips())
        wrong = self.frame.differs(now)
        if wrong:
            self.mismatches.append(f"{what}: {wrong} cells differ from the settled screen")
        return Measured(full.wall - wall, full.cpu - cpu, len(paints),
                        len(paints) - paints.index(full) - 1, written)


def press(app: Bench, key: str) -> Callable[[], None]:
    """Hand a key to the app as a terminal's driver does (``Pilot.press`` without its
    waits)."""
    char = {"enter": "\r", "escape": "\x1b"}.get(key)

    def send() -> None:
        event = events.Key(key, char)
        event.set_sender(app)
        assert app._driver is not None
        app._driver.send_message(event)

    return send


def summary(measured: list[Measured]) -> dict[str, float]:
    return {"wall": statistics.median(m.wall for m in measured),
            "cpu": statistics.median(m.cpu for m in measured),
            "wall_max": max(m.wall for m in measured),
            "paints": statistics.median(m.paints for m in measured),
            "idle_paints": statistics.median(m.idle_paints for m in measured),
            "bytes": statistics.median(m.bytes for m in measured)}


async def run(runs: int, big: str, pinned: list[str]) -> dict[str, Any]:
    from deskcli.tui.screens.ticket import TicketScreen

    keys = ["floor_open", "open", "floor_escape", "escape", "open_big", "escape_big"]
    keys += [f"{what} {ref}" for ref in pinned for what in ("open", "escape")]
    out: dict[str, list[Measured]] = {k: [] for k in keys}

    with open_desk() as desk:
        app = bench_app(desk)
        async with app.run_test(headless=False, size=(WIDTH, HEIGHT)):
            term = Terminal(app)

            def queue_back(pages: int) -> Callable[[], bool]:
                # On the queue, its first page re-read and announced.
                return lambda: isinstance(app.screen, QueueScreen) and app.pages_shown > pages

            def ticket(ref: str | None) -> Callable[[], bool]:
                def shown() -> bool:
                    screen = app.screen
                    return (isinstance(screen, TicketScreen) and screen.view is not None
                            and (ref is None or screen.view.detail.ref == ref)
                            and screen.query_one("#ticket-body").display
                            and screen.form is not None)
                return shown

            await settle(app, queue_back(0))
            queue = app.screen
            assert isinstance(queue, QueueScreen)
            table = queue.table

            async def there_and_back(act: Callable[[], object], ref: str | None,
                                     keys: tuple[str, str] | None) -> None:
                what = ref or "queue"
                opened = await term.measure(act, ticket(ref), f"open {what}")
                escaped = await term.measure(press(app, "escape"),
                                             queue_back(app.pages_shown), f"escape {what}")
                if keys is not None:
                    out[keys[0]].append(opened)
                    out[keys[1]].append(escaped)

            for i in range(runs + 1):
                keep = i > 0  # the first round builds the ticket screen and warms caches
                floor_open = await term.measure(press(app, "f12"),
                                                lambda: isinstance(app.screen, Plain),
                                                "floor open")
                floor_escape = await term.measure(press(app, "escape"),
                                                  lambda: app.screen is queue, "floor escape")
                if keep:
                    out["floor_open"].append(floor_open)
                    out["floor_escape"].append(floor_escape)
                table.cursor = i % 10
                await settle(app, lambda: True)
                keys = ("open", "escape") if keep else None
                await there_and_back(press(app, "enter"), table.selected_ref, keys)
                keys = ("open_big", "escape_big") if keep else None
                await there_and_back(lambda: app.open_ticket(big), big, keys)
                for ref in pinned:  # tickets of chosen shapes, opened the same way
                    keys = (f"open {ref}", f"escape {ref}") if keep else None
                    await there_and_back(lambda ref=ref: app.open_ticket(ref), ref, keys)
    result: dict[str, Any] = {k: summary(v) for k, v in out.items()}
    result["mismatches"] = term.mismatches
    return result


def main() -> None:
    runs, big, pinned = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    result = asyncio.run(run(runs, big, pinned))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
