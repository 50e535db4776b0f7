"""Issue 13's console parts, each driven with real key presses.

Free text goes in with ``fill`` (one paste) where what is tested is the text's effect; keys
are typed one by one where typing is the subject: the digits of a rating, the SLA preview
following the client as it is typed, the cursor landing at the end of a filled field, and
an error clearing at the first valid key.

A ticket raised by monitoring opened from the intake (the identity page re-planned away),
skipping a step with a required reason, the caller's rating on the ticket screen, and the
quick-to-drive keys (number and letter keys in choices, focus after a save).
"""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import Input, Select, Static

from deskcli.domain.engine import StepState
from deskcli.domain.intake import NewTicket
from deskcli.tui.app import DeskApp
from deskcli.tui.screens.csat import CsatScreen
from deskcli.tui.screens.intake import IntakeScreen
from deskcli.tui.screens.sample_data import SampleDataScreen
from deskcli.tui.screens.skip_step import SkipStepScreen
from deskcli.tui.screens.ticket import TicketScreen
from deskcli.tui.widgets.checklist_sidebar import ChecklistSidebar
from deskcli.tui.widgets.field_error import FieldError
from deskcli.tui.widgets.status_bar import DeskStatusBar
from deskcli.tui.widgets.ticket_header import TicketHeader
from deskcli.tui.widgets.timeline import TimelineView
from helpers import FakeClock
from tui.driving import drive, fill, go_to_step, press, settle, type_text, until
from tui.sample_app import sample_app


def plain(widget: Static) -> str:
    """A Static's content as text, tables included (the timeline, the Details tab)."""
    console = Console(width=160, file=io.StringIO(), record=True)
    console.print(widget.content)
    return console.export_text()


async def tab_text(pilot: Pilot[int], tab: str) -> str:
    """The timeline's ("2") or the Details tab's ("3") text, shown as the technician
    shows it: the ticket screen draws those tabs when they come into view."""
    screen = pilot.app.screen
    if screen.focused is not screen.query_one(ChecklistSidebar):
        await press(pilot, "escape")  # out of the form first: there "2" is typed
    await press(pilot, tab)
    await settle(pilot)
    if tab == "2":
        return plain(screen.query_one(TimelineView).query_one("#timeline-text", Static))
    return plain(screen.query_one("#details-text", Static))


def shown_errors(app: DeskApp) -> dict[str, str]:
    return {e.field: str(e.render()) for e in app.screen.query(FieldError)
            if e.has_class("-shown")}


def new_ticket(app: DeskApp, **record: str) -> str:
    record.setdefault("summary", "Printer on the 3rd floor jams")
    row = app.desk.tickets.create(NewTicket.from_mapping(record))
    return f"#{row['number']}"


async def open_ticket(pilot: Pilot[int], ref: str) -> TicketScreen:
    await press(pilot, "slash")
    await fill(pilot, ref)  # the search is a way in here, not the subject (test_queue_pilot)
    await press(pilot, "enter", "enter")  # the first enter searches at once, no debounce
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, TicketScreen) and screen.ref == ref
    return screen


