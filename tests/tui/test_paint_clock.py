"""The clock of ``benchmarks/ticket_paint.py`` (issue 20's open and escape figures) stops
at the terminal write that completes the screen: not at the first paint when a later one
still changes what shows, and only once the modelled terminal equals a fresh render of
the whole screen."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

from textual.screen import Screen
from textual.widgets import Static

from deskcli.tui.screens.queue import QueueScreen
from deskcli.tui.screens.ticket import TicketScreen
from helpers import FakeClock
from tui.sample_app import sample_desk

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "ticket_paint.py"


def paint_clock() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ticket_paint", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["ticket_paint"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


class Late(Screen[None]):
    """Paints "waiting", then "done" once that first paint is out."""

    def compose(self) -> Iterable[Static]:
        yield Static("waiting", id="late")

    def on_mount(self) -> None:
        self.call_after_refresh(self.query_one("#late", Static).update, "done")


def text_of(frame: object) -> str:
    return "\n".join("".join(char for char, _ in row) for row in frame.rows)  # type: ignore[attr-defined]


def test_open_and_escape_stop_at_the_complete_paint(isolated_home: Path,
                                                    clock: FakeClock) -> None:
    tp = paint_clock()
    desk = sample_desk(isolated_home, clock)

    async def run() -> None:
        app = tp.bench_app(desk)
        async with app.run_test(headless=False, size=(tp.WIDTH, tp.HEIGHT)):
            term = tp.Terminal(app)
            await tp.settle(app, lambda: app.pages_shown > 0)
            queue = app.screen
            assert isinstance(queue, QueueScreen)
            ref = queue.table.selected_ref
            opened = await term.measure(
                tp.press(app, "enter"),
                lambda: isinstance(app.screen, TicketScreen) and app.screen.view is not None,
                "open")
            assert isinstance(app.screen, TicketScreen) and app.screen.ref == ref
            assert ref in text_of(term.frame)  # the header shows it: drawn, not pending
            pages = app.pages_shown
            escaped = await term.measure(
                tp.press(app, "escape"),
                lambda: app.screen is queue and app.pages_shown > pages, "escape")
            assert term.mismatches == []
            for measured in (opened, escaped):
                assert 0 < measured.wall and measured.paints >= 1 and measured.bytes > 0
                assert 0 <= measured.idle_paints < measured.paints

    asyncio.run(run())


def test_a_later_paint_that_changes_the_screen_stops_the_clock(isolated_home: Path,
                                                               clock: FakeClock) -> None:
    tp = paint_clock()
    desk = sample_desk(isolated_home, clock)

    async def run() -> None:
        app = tp.bench_app(desk)
        async with app.run_test(headless=False, size=(tp.WIDTH, tp.HEIGHT)):
            term = tp.Terminal(app)
            await tp.settle(app, lambda: app.pages_shown > 0)
            before = len(app.paints)
            measured = await term.measure(lambda: app.push_screen(Late()),
                                          lambda: isinstance(app.screen, Late), "late")
            paints = app.paints[before:]
            full = paints[len(paints) - measured.idle_paints - 1]
            assert full is not paints[0]  # "waiting" was painted first; it was not all
            assert full.wall > paints[0].wall and measured.paints >= 2
            assert "done" in text_of(term.frame) and "waiting" not in text_of(term.frame)
            assert term.mismatches == []

    asyncio.run(run())


LONG = ("Every time I open Outlook it wants my password again, I type it and it asks "
        "again, and the calendar never loads either.")


def test_a_text_box_laid_out_at_a_new_width_is_right_on_its_first_paint() -> None:
    """A kept step form's text box is often laid out wider or narrower than when its
    text was loaded (the next ticket's form has a scroll bar the last one had not).
    Textual paints straight after the layout and tells the box its size afterwards, so
    the text showed wrapped at the old width until a second paint."""
    from textual.app import App, ComposeResult

    from deskcli.tui.widgets.text_box import TextBox

    tp = paint_clock()

    class Boxed(tp.PaintRecorder):  # type: ignore[name-defined,misc]
        CSS = "TextBox { width: 40; height: 6; }"  # no scroll bar at either width

        def compose(self) -> ComposeResult:
            yield TextBox(LONG, soft_wrap=True, show_line_numbers=False)

    assert issubclass(Boxed, App)

    async def run() -> None:
        app = Boxed()
        async with app.run_test(headless=False, size=(tp.WIDTH, tp.HEIGHT)):
            term = tp.Terminal(app)
            box = app.query_one(TextBox)
            await tp.settle(app, lambda: box.wrap_width > 0)
            before = len(app.paints)
            measured = await term.measure(lambda: setattr(box.styles, "width", 70),
                                          lambda: box.outer_size.width == 70, "wider")
            assert "the calendar never loads either." in text_of(term.frame)
            # The first write after the layout already showed the final picture.
            assert measured.paints - measured.idle_paints == 1, app.paints[before:]
            assert term.mismatches == []

    asyncio.run(run())
