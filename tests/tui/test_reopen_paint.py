"""The ticket screen kept from one ticket to the next (issue 20) paints only the ticket
shown, on a modelled terminal: every write replayed in order, from the key to the settled
screen.

Why a terminal model and not the widgets' contents: opening a ticket on the kept screen
takes two shortcuts through Textual's internals (``TicketScreen.refresh`` marks the whole
screen for the next paint itself, keeping the screen's rendered lines; the timeline and
details tabs are drawn only when shown). If a Textual release changes what those
internals mean, nothing raises: the terminal keeps parts of the queue or of the last
ticket. Only what was actually written shows that, so these tests fail on it (the pin in
``pyproject.toml`` is checked too, so a version bump re-runs this review on purpose).
"""

from __future__ import annotations

import asyncio
import re
import tomllib
from importlib.metadata import version
from pathlib import Path
from types import ModuleType
from typing import Any

from textual.widget import Widget

from deskcli.domain.intake import NewTicket
from deskcli.tui.screens.queue import QueueScreen
from deskcli.tui.screens.ticket import TicketScreen
from helpers import FakeClock
from tui.sample_app import sample_desk
from tui.test_paint_clock import paint_clock, text_of

ROOT = Path(__file__).resolve().parents[2]
#: Only in ticket A (its caller, its note): never on the terminal while B is shown.
A_MARKS = ("Quentin Albarn", "swapped the toner cartridge")
B_MARKS = ("Berit Okonkwo", "asked for the VPN client log")


async def _act(tp: ModuleType, app: Any, term: Any, act: Any, arrived: Any,
               what: str) -> list[str]:
    """Do ``act``, wait until settled, replay every write on the terminal model; the
    text the terminal showed after each write. Fails if the settled terminal is not a
    fresh render of the whole screen."""
    await tp.settle(app, lambda: True)
    term.catch_up()
    act()
    await tp.settle(app, arrived)
    shown = []
    for paint in app.paints[term.applied:]:
        term.frame.apply(paint.update)
        shown.append(text_of(term.frame))
    term.applied = len(app.paints)
    fresh = tp.Frame.of(app.screen._compositor.render_strips())
    assert term.frame.differs(fresh) == 0, f"{what}: the terminal is not the screen"
    return shown


def test_a_reopened_ticket_screen_paints_only_the_ticket_shown(isolated_home: Path,
                                                               clock: FakeClock) -> None:
    """Open A, look at its timeline and details, go back, open B on the kept screen,
    look at B's tabs: after every single write, nothing of A is on the terminal while B
    is open, and the settled terminal equals a fresh render (no queue left over)."""
    tp = paint_clock()
    desk = sample_desk(isolated_home, clock)
    first = desk.tickets.create(NewTicket(summary="Printer prints blank pages",
                                          caller="Quentin Albarn"))
    second = desk.tickets.create(NewTicket(summary="VPN drops every ten minutes",
                                           caller="Berit Okonkwo"))
    a, b = f"#{first['number']}", f"#{second['number']}"
    desk.tickets.add_note(a, A_MARKS[1], internal=True)
    desk.tickets.add_note(b, B_MARKS[1], internal=True)

    async def run() -> None:
        app = tp.bench_app(desk)
        async with app.run_test(headless=False, size=(tp.WIDTH, tp.HEIGHT)):
            term = tp.Terminal(app)
            await tp.settle(app, lambda: app.pages_shown > 0)
            queue = app.screen
            assert isinstance(queue, QueueScreen)

            def showing(ref: str) -> Any:
                return lambda: (isinstance(app.screen, TicketScreen)
                                and app.screen.view is not None and app.screen.ref == ref)

            await _act(tp, app, term, lambda: app.open_ticket(a), showing(a), "open A")
            screen = app.screen
            for key, mark in (("2", A_MARKS[1]), ("3", A_MARKS[0])):
                shown = await _act(tp, app, term, tp.press(app, key), lambda: True, key)
                assert mark in shown[-1], (key, mark)
            for _ in range(3):  # out of the details' scroll, then back to the queue
                if app.screen is not queue:
                    await _act(tp, app, term, tp.press(app, "escape"), lambda: True, "esc")
            assert app.screen is queue
            frames = await _act(tp, app, term, lambda: app.open_ticket(b), showing(b),
                                "open B")
            assert frames and app.screen is screen  # the kept screen: the path under test
            for key, mark in (("2", B_MARKS[1]), ("3", B_MARKS[0])):
                shown = await _act(tp, app, term, tp.press(app, key), lambda: True, key)
                assert mark in shown[-1], (key, mark)
                frames += shown
            for text in frames:
                for mark in A_MARKS:
                    assert mark not in text, mark

    asyncio.run(run())


def test_textual_is_the_version_the_console_was_checked_against() -> None:
    """The console relies on Textual internals (``TicketScreen.refresh`` and
    ``_resume_styled``, ``ChecklistSidebar._get_option_render``, the tabbed content's
    ``ContentSwitcher``, OptionList keeping an ``Option``'s measured visual). The pin is
    exact; the installed Textual must be it, and the members must be where they were."""
    pinned = next(dep for dep in tomllib.loads((ROOT / "pyproject.toml").read_text())
                  ["project"]["dependencies"] if re.match(r"textual\b", dep))
    assert pinned == f"textual=={version('textual')}", (
        f"installed textual {version('textual')}, pinned {pinned}: re-check the private "
        "members named in this test's docstring, then run tests/tui")
    from textual.screen import Screen
    from textual.widgets import OptionList
    from textual.widgets._option_list import Option

    assert callable(Screen._on_screen_resume)
    assert callable(OptionList._get_option_render)
    option = Option("x")
    assert option._visual is None  # OptionList caches the visual on the option itself
    widget = Widget()
    for name in ("_dirty_regions", "_repaint_regions", "_repaint_required"):
        assert hasattr(widget, name), name
