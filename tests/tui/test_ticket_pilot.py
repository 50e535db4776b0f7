"""Working a ticket with real key presses: the checklist flows the issue names.

Each test opens a ticket from the queue the way a technician would (``/``, the number,
enter, enter), then walks the checklist with j/k and fills the step forms, which are
built from the checklist data. Keys are real key presses; the text of a field goes in
at once (``fill``), since what is tested is what the form does with it, not typing.
"""

from __future__ import annotations

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from deskcli.domain.engine import StepState
from deskcli.domain.intake import NewTicket
from deskcli.tui.app import DeskApp
from deskcli.tui.screens.ticket import TicketScreen
from deskcli.tui.widgets.checklist_sidebar import ChecklistSidebar
from deskcli.tui.widgets.field_error import FieldError
from deskcli.tui.widgets.ticket_header import TicketHeader
from tui.driving import drive, fill, go_to_step, pick, press, settle

#: Keys wait for the app's work, not a CPU-time guess (``driving.quiet``).
pytestmark = pytest.mark.usefixtures("quick_keys")

GOOD_RESOLUTION = "Rebuilt the Outlook profile and cleared Credential Manager; KB 4567"


def new_ticket(app: DeskApp, **record: str) -> str:
    record.setdefault("summary", "Outlook asks for a password again and again")
    row = app.desk.tickets.create(NewTicket.from_mapping(record))
    return f"#{row['number']}"


async def open_ticket(pilot: Pilot[int], ref: str) -> TicketScreen:
    await press(pilot, "slash")
    await fill(pilot, ref)
    await press(pilot, "enter", "enter")  # the search applies on enter, then opens
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, TicketScreen) and screen.ref == ref
    return screen


def errors(app: DeskApp) -> dict[str, str]:
    return {e.field: str(e.render()) for e in app.screen.query(FieldError)
            if e.has_class("-shown")}


def state(app: DeskApp, ref: str, step: str) -> StepState:
    return app.desk.tickets.detail(ref).progress.of(step).state


def records(app: DeskApp) -> int:
    return int(app.desk.store.db.execute("SELECT count(*) AS n FROM step_records")
               .fetchone()["n"])


def test_identity_gate_refuses_the_credential_step(app: DeskApp) -> None:
    ref = new_ticket(app, caller="Someone claiming to be the CFO", summary="MFA reset",
                     category="accounts")

    async def steps(pilot: Pilot[int]) -> None:
        await open_ticket(pilot, ref)
        await go_to_step(pilot, "verify_identity")
        await pick(pilot, "none")
        await press(pilot, "tab")
        await fill(pilot, "No callback number on file")
        await press(pilot, "ctrl+s")
        await settle(pilot)
        assert state(app, ref, "verify_identity") is StepState.DONE
        header = app.screen.query_one(TicketHeader).plain
        assert "✗ identity not verified" in header

        await go_to_step(pilot, "scope_decision")
        await pick(pilot, "tier1")
        await press(pilot, "tab")
        await fill(pilot, "MFA re-enrolment is Tier 1 work")
        await press(pilot, "ctrl+s")
        await settle(pilot)

        sidebar = app.screen.query_one(ChecklistSidebar)
        prompt = " ".join(str(sidebar.get_option("apply_fix").prompt).split())
        assert prompt.startswith("✗ Apply the documented fix")
        assert "account or credential work needs a verified caller" in prompt
        await go_to_step(pilot, "apply_fix")
        notice = [str(w.render()) for w in app.screen.query(".step-notice").results(Static)]
        assert notice and notice[0].startswith(
            "✗ Blocked: account or credential work needs a verified caller")
        await fill(pilot, "KB 3390")
        before = records(app)
        await press(pilot, "ctrl+s")
        await settle(pilot)
        assert ("is blocked: account or credential work needs a verified caller"
                in errors(app)["form"])
        assert records(app) == before, "a refused step writes nothing"

        # Verify properly (callback), and the same step goes through.
        await go_to_step(pilot, "verify_identity")
        await pick(pilot, "callback")
        await press(pilot, "ctrl+s")
        await settle(pilot)
        await go_to_step(pilot, "apply_fix")
        await fill(pilot, "KB 3390")
        await press(pilot, "ctrl+s")
        await settle(pilot)
        assert state(app, ref, "apply_fix") is StepState.DONE

    drive(app, steps)


