"""What opening a ticket and going back skip to be fast (issue 20) still shows what changed:
the queue keeps its drawn lines only while its rows are the same, the status bar's new
line shows without a layout, and the collector's raised young threshold is handed back."""

from __future__ import annotations

import gc

from textual.pilot import Pilot

from deskcli.domain.intake import NewTicket
from deskcli.tui.app import YOUNG_GC_THRESHOLD, DeskApp
from deskcli.tui.screens.queue import QueueScreen
from deskcli.tui.screens.ticket import TicketScreen
from deskcli.tui.widgets.status_bar import DeskStatusBar
from tui.driving import drive, open_from_queue, press, settle


def new_ticket(app: DeskApp, summary: str) -> str:
    row = app.desk.tickets.create(NewTicket.from_mapping(
        {"summary": summary, "caller": "Ana Chen", "email": "ana@example.com"}))
    return f"#{row['number']}"


def test_back_on_the_queue_a_changed_row_is_drawn_anew(app: DeskApp) -> None:
    ref = new_ticket(app, "Printer on the third floor prints blank pages")

    async def steps(pilot: Pilot[int]) -> None:
        await open_from_queue(pilot, ref)  # the queue is left searched down to it
        await press(pilot, "escape")
        await settle(pilot)
        queue = app.screen
        assert isinstance(queue, QueueScreen)
        before = queue.table.view_at(0)
        assert before is not None and before.ref == ref
        # Nothing changed: back on the queue, the row is the one already drawn.
        await press(pilot, "enter")
        await settle(pilot)
        assert isinstance(app.screen, TicketScreen)
        await press(pilot, "escape")
        await settle(pilot)
        assert app.screen is queue and queue.table.view_at(0) is before
        # Changed while its ticket was open: the queue shows the change.
        await press(pilot, "enter")
        await settle(pilot)
        app.desk.tickets.set_status(ref.lstrip("#"), "open")
        await press(pilot, "escape")
        await settle(pilot)
        after = queue.table.view_at(0)
        assert app.screen is queue and after is not None and after.ref == ref
        assert after != before and "open" in after.cells.values()

    drive(app, steps)


def test_the_status_bar_follows_the_timer_both_ways(app: DeskApp) -> None:
    """The timer shows in the ticket's status bar and is gone from the queue's on the
    way back, though neither bar lays its screen out for it."""
    ref = new_ticket(app, "Printer on the third floor prints blank pages")

    async def steps(pilot: Pilot[int]) -> None:
        queue = app.screen
        ticket = await open_from_queue(pilot, ref)
        await settle(pilot)
        assert "timer" in str(ticket.query_one(DeskStatusBar).render())
        await press(pilot, "escape")
        await settle(pilot)
        assert app.screen is queue
        assert "timer" not in str(queue.query_one(DeskStatusBar).render())

    drive(app, steps)


def test_the_young_threshold_is_raised_while_running_and_handed_back(app: DeskApp) -> None:
    before = gc.get_threshold()
    ref = new_ticket(app, "Printer on the third floor prints blank pages")

    async def steps(pilot: Pilot[int]) -> None:
        await open_from_queue(pilot, ref)
        await settle(pilot)
        assert gc.get_threshold() == (YOUNG_GC_THRESHOLD, *before[1:])

    drive(app, steps)
    assert gc.get_threshold() == before
