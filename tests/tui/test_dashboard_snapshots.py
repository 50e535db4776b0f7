"""Pictures of the dashboard and its drill-down at 80×24 and 120×40, on the fixed sample
data and frozen clock of ``sample_app`` (regenerate with ``--snapshot-update`` after a
deliberate change, and look at the SVGs first)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from deskcli.tui.app import DeskApp
from tui.driving import press, settle

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
Snap = Callable[..., bool]


def keys(*names: str) -> Callable[[Pilot[int]], Awaitable[None]]:
    async def run(pilot: Pilot[int]) -> None:
        await settle(pilot)
        await press(pilot, *names)
        await settle(pilot)
    return run


@pytest.mark.parametrize("size", SIZES)
def test_dashboard(snap_compare: Snap, app: DeskApp, size: Any) -> None:
    """d: the six numbers with trends, SLA compliance per priority, recurring issues."""
    assert snap_compare(app, terminal_size=size, run_before=keys("d"))


@pytest.mark.parametrize("size", SIZES)
def test_dashboard_year(snap_compare: Snap, app: DeskApp, size: Any) -> None:
    """w w: the last 365 days, with a longer weekly trend."""
    assert snap_compare(app, terminal_size=size, run_before=keys("d", "w", "w"))


@pytest.mark.parametrize("size", SIZES)
def test_drill_down(snap_compare: Snap, app: DeskApp, size: Any) -> None:
    """enter on a figure (first contact resolution, last 365 days) lists the tickets
    behind it, newest first."""
    assert snap_compare(app, terminal_size=size,
                        run_before=keys("d", "w", "w", "j", "j", "enter"))
