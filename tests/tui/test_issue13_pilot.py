"""Issue 13's console parts, each driven with real key presses.

A ticket raised by monitoring opened from the intake (the identity page re-planned away),
skipping a step with a required reason, the caller's rating on the ticket screen, and the
quick-to-drive keys (number and letter keys in choices, focus after a save).
"""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widgets import Input, Select, Static

from deskcli.app import DeskApp
from deskcli.domain.engine import StepState
from deskcli.domain.intake import NewTicket
from deskcli.screens.csat import CsatScreen
from deskcli.screens.intake import IntakeScreen
from deskcli.screens.skip_step import SkipStepScreen
from deskcli.screens.ticket import TicketScreen
from deskcli.widgets.checklist_sidebar import ChecklistSidebar
from deskcli.widgets.field_error import FieldError
from deskcli.widgets.timeline import TimelineView
from tui.driving import drive, go_to_step, press, settle, type_text


def shown_errors(app: DeskApp) -> dict[str, str]:
    return {e.field: str(e.render()) for e in app.screen.query(FieldError)
            if e.has_class("-shown")}


def new_ticket(app: DeskApp, **record: str) -> str:
    record.setdefault("summary", "Printer on the 3rd floor jams")
    row = app.desk.tickets.create(NewTicket.from_mapping(record))
    return f"#{row['number']}"


async def open_ticket(pilot: Pilot[int], ref: str) -> TicketScreen:
    await press(pilot, "slash")
    await type_text(pilot, ref)
    await pilot.pause(0.3)
    await settle(pilot)
    await press(pilot, "enter", "enter")
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
        await type_text(pilot, "Disk on fs01 above 95 percent")
        await press(pilot, "tab")
        await type_text(pilot, "Alert: fs01 volume D: 96% used")
        await press(pilot, "tab", "tab")
        await type_text(pilot, "Nightly backup")
        await press(pilot, "tab", "n", "tab")
        await type_text(pilot, "0")
        await press(pilot, "ctrl+s")
        assert intake.page == 2, shown_errors(app)
        await press(pilot, "tab", "m", "ctrl+s")
        assert intake.page == 3, shown_errors(app)
        opener = intake.query_one("#form-open_ticket")
        assert opener.query_one("#field-channel", Select).value == "monitoring"
        await press(pilot, "tab", "tab", "tab")
        await type_text(pilot, "storage")
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
        await type_text(pilot, "RMM offline all week, no patch history to read")
        await press(pilot, "ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, TicketScreen)
        item = app.desk.tickets.detail(ref).progress.of("check_changes")
        assert item.state is StepState.SKIPPED and item.by_hand
        timeline = str(app.screen.query_one(TimelineView).query_one(Static).render())
        text = app.desk.tickets.detail(ref).timeline
        assert any("RMM offline all week" in e["summary"] for e in text)
        prompt = str(app.screen.query_one(ChecklistSidebar).get_option("check_changes").prompt)
        assert "RMM offline" in prompt and "✓" not in prompt
        del timeline

    drive(app, steps)


def test_the_callers_rating_from_the_ticket_screen(app: DeskApp) -> None:
    ref = new_ticket(app, caller="Chloe Diallo", verified="callback")

    async def steps(pilot: Pilot[int]) -> None:
        await open_ticket(pilot, ref)
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
        await type_text(pilot, "Quick, thanks")
        await press(pilot, "ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, TicketScreen)
        answers = list(app.desk.store.csat_answers("9999", app.desk.tickets.find(ref)["id"]))
        assert len(answers) == 1
        assert any("Survey answer: 4/5: Quick, thanks" in e["summary"]
                   for e in app.desk.tickets.detail(ref).timeline)

    drive(app, steps)
