"""The queue with real key presses: urgency order, markers, search, filters, mine, open."""

from __future__ import annotations

from textual.pilot import Pilot

from deskcli.tui.app import DeskApp
from deskcli.tui.screens.queue import QueueScreen
from deskcli.tui.screens.ticket import TicketScreen
from deskcli.tui.widgets.queue_table import QueueTable
from tui.driving import drive, press, settle, type_text


def table(app: DeskApp) -> QueueTable:
    return app.screen.query_one(QueueTable)


def test_open_tickets_most_urgent_first_with_markers(app: DeskApp) -> None:
    async def steps(pilot: Pilot[int]) -> None:
        queue = table(app)
        assert queue.total == app.desk.store.queue.count()
        states = [queue.view_at(i) for i in range(queue.total)]
        assert all(states), "every visible row is loaded"
        flags = [v.cells["flag"][:2] for v in states if v]
        assert flags[0] == "!!", "the most urgent (breached) ticket comes first"
        assert "! " in flags and "  " in flags, "at-risk and fine rows are marked too"

    drive(app, steps)


def test_j_k_enter_opens_the_ticket_and_escape_returns(app: DeskApp) -> None:
    async def steps(pilot: Pilot[int]) -> None:
        await press(pilot, "j", "j", "k")
        queue = table(app)
        assert queue.cursor == 1
        expected = queue.selected_ref
        await press(pilot, "enter")
        await settle(pilot)
        assert isinstance(app.screen, TicketScreen) and app.screen.ref == expected
        await press(pilot, "escape")
        assert isinstance(app.screen, QueueScreen)

    drive(app, steps)


def test_incremental_search_and_escape_clears(app: DeskApp) -> None:
    async def steps(pilot: Pilot[int]) -> None:
        everything = table(app).total
        await press(pilot, "slash")
        await type_text(pilot, "vpn")
        await pilot.pause(0.3)
        await settle(pilot)
        queue = table(app)
        assert 0 < queue.total < everything
        assert all("vpn" in (queue.view_at(i).cells["summary"].lower())  # type: ignore[union-attr]
                   for i in range(queue.total))
        await press(pilot, "enter")  # back to the list, search kept
        assert queue.has_focus and queue.filters.search == "vpn"
        await press(pilot, "escape")
        await settle(pilot)
        assert queue.filters.search == "" and queue.total == everything

    drive(app, steps)


def test_mine_toggle_and_filters(app: DeskApp) -> None:
    async def steps(pilot: Pilot[int]) -> None:
        everything = table(app).total
        await press(pilot, "m")
        await settle(pilot)
        queue = table(app)
        mine = app.desk.store.queue.count(assignee="dana")
        assert queue.total == mine < everything
        assert "mine (dana)" in str(app.screen.query_one("#queue-title").render())
        await press(pilot, "m")
        await settle(pilot)
        assert table(app).total == everything
        # f opens the filters: choose P1 in the priority list with the keyboard.
        await press(pilot, "f", "tab", "enter", "down", "enter", "ctrl+s")
        await settle(pilot)
        assert table(app).filters.priorities == ("P1",)
        assert table(app).total == app.desk.store.queue.count(priorities=["P1"])
        await press(pilot, "escape")
        await settle(pilot)
        assert table(app).total == everything

    drive(app, steps)
