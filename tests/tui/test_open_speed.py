"""What opening a ticket and going back skip to be fast (issue 20) still shows what changed:
the queue keeps its drawn lines only while its rows are the same, the status bar's new
line shows without a layout, the collector's raised young threshold is handed back, the
ticket's timeline and details (drawn when their tab is shown) are the ticket's own, and
the checklist's kept lines follow each ticket's progress."""

from __future__ import annotations

import gc
import io

from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import Static

from deskcli.domain.intake import NewTicket
from deskcli.tui.app import YOUNG_GC_THRESHOLD, DeskApp
from deskcli.tui.screens.queue import QueueScreen
from deskcli.tui.screens.ticket import TicketScreen
from deskcli.tui.widgets.checklist_sidebar import ChecklistSidebar
from deskcli.tui.widgets.status_bar import DeskStatusBar
from deskcli.tui.widgets.timeline import TimelineView
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


def shown_text(screen: TicketScreen, selector: str) -> str:
    """What a Static of the screen holds, as text (the timeline is a table)."""
    console = Console(width=160, file=io.StringIO(), record=True)
    console.print(screen.query_one(selector, Static).content)
    return console.export_text()


def test_the_timeline_and_details_tabs_show_the_ticket_open_when_shown(
        app: DeskApp) -> None:
    """The two tabs out of sight when a ticket opens are drawn as they come into view
    (a key, a click); never with the previous ticket's events, and at once when the
    ticket is read again while one of them is in view."""
    first = new_ticket(app, "Printer on the third floor prints blank pages")
    row = app.desk.tickets.create(NewTicket.from_mapping(
        {"summary": "VPN drops every ten minutes", "caller": "Ben Okafor",
         "email": "ben@example.com"}))
    second = f"#{row['number']}"
    app.desk.tickets.add_note(first, "swapped the toner cartridge", internal=True)
    app.desk.tickets.add_note(second, "asked for the VPN client log", internal=True)

    async def steps(pilot: Pilot[int]) -> None:
        screen = await open_from_queue(pilot, first)
        timeline = screen.query_one(TimelineView)
        assert timeline.pending  # not drawn for the first paint, out of sight
        assert [e["note_body"] for e in timeline.events if e.get("note_body")] == [
            "swapped the toner cartridge"]
        await press(pilot, "2")
        await settle(pilot)
        assert not timeline.pending
        assert "swapped the toner cartridge" in shown_text(screen, "#timeline-text")
        await press(pilot, "3")
        await settle(pilot)
        assert "Ana Chen" in shown_text(screen, "#details-text")
        # Left on the Details tab; the next ticket opens on its step, both tabs stale.
        await press(pilot, "escape", "escape")
        await settle(pilot)
        again = await open_from_queue(pilot, second)
        assert again is screen and screen.query_one("#ticket-tabs").active == "step"
        assert timeline.pending
        await pilot.click("#--content-tab-details")  # a click shows it as a key does
        await settle(pilot)
        details = shown_text(screen, "#details-text")
        assert "Ben Okafor" in details and "Ana Chen" not in details
        await press(pilot, "2")
        await settle(pilot)
        events = shown_text(screen, "#timeline-text")
        assert "asked for the VPN client log" in events and "toner" not in events
        # Read again while the timeline is in view: drawn at once, no key needed.
        app.desk.tickets.add_note(second, "client log shows MTU errors", internal=True)
        screen.load()
        await settle(pilot)
        assert not timeline.pending
        assert "client log shows MTU errors" in shown_text(screen, "#timeline-text")
        # Read again on the step tab: left for the timeline's next showing.
        await press(pilot, "1")
        await settle(pilot)
        app.desk.tickets.add_note(second, "lowered the MTU to 1400", internal=True)
        screen.load()
        await settle(pilot)
        assert timeline.pending
        await press(pilot, "2")
        await settle(pilot)
        assert "lowered the MTU to 1400" in shown_text(screen, "#timeline-text")

    drive(app, steps)


def test_the_checklist_kept_lines_follow_each_tickets_progress(app: DeskApp) -> None:
    """Options are kept by what their line shows: a step's line still changes with its
    state (and the reason it shows) from one ticket to the next, and back."""
    first = new_ticket(app, "Printer on the third floor prints blank pages")
    second = new_ticket(app, "VPN drops every ten minutes")
    third = new_ticket(app, "Outlook asks for the password again and again")
    app.desk.tickets.skip_step(second, "check_changes", "RMM offline all week")
    # On the third, every step before it is skipped: the same step, no reason, current.
    for item in app.desk.tickets.detail(third).progress.items:
        if item.step.key == "check_changes":
            break
        app.desk.tickets.skip_step(third, item.step.key, "done on the phone")

    def line(screen: TicketScreen) -> str:
        return str(screen.query_one(ChecklistSidebar).get_option("check_changes").prompt)

    async def steps(pilot: Pilot[int]) -> None:
        screen = await open_from_queue(pilot, first)
        assert "RMM offline" not in line(screen)
        await press(pilot, "escape", "escape")
        await settle(pilot)
        await open_from_queue(pilot, second)
        assert "RMM offline" in line(screen) and line(screen).startswith("–")
        await press(pilot, "escape", "escape")
        await settle(pilot)
        await open_from_queue(pilot, first)
        assert "RMM offline" not in line(screen) and line(screen).startswith("·")
        await press(pilot, "escape", "escape")
        await settle(pilot)
        await open_from_queue(pilot, third)
        assert line(screen).startswith("▶")
        await press(pilot, "escape", "escape")
        await settle(pilot)
        await open_from_queue(pilot, first)
        assert line(screen).startswith("·")

    drive(app, steps)