def test_a_monitoring_ticket_opens_from_the_intake(app: DeskApp) -> None:
    async def steps(pilot: Pilot[int]) -> None:
        await press(pilot, "n")
        intake = app.screen
        assert isinstance(intake, IntakeScreen)
        await press(pilot, "shift+tab")  # from the caller look-up to "came in by"
        assert app.focused is intake.query_one("#intake-channel")
        await press(pilot, "m")  # monitoring
        assert intake.query_one("#intake-channel", Select).value == "monitoring"
        note = intake.query_one("#skip-0", Static)
        assert note.display and "no caller to verify" in str(note.render())
        assert not intake.form(intake.steps[0]).display, "no identity form to fill"
        assert "– 1 verify identity" not in str(intake.query_one("#intake-steps").render())
        await press(pilot, "ctrl+s")  # nothing to check on a page that does not apply
        assert intake.page == 1, shown_errors(app)
        assert "– 1 verify identity" in str(intake.query_one("#intake-steps").render())
        await fill(pilot, "Disk on fs01 above 95 percent")
        await press(pilot, "tab")
        await fill(pilot, "Alert: fs01 volume D: 96% used")
        await press(pilot, "tab", "tab")
        await fill(pilot, "Nightly backup")
        await press(pilot, "tab", "n", "tab")
        await type_text(pilot, "0")
        await press(pilot, "ctrl+s")
        assert intake.page == 2, shown_errors(app)
        await press(pilot, "tab", "m", "ctrl+s")
        assert intake.page == 3, shown_errors(app)
        opener = intake.query_one("#form-open_ticket")
        assert opener.query_one("#field-channel", Select).value == "monitoring"
        await press(pilot, "tab", "tab", "tab")
        await fill(pilot, "storage")
        await press(pilot, "ctrl+s")
        await settle(pilot)
        # No caller: no acknowledgement to send, straight to the ticket.
        assert isinstance(app.screen, TicketScreen), shown_errors(app)
        detail = app.desk.tickets.detail(app.screen.ref)
        assert detail.ticket["channel"] == "monitoring"
        assert detail.ticket["caller_name"] is None
        progress = detail.progress
        for key in ("verify_identity", "test_with_user", "send_survey"):
            item = progress.of(key)
            assert item.state is StepState.SKIPPED, key
        assert "no caller" in progress.of("send_survey").reason
        assert "no caller" in progress.of("test_with_user").reason
        sidebar = app.screen.query_one(ChecklistSidebar)
        for key in ("verify_identity", "test_with_user", "send_survey"):
            prompt = str(sidebar.get_option(key).prompt)
            assert prompt.startswith("–") and "✓" not in prompt and "monitoring" in prompt
        assert app.session.drafts.load("intake") == {}

    drive(app, steps)


