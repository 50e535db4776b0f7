"""The parts the ticket and intake screens are made of, each on its own (issue 16): the
step form refilled in place, the ticket's side column, its dialogs and work clock, and
the intake's heading, buttons, entries reader, priority help and last page."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.app import App, ComposeResult
from textual.widget import Widget
from textual.widgets import Button, Input, Static, TextArea

from deskcli.domain.checklist import StepSpec
from deskcli.domain.intake import NewTicket
from deskcli.services.desk import Desk
from deskcli.tui.app import DeskApp
from deskcli.tui.screens.skip_step import SkipStepScreen
from deskcli.tui.screens.status import StatusScreen
from deskcli.tui.screens.ticket import TicketScreen
from deskcli.tui.session import DeskSession
from deskcli.tui.widgets.checklist_sidebar import ChecklistSidebar
from deskcli.tui.widgets.field_error import FieldError
from deskcli.tui.widgets.intake_done import IntakeDone
from deskcli.tui.widgets.intake_entries import IntakeEntries
from deskcli.tui.widgets.intake_nav import IntakeButtons, IntakeHeading
from deskcli.tui.widgets.intake_priority import PriorityAdvisor
from deskcli.tui.widgets.priority_guide import PriorityGuide
from deskcli.tui.widgets.step_form import StepForm
from deskcli.tui.widgets.ticket_actions import TicketActions
from deskcli.tui.widgets.ticket_side import TicketSide
from deskcli.tui.widgets.work_clock import WorkClock
from helpers import FakeClock, SeqIds, make_desk
from tui.driving import drive, press, settle

RECORD = {"summary": "Outlook asks for a password again and again", "caller": "Ana Chen",
          "email": "ana@example.com"}


class Host(App[None]):
    """A bare app holding the widgets under test."""

    def __init__(self, *widgets: Widget) -> None:
        super().__init__()
        self.widgets = widgets
        self.changes: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        yield from self.widgets

    def on_step_form_changed(self, message: StepForm.Changed) -> None:
        self.changes.append(message.values)


def run(host: Host, steps: Callable[[Any], Any]) -> None:
    async def go() -> None:
        async with host.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            await steps(pilot)

    asyncio.run(go())


def desk_in(tmp_path: Path) -> Desk:
    return make_desk(tmp_path / "desk", FakeClock())


def step_of(desk: Desk, key: str) -> StepSpec:
    return desk.checklists[desk.tickets.default_checklist].step(key)


def test_step_form_refill_shows_only_the_new_values(tmp_path: Path) -> None:
    with desk_in(tmp_path) as desk:
        step = step_of(desk, "capture_issue")
    form = StepForm(step, values={"verbatim": "old words", "doing": "old doing"},
                    notice="✓ Done.", notice_kind="done")
    host = Host(form)

    async def steps(pilot: Any) -> None:
        form.set_value("users_affected", "lots")
        form.check_all()  # a message beside the bad number, and live checks from now on
        await pilot.pause()
        assert any(e.has_class("-shown") for e in form.query(FieldError))
        host.changes.clear()
        form.refill({"verbatim": "new words", "users_affected": 4}, notice="")
        await pilot.pause()
        assert form.values() == {"verbatim": "new words", "users_affected": "4"}
        assert not any(e.has_class("-shown") for e in form.query(FieldError))
        assert not form.query_one("#step-form-notice", Static).display
        assert host.changes == [], "filling is not typing: no draft is written"
        form.set_value("doing", "typed")
        await pilot.pause()
        assert host.changes[-1]["doing"] == "typed"

    run(host, steps)


def test_step_form_reports_no_change_when_mounted(tmp_path: Path) -> None:
    with desk_in(tmp_path) as desk:
        step = step_of(desk, "set_priority")  # choice fields: they settle on mount
    host = Host(StepForm(step, values={"impact": "high"}))

    async def steps(pilot: Any) -> None:
        await pilot.pause()
        assert host.changes == []

    run(host, steps)


def test_ticket_side_shows_one_tickets_progress_family_and_repeat(tmp_path: Path) -> None:
    with desk_in(tmp_path) as desk:
        parent = desk.tickets.create(NewTicket.from_mapping({**RECORD, "summary": "Outage"}))
        child = desk.tickets.create(NewTicket.from_mapping(RECORD))
        desk.tickets.link(f"#{child['number']}", f"#{parent['number']}")
        session = DeskSession(desk, new_id=SeqIds())
        view = session.ticket_view(f"#{child['number']}")
        alone = session.ticket_view(f"#{parent['number']}")
    side = TicketSide(id="ticket-side")
    host = Host(side)

    async def steps(pilot: Any) -> None:
        side.show(view, None)
        await pilot.pause()
        progress = str(side.query_one("#progress-line", Static).render())
        assert progress.startswith("Checklist: ") and "done" in progress
        assert f"#{parent['number']}" in str(side.query_one("#family-text", Static).render())
        assert not side.query_one("#repeat-line", Static).display
        current = view.detail.progress.current
        assert current is not None
        checklist = side.query_one(ChecklistSidebar)
        assert checklist.highlighted == checklist.get_option_index(current.step.key)
        side.show(alone, "capture_issue")
        await pilot.pause()
        assert "Part of" not in str(side.query_one("#family-text", Static).render())
        assert checklist.highlighted == checklist.get_option_index("capture_issue")

    run(host, steps)


def test_intake_heading_and_buttons_say_where_the_technician_is(tmp_path: Path) -> None:
    with desk_in(tmp_path) as desk:
        steps_ = list(desk.checklists[desk.tickets.default_checklist].phases[0].steps)
    heading, buttons = IntakeHeading(), IntakeButtons()
    host = Host(heading, buttons)

    async def steps(pilot: Any) -> None:
        heading.show_page(1, steps_, {steps_[2].key})
        buttons.show_page(first=False, last=False)
        await pilot.pause()
        marks = str(heading.query_one("#intake-steps", Static).render())
        assert marks.split("›")[0].strip().startswith("✓ 1")
        assert "▶ 2" in marks and "– 3" in marks
        assert str(buttons.query_one("#back", Button).label) == "‹ Back (esc)"
        buttons.show_page(first=True, last=True)
        assert str(buttons.query_one("#back", Button).label) == "Leave (esc)"
        assert str(buttons.query_one("#next", Button).label) == "Open the ticket (ctrl+s)"
        buttons.busy(True)
        assert buttons.query_one("#next", Button).disabled
        heading.show_open("#1042", steps_)
        buttons.show_open()
        assert "#1042 is open" in str(heading.query_one("#intake-title", Static).render())
        assert not buttons.query_one("#next", Button).disabled
        assert str(buttons.query_one("#next", Button).label) == "Send to the caller (ctrl+s)"

    run(host, steps)


def test_intake_entries_read_the_caller_and_clear_a_fixed_message() -> None:
    name, email = Input(id="caller-name"), Input(id="caller-email")
    slot = FieldError("email")
    host = Host(name, email, Input(id="summary"), slot)
    entries = IntakeEntries(host, [], lambda step: None,  # type: ignore[arg-type,return-value]
                            lambda: {}, lambda: "dana")

    async def steps(pilot: Any) -> None:
        entries.pages = host.screen
        name.value, email.value = "Ana Chen", "not an address"
        assert entries.caller() == {"caller": "Ana Chen", "email": "not an address"}
        assert entries.record()["assignee"] == "dana"
        assert entries.value("#caller-phone") == "", "a missing input reads as empty"
        slot.show("not an email address")
        entries.recheck(email)
        assert slot.has_class("-shown"), "still wrong: the message stands"
        email.value = "ana@example.com"
        entries.recheck(email)
        assert not slot.has_class("-shown")

    run(host, steps)


def test_priority_advisor_follows_the_matrix_until_a_priority_is_picked(
        tmp_path: Path) -> None:
    with desk_in(tmp_path) as desk:
        session = DeskSession(desk, new_id=SeqIds())
        step = step_of(desk, "set_priority")
        form = StepForm(step)
        advisor = PriorityAdvisor(session, [step], lambda _step: form, lambda: None)
        host = Host(form, PriorityGuide(id="guide"), advisor)

        async def steps(pilot: Any) -> None:
            form.set_value("impact", "high")
            form.set_value("urgency", "high")
            advisor.changed("urgency")
            await pilot.pause()
            suggested = form.values()["priority"]
            assert suggested in ("P1", "P2")
            form.set_value("priority", "P4")  # the technician's own choice
            form.set_value("urgency", "low")
            advisor.changed("urgency")
            assert form.values()["priority"] == "P4", "a priority picked by hand stays"

        run(host, steps)


def test_intake_done_shows_the_open_ticket_and_its_draft(tmp_path: Path) -> None:
    with desk_in(tmp_path) as desk:
        row = desk.tickets.create(NewTicket.from_mapping(RECORD))
    done = IntakeDone(id="page-done")
    host = Host(done)

    async def steps(pilot: Any) -> None:
        done.show(row, "Hello Ana, this is #1")
        await pilot.pause()
        assert f"#{row['number']} is open" in str(
            done.query_one("#done-summary", Static).render())
        assert done.query_one("#ack", TextArea).text == "Hello Ana, this is #1"

    run(host, steps)


def open_first(app: DeskApp) -> Callable[[Any], Any]:
    async def opened(pilot: Any) -> TicketScreen:
        await press(pilot, "enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, TicketScreen) and screen.view is not None
        return screen
    return opened


def test_work_clock_offers_time_only_after_a_minute(app: DeskApp,
                                                     clock: FakeClock) -> None:
    async def steps(pilot: Any) -> None:
        screen = await open_first(app)(pilot)
        work = screen.query_one(WorkClock)
        work.show()
        assert app.timer_text.startswith(screen.ref)
        assert not work.offers_time(), "a glance is not work"
        clock.advance(seconds=61)
        assert work.offers_time() and work.entry_text() == "2m"
        work.restart()  # time was logged from the ticket
        assert not work.offers_time()
        work.stop()
        assert app.timer_text == "" and not work.offers_time()

    drive(app, steps)


def test_ticket_actions_open_the_dialog_asked_for(app: DeskApp) -> None:
    async def steps(pilot: Any) -> None:
        screen = await open_first(app)(pilot)
        actions = screen.query_one(TicketActions)
        assert screen.view is not None and screen.selected is not None
        actions.open("status", screen.view, screen.selected)
        await settle(pilot)
        assert isinstance(app.screen, StatusScreen)
        await press(pilot, "escape")
        actions.open("skip", screen.view, screen.selected)
        await settle(pilot)
        assert isinstance(app.screen, SkipStepScreen)
        assert app.screen.step_key == screen.selected  # type: ignore[attr-defined]
        await press(pilot, "escape")
        assert app.screen is screen

    drive(app, steps)
