"""Pictures of marking and bulk actions at 80×24 and 120×40: the queue with marks and its
action bar, the action palette, a bulk form, the preview with a refusal, and a parent's
children on the ticket screen.

Regenerate after a deliberate change with ``--snapshot-update`` (``-n 0``) and look at the
SVGs under ``__snapshots__/`` before accepting them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from deskcli.tui.app import DeskApp
from tui.driving import fill, press, settle
from tui.test_bulk_pilot import mark
from tui.test_ticket_pilot import open_ticket

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
Before = Callable[[Pilot[int]], Awaitable[None]]
Snap = Callable[..., bool]


def shoot(snap_compare: Snap, app: DeskApp, size: tuple[int, int], before: Before) -> None:
    assert snap_compare(app, terminal_size=size, run_before=before)


async def three_marked(pilot: Pilot[int]) -> None:
    """Row 2 on its own, then rows 4 to 5 as a range."""
    await settle(pilot)
    await press(pilot, "j", "space", "j", "j", "shift+down")
    await settle(pilot)


@pytest.mark.parametrize("size", SIZES)
class TestBulk:
    def test_queue_with_marks(self, snap_compare: Snap, app: DeskApp, size: Any) -> None:
        """✓ on marked rows, the action bar instead of the legend, the count below."""
        shoot(snap_compare, app, size, three_marked)

    def test_action_palette(self, snap_compare: Snap, app: DeskApp, size: Any) -> None:
        """a: every action on the marked tickets, one key each."""
        async def before(pilot: Pilot[int]) -> None:
            await three_marked(pilot)
            await press(pilot, "a")
        shoot(snap_compare, app, size, before)

    def test_tags_form(self, snap_compare: Snap, app: DeskApp, size: Any) -> None:
        """t: tags to add and to remove; a word that is not a tag is refused here."""
        async def before(pilot: Pilot[int]) -> None:
            await three_marked(pilot)
            await press(pilot, "a", "t")
            await fill(pilot, "Outage!")
            await press(pilot, "ctrl+s")
            await settle(pilot)
        shoot(snap_compare, app, size, before)

    def test_preview_with_a_refusal(self, snap_compare: Snap, app: DeskApp,
                                    size: Any) -> None:
        """The preview names the refused ticket and why; only 'the ones that can'."""
        async def before(pilot: Pilot[int]) -> None:
            await settle(pilot)
            await mark(pilot, "#1158", "#1159", "#1002")
            await press(pilot, "a", "s", "down", "ctrl+s")
            await settle(pilot)
        shoot(snap_compare, app, size, before)


@pytest.mark.parametrize("size", SIZES)
def test_parent_with_children(snap_compare: Snap, app: DeskApp, size: Any) -> None:
    """A parent's ticket screen counts its children in the side column."""
    for child in ("#1158", "#1159"):
        app.desk.tickets.link(child, "#1161")

    async def before(pilot: Pilot[int]) -> None:
        await settle(pilot)
        await open_ticket(pilot, "#1161")
        await settle(pilot)
    shoot(snap_compare, app, size, before)
