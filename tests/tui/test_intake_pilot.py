"""A new ticket through the four intake pages, with real key presses.

The caller's name is typed key by key, since the look-up answers as you type; the other
text fields get their text in one go (``fill``): the keys that move between fields, open
choices and save are real presses."""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widgets import Input, Select

from deskcli.domain.engine import StepState
from deskcli.tui.app import DeskApp
from deskcli.tui.screens.intake import IntakeScreen
from deskcli.tui.screens.ticket import TicketScreen
from deskcli.tui.widgets.caller_lookup import CallerLookup
from deskcli.tui.widgets.field_error import FieldError
from tui.driving import drive, fill, press, settle, type_text, until


def shown_errors(app: DeskApp) -> dict[str, str]:
    return {e.field: str(e.render()) for e in app.screen.query(FieldError)
            if e.has_class("-shown")}


async def choose(pilot: Pilot[int], downs: int) -> None:
    """Open the focused choice, move down ``downs`` entries (past the blank), pick."""
    await press(pilot, "enter", *["down"] * downs, "enter")


def test_full_intake_to_a_p2_ticket(app: DeskApp) -> None:
    async def steps(pilot: Pilot[int]) -> None:
        await press(pilot, "n")
        intake = app.screen
        assert isinstance(intake, IntakeScreen)
        # 1. Identity: look the caller up, verify by callback.
        await type_text(pilot, "Ana Chen")
        # The look-up answers a moment after the last key (debounced): enter before
        # that would find no results to go into.
        lookup = intake.query_one(CallerLookup)
        await until(pilot, lambda: bool(lookup.rows()), "the caller look-up")
        await press(pilot, "enter", "enter")  # into the results, pick the first
        assert intake.query_one("#caller-name", Input).value == "Ana Chen"
        await press(pilot, "ctrl+s")  # method not chosen yet: refused inline
        errors = shown_errors(app)
        assert "How identity was verified is required" in errors["method"]
        assert intake.page == 0
        await choose(pilot, 1)  # callback
        await press(pilot, "tab")
        await fill(pilot, "Called back the number on file")
        await press(pilot, "ctrl+s")
        assert intake.page == 1, shown_errors(app)
        # 2. The caller's words.
        await fill(pilot, "Outlook keeps asking for my password")
        await press(pilot, "tab")
        await fill(pilot, "Every time I open Outlook it asks again")
        await press(pilot, "tab")
        await fill(pilot, "Need password")
        await press(pilot, "tab")
        await fill(pilot, "Opening Outlook")
        await press(pilot, "tab")
        await choose(pilot, 1)  # reproducible: yes
        await press(pilot, "tab")
        await fill(pilot, "1")
        await press(pilot, "ctrl+s")
        assert intake.page == 2, shown_errors(app)
        # 3. Priority: one person (medium impact, prefilled) and work stopped now.
        form = intake.query_one("#form-set_priority")
        assert form.query_one("#field-impact", Select).value == "medium"
        await press(pilot, "tab")
        await choose(pilot, 1)  # urgency: high
        await settle(pilot)
        assert form.query_one("#field-priority", Select).value == "P2", "the matrix suggests P2"
        guide = str(intake.query_one("#guide").render())
        assert "suggests P2" in guide and "Northwind Dental, premium contract" in guide
        assert "respond by 09:30 (30m), resolve by Tue 13:00 (4h00m)" in guide
        await press(pilot, "ctrl+s")
        assert intake.page == 3, shown_errors(app)
        # 4. Open: the client came from the caller look-up; tag category and channel.
        opener = intake.query_one("#form-open_ticket")
        assert opener.query_one("#field-client", Input).value == "Northwind Dental"
        await press(pilot, "tab", "tab", "tab")
        await fill(pilot, "email")
        await press(pilot, "tab")
        await choose(pilot, 1)  # phone
        await press(pilot, "ctrl+s")
        await settle(pilot)
        assert intake.ticket is not None, shown_errors(app)
        ack = intake.query_one("#ack").text  # type: ignore[attr-defined]
        assert ack.startswith("Hi Ana, your ticket #") and "dana owns it" in ack
        await press(pilot, "ctrl+s")  # send the acknowledgement, go to the ticket
        await settle(pilot)
        assert isinstance(app.screen, TicketScreen)
        detail = app.desk.tickets.detail(app.screen.ref)
        ticket = detail.ticket
        assert (ticket["priority"], ticket["status"], ticket["verification"]) == \
            ("P2", "open", "callback")
        assert ticket["caller_name"] == "Ana Chen" and ticket["category"] == "email"
        assert ticket["first_response_at"] is not None, "the acknowledgement went out"
        for key in ("verify_identity", "capture_issue", "set_priority", "open_ticket"):
            assert detail.progress.of(key).state is StepState.DONE
        assert app.session.drafts.load("intake") == {}, "a finished intake leaves no draft"

    drive(app, steps)
