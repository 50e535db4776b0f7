"""Marking tickets in the queue with real key presses: space, shift+arrows, *, escape."""

from __future__ import annotations

from textual.pilot import Pilot

from deskcli.domain.enums import Status
from deskcli.tui.app import DeskApp
from deskcli.tui.screens.queue import QueueScreen
from deskcli.tui.screens.ticket import TicketScreen
from deskcli.tui.selection import MARKED, Selection
from deskcli.tui.session import QueueFilters
from deskcli.tui.widgets.queue_table import QueueTable
from deskcli.tui.widgets.status_bar import DeskStatusBar
from tui.driving import drive, fill, press, settle


def queue(app: DeskApp) -> QueueScreen:
    screen = app.screen
    assert isinstance(screen, QueueScreen)
    return screen


def table(app: DeskApp) -> QueueTable:
    return app.screen.query_one(QueueTable)


def status_line(app: DeskApp) -> str:
    return str(app.screen.query_one(DeskStatusBar).render())


def row_ids(app: DeskApp, *indexes: int) -> set[str]:
    views = [table(app).view_at(i) for i in indexes]
    assert all(views)
    return {v.ticket_id for v in views if v}


def mark_cell(app: DeskApp, index: int) -> str:
    """What the mark column shows for row ``index`` (painted, not the view's cell)."""
    queue_table = table(app)
    strip = queue_table.render_line(index + 1 - queue_table.scroll_offset.y)
    return strip.text[:1]


def test_space_marks_and_unmarks_the_ticket_under_the_cursor(app: DeskApp) -> None:
    async def steps(pilot: Pilot[int]) -> None:
        assert "marked" not in status_line(app)
        await press(pilot, "j", "space")
        screen = queue(app)
        assert set(screen.selection) == row_ids(app, 1)
        assert table(app).cursor == 1, "the cursor stays on the ticket it marked"
        assert mark_cell(app, 1) == MARKED and mark_cell(app, 0) == " "
        assert f"{MARKED} 1 marked" in status_line(app)
        await press(pilot, "j", "j", "space")
        assert set(screen.selection) == row_ids(app, 1, 3)
        assert "2 marked" in status_line(app)
        await press(pilot, "space")  # again on the same ticket: unmarked
        assert set(screen.selection) == row_ids(app, 1)
        assert "1 marked" in status_line(app) and mark_cell(app, 3) == " "

    drive(app, steps)


def test_shift_arrows_grow_and_shrink_a_range(app: DeskApp) -> None:
    async def steps(pilot: Pilot[int]) -> None:
        screen = queue(app)
        await press(pilot, "space")  # row 0 marked on its own
        await press(pilot, "j", "j")
        await press(pilot, "shift+down", "shift+down", "shift+down")
        assert table(app).cursor == 5
        assert set(screen.selection) == row_ids(app, 0, 2, 3, 4, 5)
        await press(pilot, "shift+up")  # back towards the anchor: row 5 leaves the range
        assert set(screen.selection) == row_ids(app, 0, 2, 3, 4)
        assert "4 marked" in status_line(app)
        # A plain move ends the range; a new one upwards passes over row 0 without
        # unmarking it when it shrinks back, since the range did not mark it.
        await press(pilot, "g", "j", "shift+up")
        assert set(screen.selection) == row_ids(app, 0, 1, 2, 3, 4)
        await press(pilot, "shift+down")
        assert set(screen.selection) == row_ids(app, 0, 1, 2, 3, 4), \
            "shrinking unmarks only what the range marked (row 0 was marked before)"
        await press(pilot, "g", "shift+up")  # nothing above the first row
        assert table(app).cursor == 0 and len(screen.selection) == 5

    drive(app, steps)


def test_star_marks_everything_the_filter_shows_counted_by_the_store(app: DeskApp) -> None:
    async def steps(pilot: Pilot[int]) -> None:
        screen = queue(app)
        every = QueueFilters(statuses=tuple(s.value for s in Status))
        table(app).load(every)
        await settle(pilot)
        total = app.desk.store.queue.count(statuses=[s.value for s in Status])
        assert total > QueueTable.PAGE, "more tickets than one page: not all are loaded"
        assert table(app).total == total
        await press(pilot, "asterisk")
        await settle(pilot)
        assert len(screen.selection) == total
        assert f"{total:,} marked" in status_line(app)
        ids = {row[0] for row in app.desk.store.queue.rows(
            statuses=[s.value for s in Status])}
        assert set(screen.selection) == ids

    drive(app, steps)


def test_star_after_a_search_marks_only_what_it_found(app: DeskApp) -> None:
    async def steps(pilot: Pilot[int]) -> None:
        await press(pilot, "slash")
        await fill(pilot, "vpn")
        await press(pilot, "enter")
        await settle(pilot)
        found = table(app).total
        assert 0 < found < app.desk.store.queue.count()
        await press(pilot, "asterisk")
        await settle(pilot)
        assert len(queue(app).selection) == found == app.desk.store.queue.count(
            search="vpn")

    drive(app, steps)


def test_escape_clears_the_marks_before_the_search(app: DeskApp) -> None:
    async def steps(pilot: Pilot[int]) -> None:
        screen = queue(app)
        await press(pilot, "slash")
        await fill(pilot, "o")
        await press(pilot, "enter")
        await settle(pilot)
        await press(pilot, "space", "j", "space")
        assert len(screen.selection) == 2
        await press(pilot, "escape")
        await settle(pilot)
        assert not screen.selection and "marked" not in status_line(app)
        assert table(app).filters.search == "o", "the search stays for the next escape"
        await press(pilot, "escape")
        await settle(pilot)
        assert table(app).filters.search == ""

    drive(app, steps)


def test_marks_outlive_a_search_and_a_visit_to_a_ticket(app: DeskApp) -> None:
    async def steps(pilot: Pilot[int]) -> None:
        screen = queue(app)
        await press(pilot, "space", "j", "space")
        marked = set(screen.selection)
        await press(pilot, "enter")
        await settle(pilot)
        assert isinstance(app.screen, TicketScreen)
        await press(pilot, "escape")
        await settle(pilot)
        assert app.screen is screen and set(screen.selection) == marked
        assert "2 marked" in status_line(app)
        await press(pilot, "slash")
        await fill(pilot, "zzz-nothing")
        await press(pilot, "enter")
        await settle(pilot)
        assert table(app).total == 0 and set(screen.selection) == marked

    drive(app, steps)


def test_selection_ranges_alone() -> None:
    selection = Selection()
    selection.toggle("a")
    selection.extend(2, "c", 3, "d")  # anchor at 2: c and d marked
    selection.extend(3, "d", 4, "e")
    assert selection.ids == {"a", "c", "d", "e"}
    selection.extend(4, "e", 3, "d")
    selection.extend(3, "d", 2, "c")
    assert selection.ids == {"a", "c"}, "back at the anchor: only it stays"
    selection.extend(2, "c", 1, "b")  # past the anchor the other way
    assert selection.ids == {"a", "b", "c"}
    selection.keep_only({"b", "z"})
    assert selection.ids == {"b"} and selection.anchor is None
