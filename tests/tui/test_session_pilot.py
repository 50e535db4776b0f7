"""What keeps a shift safe: drafts, the work timer, help and palette, first run, notes."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Input

from deskcli.tui.app import DeskApp, build_app
from deskcli.tui.screens.confirm import ConfirmScreen
from deskcli.tui.screens.help import help_table
from deskcli.tui.screens.intake import IntakeScreen
from deskcli.tui.screens.queue import QueueScreen
from deskcli.tui.screens.ticket import TicketScreen
from deskcli.tui.screens.time_entry import TimeEntryScreen
from deskcli.tui.widgets.queue_table import QueueTable
from deskcli.tui.widgets.ticket_header import TicketHeader
from deskcli.tui.widgets.work_clock import WorkClock
from helpers import FakeClock, SeqIds, make_desk
from tui.driving import drive, fill, go_to_step, press, settle, type_text, until
from tui.sample_app import sample_app

OUTLOOK = "#1165"  # opened ten minutes before "now", verified, owned by dana


async def open_ticket(pilot: Pilot[int], ref: str) -> TicketScreen:
    pilot.app.push_screen(TicketScreen(ref))
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, TicketScreen)
    return screen


def test_step_draft_survives_leaving_the_ticket_and_the_app(isolated_home: Path,
                                                            clock: FakeClock) -> None:
    app = sample_app(isolated_home, clock)

    async def type_and_quit(pilot: Pilot[int]) -> None:
        await open_ticket(pilot, OUTLOOK)
        await go_to_step(pilot, "check_changes")
        await fill(pilot, "Password changed yesterday")
        await press(pilot, "escape", "escape")  # form, then the ticket
        assert isinstance(app.screen, QueueScreen)
        await press(pilot, "ctrl+q")

    drive(app, type_and_quit)
    app.desk.close()
    # A new process opens the same profile: the text is still there.
    again = build_app(make_desk(isolated_home, clock), new_id=SeqIds(), tick=None,
                      offer_samples=False)

    async def come_back(pilot: Pilot[int]) -> None:
        await open_ticket(pilot, OUTLOOK)
        await go_to_step(pilot, "check_changes")
        area = pilot.app.screen.query_one("#field-findings")
        assert area.text == "Password changed yesterday"  # type: ignore[attr-defined]

    drive(again, come_back)


def test_intake_draft_resumes_where_the_call_left_off(app: DeskApp) -> None:
    async def steps(pilot: Pilot[int]) -> None:
        await press(pilot, "n", "tab")
        await fill(pilot, "Ben Brooks")
        # The draft is written once typing pauses, before anyone leaves the form.
        await until(pilot, lambda: app.session.drafts.load("intake").get("caller")
                    == {"caller": "Ben Brooks"}, "the intake draft")
        await press(pilot, "escape")
        assert isinstance(app.screen, QueueScreen)
        assert app.session.drafts.load("intake")["caller"] == {"caller": "Ben Brooks"}
        await press(pilot, "n")
        intake = app.screen
        assert isinstance(intake, IntakeScreen)
        assert intake.query_one("#caller-name", Input).value == "Ben Brooks"
        await press(pilot, "ctrl+r")  # start over asks first: n keeps it all
        assert isinstance(app.screen, ConfirmScreen)
        await press(pilot, "n")
        assert app.screen is intake
        assert intake.query_one("#caller-name", Input).value == "Ben Brooks"
        assert app.session.drafts.load("intake")["caller"] == {"caller": "Ben Brooks"}
        await press(pilot, "ctrl+r", "y")  # y wipes the draft
        await settle(pilot)
        assert app.screen.query_one("#caller-name", Input).value == ""
        assert app.session.drafts.load("intake") == {}

    drive(app, steps)


def test_timer_is_offered_as_an_editable_entry_when_leaving(isolated_home: Path,
                                                            clock: FakeClock) -> None:
    app = sample_app(isolated_home, clock)

    async def steps(pilot: Pilot[int]) -> None:
        await open_ticket(pilot, OUTLOOK)
        clock.advance(minutes=12, seconds=20)
        app.screen.query_one(WorkClock).show()  # what the one-second tick does live
        assert app.timer_text == f"{OUTLOOK} 12:20"
        await press(pilot, "escape")
        offer = app.screen
        assert isinstance(offer, TimeEntryScreen)
        duration = offer.query_one("#time-duration", Input)
        assert duration.value == "13m", "rounded up to the minute"
        await type_text(pilot, "15m")  # the suggestion is selected: typing replaces it
        await press(pilot, "tab")
        await fill(pilot, "Remote session")
        await press(pilot, "ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen) and app.timer_text == ""
        entries = app.desk.tickets.detail(OUTLOOK).time_entries
        assert [(e["minutes"], e["note"]) for e in entries] == [(15, "Remote session")]

    drive(app, steps)


def test_a_bad_duration_is_refused_beside_the_field(app: DeskApp) -> None:
    async def steps(pilot: Pilot[int]) -> None:
        await open_ticket(pilot, OUTLOOK)
        await press(pilot, "t")
        await fill(pilot, "lots")
        await press(pilot, "ctrl+s")
        await settle(pilot)
        error = app.screen.query_one("FieldError.-shown")
        assert "'lots' is not a duration" in str(error.render())
        assert isinstance(app.screen, TimeEntryScreen), "a refusal keeps the dialog open"

    drive(app, steps)


def test_reply_to_the_caller_clears_the_silent_flag(isolated_home: Path,
                                                    clock: FakeClock) -> None:
    app = sample_app(isolated_home, clock)
    clock.advance(hours=5)  # the fresh sample tickets have now been quiet past 4h

    async def steps(pilot: Pilot[int]) -> None:
        screen = await open_ticket(pilot, OUTLOOK)
        assert "~ Silent" in screen.query_one(TicketHeader).plain
        await press(pilot, "r")
        await fill(pilot, "We are on it and will call you back by noon.")
        await press(pilot, "ctrl+s")
        await settle(pilot)
        assert "~ Silent" not in screen.query_one(TicketHeader).plain
        timeline = app.desk.tickets.detail(OUTLOOK).timeline
        assert timeline[-1]["kind"] == "public_reply"

    drive(app, steps)


def test_status_dialog_offers_only_allowed_moves(app: DeskApp) -> None:
    async def steps(pilot: Pilot[int]) -> None:
        await open_ticket(pilot, OUTLOOK)
        await press(pilot, "s")
        options = app.screen.query_one("#status-choice")
        ids = [options.get_option_at_index(i).id  # type: ignore[attr-defined]
               for i in range(options.option_count)]  # type: ignore[attr-defined]
        assert ids == ["open", "in-progress", "pending-caller", "pending-third-party",
                       "escalated"]
        await press(pilot, "j", "ctrl+s")
        await settle(pilot)
        assert app.desk.tickets.find(OUTLOOK)["status"] == "in-progress"

    drive(app, steps)


def test_help_and_palette_list_every_action(app: DeskApp) -> None:
    from rich.console import Console

    console = Console(width=200, record=True)
    console.print(help_table(DeskApp.BINDINGS))
    text = console.export_text()
    for screen in (QueueScreen, TicketScreen, IntakeScreen, QueueTable, DeskApp):
        for binding in screen.BINDINGS:
            assert binding.tooltip in text, binding  # type: ignore[union-attr]

    async def steps(pilot: Pilot[int]) -> None:
        titles = {c.title for c in app.get_system_commands(app.screen)}
        for binding in QueueScreen.BINDINGS:
            assert binding.tooltip in titles  # type: ignore[union-attr]
        await open_ticket(pilot, OUTLOOK)
        titles = {c.title for c in app.get_system_commands(app.screen)}
        for binding in TicketScreen.BINDINGS:
            assert binding.tooltip in titles  # type: ignore[union-attr]

    drive(app, steps)


def test_empty_store_offers_sample_data(isolated_home: Path, clock: FakeClock) -> None:
    app = sample_app(isolated_home, clock, empty=True, offer_samples=True)

    async def steps(pilot: Pilot[int]) -> None:
        await settle(pilot)
        await press(pilot, "y")
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)
        assert app.desk.store.tickets.count() == 40
        assert app.screen.query_one(QueueTable).total == app.desk.store.queue.count()

    drive(app, steps)


def test_key_presses_work_at_80x24(app: DeskApp) -> None:
    async def steps(pilot: Pilot[int]) -> None:
        await press(pilot, "j", "enter")
        await settle(pilot)
        assert isinstance(app.screen, TicketScreen)
        await press(pilot, "3", "2", "1", "escape")
        assert isinstance(app.screen, QueueScreen)

    drive(app, steps, size=(80, 24))


def test_a_full_disk_is_named_in_the_dialog_and_nothing_is_lost(app: DeskApp,
                                                                tmp_path: Path) -> None:
    """Issue 14 (10): a full disk used to end the console with a traceback; the dialog
    now says what happened and stays open with what was typed."""
    shot = tmp_path / "screen.png"
    shot.write_bytes(bytes(range(256)) * 2000)  # 512 KB: more pages than the disk has left

    async def steps(pilot: Pilot[int]) -> None:
        await open_ticket(pilot, OUTLOOK)
        db = app.desk.store.db
        pages = db.execute("PRAGMA page_count").fetchone()["page_count"]
        db.execute(f"PRAGMA max_page_count = {pages}")  # SQLite's own SQLITE_FULL
        before = len(app.desk.tickets.detail(OUTLOOK).attachments)
        await press(pilot, "f")
        await fill(pilot, str(shot))
        await press(pilot, "ctrl+s")
        await settle(pilot)
        error = app.screen.query_one("FieldError.-shown")
        assert "is full" in str(error.render())
        assert app.screen.query_one("#attach-path", Input).value == str(shot)
        assert len(app.desk.tickets.detail(OUTLOOK).attachments) == before

    drive(app, steps)