def test_escalation_refused_until_its_notes_are_complete(app: DeskApp) -> None:
    ref = new_ticket(app, summary="VPN drops for the whole sales team")

    async def steps(pilot: Pilot[int]) -> None:
        await open_ticket(pilot, ref)
        await go_to_step(pilot, "scope_decision")
        await pick(pilot, "escalate")
        await press(pilot, "tab")
        await fill(pilot, "Gateway side, not Tier 1")
        await press(pilot, "ctrl+s")
        await settle(pilot)

        await go_to_step(pilot, "escalate")
        await fill(pilot, "networking")
        before = records(app)
        await press(pilot, "ctrl+s")
        await settle(pilot)
        shown = errors(app)
        assert shown["repro"] == "✗ Reproduction steps is required and cannot be empty"
        assert "Already tried is required" in shown["tried"]
        assert records(app) == before

        await press(pilot, "tab")
        await fill(pilot, "Connect the VPN and wait five minutes")
        await press(pilot, "tab", "tab")  # leave the error text empty for now
        await fill(pilot, "Reinstalled the GlobalProtect client")
        await press(pilot, "tab")
        await fill(pilot, "Six sales staff cannot reach the CRM")
        await press(pilot, "ctrl+s")
        await settle(pilot)
        # No error text here nor on the ticket: the handoff rule refuses, beside the field.
        assert "escalation refused: Tier 2 needs error text" in errors(app)["error"]
        assert app.desk.tickets.find(ref)["status"] == "new"

        screen = app.screen
        screen.query_one("#field-error").focus()
        await fill(pilot, "GlobalProtect: gateway unreachable (error 1809)")
        await press(pilot, "ctrl+s")
        await settle(pilot)
        ticket = app.desk.tickets.find(ref)
        assert (ticket["status"], ticket["queue"]) == ("escalated", "networking")
        assert state(app, ref, "escalate") is StepState.DONE

    drive(app, steps)


def test_p1_shows_the_paging_step_and_others_skip_it(app: DeskApp) -> None:
    p1 = new_ticket(app, summary="Email down for the whole office", priority="P1")
    p3 = new_ticket(app, summary="One printer offline", priority="P3")

    async def steps(pilot: Pilot[int]) -> None:
        await open_ticket(pilot, p3)
        sidebar = app.screen.query_one(ChecklistSidebar)
        prompt = " ".join(str(sidebar.get_option("page_oncall").prompt).split())
        assert prompt.startswith("– Page on-call") and "Only P1 tickets" in prompt
        await go_to_step(pilot, "page_oncall")
        assert "Only P1 tickets page the on-call engineer" in str(
            app.screen.query_one(".step-skipped").render())
        await press(pilot, "escape", "escape")

        await open_ticket(pilot, p1)
        sidebar = app.screen.query_one(ChecklistSidebar)
        assert str(sidebar.get_option("page_oncall").prompt).startswith("· Page on-call")
        await go_to_step(pilot, "page_oncall")
        await pick(pilot, "pagerduty")
        await press(pilot, "tab")
        await fill(pilot, "bridge 555")
        await press(pilot, "tab")
        await pick(pilot, "no")
        await press(pilot, "ctrl+s")
        await settle(pilot)
        assert "this step is done only when it is yes" in errors(app)["channel_posted"]
        await pick(pilot, "yes")
        await press(pilot, "ctrl+s")
        await settle(pilot)
        assert state(app, p1, "page_oncall") is StepState.DONE

    drive(app, steps)


def test_closure_refuses_a_vague_resolution_live_and_on_save(app: DeskApp) -> None:
    # The root cause names a password: account work, so the caller is verified first.
    ref = new_ticket(app, caller="Ana Chen", verified="callback")

    async def steps(pilot: Pilot[int]) -> None:
        await open_ticket(pilot, ref)
        await go_to_step(pilot, "document_resolution")
        await fill(pilot, "Stale token after the password change")
        await press(pilot, "tab")
        await fill(pilot, "Rebooted and it worked")
        verdict = str(app.screen.query_one("#rule-resolution").render())
        assert "it has only 4 words" in verdict and "names no system" in verdict
        await press(pilot, "ctrl+s")
        await settle(pilot)
        assert "resolution note is too vague" in errors(app)["resolution"]
        assert app.desk.tickets.find(ref)["status"] == "new"

        await press(pilot, "ctrl+a", "ctrl+k")  # line start, delete to its end
        await fill(pilot, GOOD_RESOLUTION)
        assert app.screen.query_one("#field-resolution").text == GOOD_RESOLUTION  # type: ignore[attr-defined]
        assert "specific enough" in str(app.screen.query_one("#rule-resolution").render())
        await press(pilot, "ctrl+s")
        await settle(pilot)
        assert app.desk.tickets.find(ref)["status"] == "resolved"

    drive(app, steps)
