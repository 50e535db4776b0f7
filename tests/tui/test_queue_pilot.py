"""The queue with real key presses: urgency order, markers, search, filters, mine, open."""

from __future__ import annotations

import pytest
from textual.pilot import Pilot

from deskcli.domain.enums import Status
from deskcli.storage import queue_pages, queue_text_jump
from deskcli.tui.app import DeskApp
from deskcli.tui.screens.queue import QueueScreen
from deskcli.tui.screens.ticket import TicketScreen
from deskcli.tui.session import QueueFilters
from deskcli.tui.widgets.queue_table import QueueTable
from tui.driving import drive, press, settle, type_text, until


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
        queue = table(app)  # the search runs a moment after the last key (debounced)
        await until(pilot, lambda: queue.filters.search == "vpn", "the search to run")
        await settle(pilot)
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


def test_seven_digit_ticket_numbers_show_whole(app: DeskApp) -> None:
    """At a million tickets the numbers have seven digits: cut to "#10008…" two tickets
    would look alike."""
    store = app.desk.store
    with store.transaction():
        store.db.execute("UPDATE tickets SET number = number + 1000000")

    async def steps(pilot: Pilot[int]) -> None:
        await press(pilot, "r")
        await settle(pilot)
        queue = table(app)
        first = queue.view_at(0)
        assert first is not None and len(first.ref) == 8
        line = "".join(segment.text for segment in queue.render_line(1))
        assert f" {first.ref} " in line, line

    drive(app, steps)


def test_history_pages_follow_each_other_by_key(app: DeskApp,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Every status (the history): End, then paging up to the top, shows the same rows
    in the same order as the store's queue, each page read from its neighbour's key.
    Small pages and a small cache, so the sample's 170 tickets make many pages."""
    monkeypatch.setattr(QueueTable, "PAGE", 20)
    monkeypatch.setattr(QueueTable, "CACHED_PAGES", 3)
    every = tuple(s.value for s in Status)
    want = [row[:4] for row in app.desk.store.queue.rows(statuses=every)]
    calls: list[dict[str, object]] = []
    session = app.session
    real = session.queue_page

    def spy(*args: object, **kwargs: object) -> list[tuple[object, ...]]:
        calls.append(kwargs)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    session.queue_page = spy  # type: ignore[method-assign]

    async def steps(pilot: Pilot[int]) -> None:
        queue = table(app)
        queue.load(QueueFilters(statuses=every))
        await settle(pilot)
        assert queue.total == len(want) > 2 * queue.PAGE
        await press(pilot, "end")
        await settle(pilot)
        seen: dict[int, tuple[object, ...]] = {}
        for _ in range(queue.total // queue.rows_visible + 2):
            top = queue.scroll_offset.y
            for index in range(top, min(top + queue.rows_visible, queue.total)):
                row = queue._row(index)
                if row is not None:
                    seen[index] = row[:4]
            await press(pilot, "pageup")
            await settle(pilot)
        assert len(seen) == queue.total
        assert all(seen[i] == want[i] for i in seen)
        assert any(c.get("before") for c in calls), "pages above came from a key"

    drive(app, steps)


def test_a_searched_history_jumps_to_its_middle(app: DeskApp,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The history searched for a word and moved straight to its middle (the scroll bar
    dragged there): the rows shown are the store's at that place, read with no
    neighbouring page through the text index in the queue's order (migration 16). Small
    pages and the long-list plans, so the sample's matches make a long list."""
    monkeypatch.setattr(QueueTable, "PAGE", 5)
    monkeypatch.setattr(QueueTable, "CACHED_PAGES", 3)
    monkeypatch.setattr(queue_pages, "WALK_ABOVE", 5)
    monkeypatch.setattr(queue_pages, "ROWS_READ_FOR_TEXT", 0)
    served: list[bool] = []
    real = queue_text_jump.jump

    def spy(*args: object, **kwargs: object) -> list[int] | None:
        found = real(*args, **kwargs)  # type: ignore[arg-type]
        served.append(found is not None)
        return found

    monkeypatch.setattr(queue_text_jump, "jump", spy)
    every = tuple(s.value for s in Status)
    want = [row[:4] for row in app.desk.store.queue.rows(statuses=every, search="not")]

    async def steps(pilot: Pilot[int]) -> None:
        queue = table(app)
        queue.load(QueueFilters(statuses=every, search="not"))
        await settle(pilot)
        assert queue.total == len(want) > 4 * queue.PAGE
        middle = queue.total // 2
        queue.scroll_to(y=middle, animate=False)
        await until(pilot, lambda: queue._row(queue.scroll_offset.y) is not None,
                    "the middle page")
        await settle(pilot)
        top = queue.scroll_offset.y
        assert top > queue.PAGE, "moved past the first pages"
        shown = [queue._row(i) for i in range(top, min(top + queue.rows_visible,
                                                        queue.total))]
        assert shown[0] is not None
        assert [row[:4] for row in shown if row is not None] == \
            want[top:top + len([r for r in shown if r is not None])]
        assert served and all(served), "the ordered text index served the jump"

    drive(app, steps, size=(120, 16))  # fewer rows than the matches: a real jump