def test_skipping_a_step_needs_a_reason_and_shows_it(app: DeskApp) -> None:
    ref = new_ticket(app, caller="Chloe Diallo", verified="callback")

    async def steps(pilot: Pilot[int]) -> None:
        screen = await open_ticket(pilot, ref)
        await go_to_step(pilot, "check_changes")
        await press(pilot, "escape")  # the checklist; x skips the step highlighted
        await press(pilot, "x")
        assert isinstance(app.screen, SkipStepScreen)
        await press(pilot, "ctrl+s")  # blank: refused beside the field, nothing written
        await settle(pilot)
        assert "needs a reason" in shown_errors(app)["reason"]
        assert screen.view is not None
        assert app.desk.tickets.detail(ref).progress.of("check_changes").state is not \
            StepState.SKIPPED
        await fill(pilot, "RMM offline all week, no patch history to read")
        await press(pilot, "ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, TicketScreen)
        item = app.desk.tickets.detail(ref).progress.of("check_changes")
        assert item.state is StepState.SKIPPED and item.by_hand
        timeline = await tab_text(pilot, "2")
        assert "RMM offline all week" in timeline
        text = app.desk.tickets.detail(ref).timeline
        assert any("RMM offline all week" in e["summary"] for e in text)
        prompt = str(app.screen.query_one(ChecklistSidebar).get_option("check_changes").prompt)
        assert "RMM offline" in prompt and "✓" not in prompt

    drive(app, steps)


def test_the_callers_rating_from_the_ticket_screen(app: DeskApp) -> None:
    ref = new_ticket(app, caller="Chloe Diallo", verified="callback")

    async def steps(pilot: Pilot[int]) -> None:
        screen = await open_ticket(pilot, ref)
        palette = [c.title for c in app.get_system_commands(screen)]
        assert "Record the caller's satisfaction rating (1-5) and their words" in palette
        assert "Skip the step shown, with the reason it was not done" in palette
        await press(pilot, "g")
        assert isinstance(app.screen, CsatScreen)
        await type_text(pilot, "4")
        await press(pilot, "ctrl+s")
        await settle(pilot)
        # Same rule as deskcli csat: only for a resolved or closed ticket.
        assert "only taken for a resolved or closed ticket" in shown_errors(app)["status"]
        await press(pilot, "escape")
        app.desk.tickets.resolve(ref, root_cause="Worn pickup roller in tray 2",
                                 resolution="Replaced the tray 2 pickup roller on the HP M607")
        await press(pilot, "g")
        await type_text(pilot, "9")
        await press(pilot, "ctrl+s")
        await settle(pilot)
        assert "not a whole number from 1 to 5" in shown_errors(app)["score"]
        score = app.screen.query_one("#csat-score", Input)
        score.value = ""
        await press(pilot, "backspace")
        await type_text(pilot, "4")
        await press(pilot, "tab")
        await fill(pilot, "Quick, thanks")
        await press(pilot, "ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, TicketScreen)
        ticket_id = app.desk.tickets.find(ref)["id"]
        answers = list(app.desk.store.metrics.csat_answers("9999", ticket_id))
        assert len(answers) == 1
        assert any("Survey answer: 4/5: Quick, thanks" in e["summary"]
                   for e in app.desk.tickets.detail(ref).timeline)

    drive(app, steps)


def test_what_steps_collect_is_shown_and_prefills_later_steps(app: DeskApp) -> None:
    ref = new_ticket(app, caller="Chloe Diallo", verified="callback",
                     error="Paper jam 13.B2.D2")
    notes = "Feed 20 pages from tray 2: jams at the fuser"

    async def steps(pilot: Pilot[int]) -> None:
        screen = await open_ticket(pilot, ref)
        await go_to_step(pilot, "reproduce")
        await press(pilot, "1", "tab", "tab")  # result by its number; no tool
        await fill(pilot, notes)
        await press(pilot, "ctrl+s")
        await settle(pilot)
        details = await tab_text(pilot, "3")
        assert "Reproduction notes: " + notes in details
        timeline = await tab_text(pilot, "2")
        assert notes in " ".join(timeline.split())
        # The searched query fills the search step ("/" from the checklist).
        await press(pilot, "escape", "slash")
        await settle(pilot)
        searched = app.screen.query_one("#kb-query", Input).value
        assert searched
        await press(pilot, "escape")
        await go_to_step(pilot, "search_kb")  # the step opens the search too: close it
        await press(pilot, "escape")
        await settle(pilot)
        assert screen.query_one("#field-query", Input).value == searched
        # Escalating: the reproduce notes are the repro steps already.
        await go_to_step(pilot, "scope_decision")
        await press(pilot, "e", "tab")  # escalate, by its first letter
        await fill(pilot, "Fuser unit: hardware vendor")
        await press(pilot, "ctrl+s")
        await settle(pilot)
        await go_to_step(pilot, "escalate")
        form = screen.form
        assert form is not None and form.step.key == "escalate"
        assert form.query_one("#field-repro").text == notes  # type: ignore[attr-defined]
        details = await tab_text(pilot, "3")
        assert "Why: Fuser unit: hardware vendor" in details

    drive(app, steps)


def test_the_sla_preview_follows_the_client_typed(app: DeskApp) -> None:
    app.session.drafts.save("intake", {
        "page": 3, "summary": "Whole office offline",
        "steps": {"set_priority": {"impact": "high", "urgency": "high", "priority": "P1"}}})

    async def steps(pilot: Pilot[int]) -> None:
        await press(pilot, "n")
        intake = app.screen
        assert isinstance(intake, IntakeScreen) and intake.page == 3
        sla = intake.query_one("#open-sla", Static)
        assert "P1 for no client" in str(sla.render())
        await type_text(pilot, "Northwind Dental")
        await until(pilot, lambda: "P1 for Northwind Dental" in str(sla.render()),
                    "the preview to name the client")
        assert "no client" not in str(sla.render())

    drive(app, steps)


def test_a_p1_with_no_pager_warns_until_the_page_is_recorded(app: DeskApp) -> None:
    unpaged = app.desk.tickets.unpaged_p1s()
    assert unpaged, "the sample P1s, on a desk with no pager"
    ref = unpaged[0]

    async def steps(pilot: Pilot[int]) -> None:
        await until(pilot, lambda: app.alerts is not None, "the first alerts")
        bar = str(app.screen.query_one(DeskStatusBar).render())
        assert f"P1 {ref} NOT PAGED: no pager set up" in bar
        await open_ticket(pilot, ref)
        assert "NOT PAGED" in str(app.screen.query_one(DeskStatusBar).render()), \
            "it stays on every screen"
        await go_to_step(pilot, "page_oncall")
        note = str(app.screen.query_one(".step-channel-note", Static).render())
        assert "No pager is configured" in note, "said before the step is completed"
        await press(pilot, "4", "tab")  # paged by phone
        await fill(pilot, "bridge 555 0100")
        await press(pilot, "tab", "y", "ctrl+s")
        await settle(pilot)
        await until(pilot, lambda: app.alerts is not None and ref not in app.alerts.unpaged,
                    "the warning about it to go")
        assert f"P1 {ref} NOT PAGED" not in str(app.screen.query_one(DeskStatusBar).render())
        assert ref not in app.desk.tickets.unpaged_p1s()

    drive(app, steps)


def test_quick_keys_around_a_ticket(app: DeskApp, clock: FakeClock) -> None:
    ref = new_ticket(app, caller="Chloe Diallo", verified="callback")
    closed = new_ticket(app, caller="Ana Chen", verified="callback", summary="Old printer")
    app.desk.tickets.resolve(closed, root_cause="Worn pickup roller in tray 2",
                             resolution="Replaced the tray 2 pickup roller on the HP M607")

    async def steps(pilot: Pilot[int]) -> None:
        # "#N" finds a resolved ticket too.
        await open_ticket(pilot, closed)
        await press(pilot, "escape")
        screen = await open_ticket(pilot, ref)
        # t is pre-filled from the timer; what is logged is not offered again on leaving.
        clock.advance(minutes=12)
        await press(pilot, "t")
        duration = app.screen.query_one("#time-duration", Input)
        assert duration.value == "12m"
        await press(pilot, "ctrl+s")
        await settle(pilot)
        assert app.desk.tickets.detail(ref).time_entries[0]["minutes"] == 12
        assert not screen.offers_time(), "the 12 minutes logged are not offered again"
        # The timeline scrolls from the first key after switching to it.
        await press(pilot, "2")
        assert app.focused is screen.query_one(TimelineView)
        # Choices: the number key, then the same letter again moves to the next match.
        await go_to_step(pilot, "verify_identity")
        method = screen.query_one("#field-method", Select)
        await press(pilot, "3")
        assert method.value == "manager"
        await press(pilot, "s")
        assert method.value == "second-channel"
        assert isinstance(app.screen, TicketScreen), "letters never fire hotkeys here"
        # Tabbing into a filled field keeps its text (the cursor goes to its end).
        await press(pilot, "tab")
        detail = screen.query_one("#field-detail", Input)
        await fill(pilot, "Called back")
        await press(pilot, "shift+tab", "tab")
        await type_text(pilot, " on file")
        assert detail.value == "Called back on file"

    drive(app, steps)


def test_an_error_clears_as_soon_as_the_field_is_right(app: DeskApp) -> None:
    async def steps(pilot: Pilot[int]) -> None:
        await press(pilot, "n", "tab")
        await press(pilot, "ctrl+s")  # no method chosen
        assert "method" in shown_errors(app)
        await press(pilot, "tab", "tab", "tab", "1")  # to the method, callback
        assert "method" not in shown_errors(app)
        await press(pilot, "ctrl+s")  # a verified identity needs the caller's name
        assert "caller" in shown_errors(app)
        app.screen.query_one("#caller-name", Input).focus()
        await type_text(pilot, "Ana Chen")
        assert "caller" not in shown_errors(app), "gone with the first valid value"

    drive(app, steps)


def test_without_a_team_server_the_status_bar_says_local_only(isolated_home: Path,
                                                              clock: FakeClock) -> None:
    app = sample_app(isolated_home, clock, empty=True)

    async def steps(pilot: Pilot[int]) -> None:
        await until(pilot, lambda: app.alerts is not None, "the first alerts")
        bar = str(app.screen.query_one(DeskStatusBar).render())
        assert "local only" in bar and "unsent" not in bar

    drive(app, steps)


def test_the_welcome_says_where_sample_data_goes(isolated_home: Path,
                                                 clock: FakeClock) -> None:
    app = sample_app(isolated_home, clock, empty=True, offer_samples=True)

    async def steps(pilot: Pilot[int]) -> None:
        await until(pilot, lambda: isinstance(app.screen, SampleDataScreen), "the offer")
        where = str(app.screen.query_one("#sample-where", Static).render())
        # Tests run on a DESKCLI_HOME profile: the offer names it and the file.
        assert "deskcli.db" in where and "the profile DESKCLI_HOME points at" in where

    drive(app, steps)


def test_the_header_keeps_channel_owner_and_queue_at_80_columns(app: DeskApp) -> None:
    ref = new_ticket(app, caller="Chloe Diallo", verified="callback",
                     client="Cedar & Pine Law", assignee="dana")
    app.desk.tickets.update(ref, {"queue": "networking"})

    async def steps(pilot: Pilot[int]) -> None:
        screen = await open_ticket(pilot, ref)
        header = screen.query_one(TicketHeader)
        lines = header.plain.splitlines()
        assert any(line.startswith("phone · owner dana · queue networking") for line in lines)
        assert all(len(line) <= 78 for line in lines[1:3]), lines

    drive(app, steps, size=(80, 24))
