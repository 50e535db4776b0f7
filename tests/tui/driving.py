"""Run a pilot scenario from a plain (synchronous) test, with no async pytest plugin.

``drive(app, steps)`` opens the app headless at a terminal size and awaits ``steps(pilot)``;
``settle`` lets thread workers finish and their messages land before asserting.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from textual.pilot import Pilot

from deskcli.app import DeskApp

Steps = Callable[[Pilot[int]], Awaitable[None]]


async def settle(pilot: Pilot[int], rounds: int = 3) -> None:
    for _ in range(rounds):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def until(pilot: Pilot[int], condition: Callable[[], bool], what: str,
                timeout: float = 15.0) -> None:
    """Wait for work that runs behind a timer or a worker (a debounced search) to land;
    a fixed pause is flaky on a loaded machine."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, f"gave up waiting for {what}"
        await pilot.pause(0.05)
    await pilot.pause()


async def press(pilot: Pilot[int], *keys: str) -> None:
    """Press keys one at a time, settling after each (workers answer some of them)."""
    for key in keys:
        await pilot.press(key)
        await settle(pilot, rounds=1)


async def type_text(pilot: Pilot[int], text: str) -> None:
    """Type like a person: one key per character (space and punctuation by name)."""
    names = {" ": "space", "#": "number_sign", ",": "comma", ".": "full_stop",
             ":": "colon", ";": "semicolon", "'": "apostrophe", "/": "slash",
             "-": "minus", "@": "at", "+": "plus", "(": "left_parenthesis",
             ")": "right_parenthesis", "\n": "enter", "_": "underscore", "?": "question_mark"}
    await pilot.press(*[names.get(ch, ch) for ch in text])


def drive(app: DeskApp, steps: Steps, size: tuple[int, int] = (120, 40)) -> None:
    async def run() -> None:
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            await steps(pilot)

    asyncio.run(run())


async def go_to_step(pilot: Pilot[int], step_key: str) -> None:
    """Walk the checklist with j/k to ``step_key`` and open it with enter."""
    from deskcli.widgets.checklist_sidebar import ChecklistSidebar

    sidebar = pilot.app.screen.query_one(ChecklistSidebar)
    sidebar.focus()
    await pilot.pause()
    target = sidebar.get_option_index(step_key)
    for _ in range(60):
        current = sidebar.highlighted
        if current == target:
            break
        await pilot.press("j" if current is None or current < target else "k")
    assert sidebar.highlighted == target, f"could not reach step {step_key}"
    await press(pilot, "enter")
    await settle(pilot)


async def pick(pilot: Pilot[int], value: str) -> None:
    """Choose ``value`` in the focused choice field: open it, arrow to it, enter."""
    from textual.widgets import Select

    select = pilot.app.focused
    assert isinstance(select, Select), f"focus is on {select!r}, not a choice"
    await press(pilot, "enter")
    values = [v for _label, v in select._options]
    overlay = pilot.app.focused
    target = values.index(value)
    for _ in range(len(values) * 2):
        current = getattr(overlay, "highlighted", None)
        if current == target:
            break
        await pilot.press("down" if current is None or current < target else "up")
    await press(pilot, "enter")
    assert select.value == value, f"{select.id} is {select.value!r}, wanted {value!r}"
