"""Pictures of the knowledge-base screens at 80×24 and 120×40, on the sample data with
the sample articles, a frozen clock and sequential ids."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from deskcli.domain.intake import NewTicket
from deskcli.tui.app import DeskApp
from deskcli.tui.screens.kb_search import KbSearchScreen
from helpers import FakeClock
from tui.driving import fill, press, settle, until
from tui.kb_app import kb_app

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
Snap = Callable[..., bool]
FIX = "Re-pointed SMTP to smtp.office365.com:587 with STARTTLS in the account settings"


@pytest.fixture
def app(isolated_home: Path, clock: FakeClock) -> DeskApp:
    return kb_app(isolated_home, clock)


def ticket_with(app: DeskApp, **record: Any) -> str:
    row = app.desk.tickets.create(NewTicket.from_mapping(record))
    return f"#{row['number']}"


def opened(ref: str, *keys: str, typed: str = "") -> Callable[[Pilot[int]], Awaitable[None]]:
    async def run(pilot: Pilot[int]) -> None:
        from deskcli.tui.screens.ticket import TicketScreen

        await settle(pilot)
        pilot.app.push_screen(TicketScreen(ref))
        await settle(pilot)
        await press(pilot, *keys)
        if typed:
            await fill(pilot, typed)
        screen = pilot.app.screen
        if isinstance(screen, KbSearchScreen):
            await until(pilot, lambda: screen.caught_up, "the search results")
        await settle(pilot)
    return run


@pytest.mark.parametrize("size", SIZES)
class TestKbScreens:
    def test_repeat_on_ticket(self, snap_compare: Snap, app: DeskApp, size: Any) -> None:
        """A ticket whose error was fixed before says how often, and the latest fix."""
        ref = ticket_with(app, summary="Mail stuck in the outbox", client="Acme",
                          error="0x800CCC0E: cannot reach the SMTP server")
        assert snap_compare(app, terminal_size=size, run_before=opened(ref))

    def test_search_prefilled(self, snap_compare: Snap, app: DeskApp, size: Any) -> None:
        """/ searches articles and tickets for the ticket's error code, article first,
        with the match highlighted and the article shown as Markdown beside the list."""
        ref = ticket_with(app, summary="Mail stuck in the outbox",
                          error="0x800CCC0E: cannot reach the SMTP server")
        assert snap_compare(app, terminal_size=size, run_before=opened(ref, "slash"))

    def test_search_typed(self, snap_compare: Snap, app: DeskApp, size: Any) -> None:
        """Results follow what is typed; an event id is matched as one phrase."""
        ref = ticket_with(app, summary="Locked out again")
        assert snap_compare(app, terminal_size=size, run_before=opened(
            ref, "slash", "ctrl+a", "backspace", typed="Event ID 4740"))

    def test_article_draft(self, snap_compare: Snap, app: DeskApp, size: Any) -> None:
        """w on a resolved ticket drafts the article: symptom, cause, numbered steps."""
        ref = ticket_with(app, summary="Office not activated",
                          error="0xC004F074 on activation",
                          verbatim="Word says it is unlicensed")
        app.desk.tickets.resolve(ref, root_cause="KMS host unreachable over the VPN",
                                 resolution="Activated Office against the KMS host after "
                                            "reconnecting the VPN\nChecked the licence")
        assert snap_compare(app, terminal_size=size, run_before=opened(ref, "w"))
