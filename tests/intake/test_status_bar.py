"""The console names a mailbox whose fetches keep failing, and only then."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot

from deskcli.storage.mail import MailLedger
from deskcli.tui.widgets.status_bar import DeskStatusBar
from helpers import FakeClock
from tui.driving import drive, settle
from tui.sample_app import sample_app


def test_a_mailbox_failing_three_times_in_a_row_shows_on_the_status_bar(
        isolated_home: Path, clock: FakeClock) -> None:
    app = sample_app(isolated_home, clock)
    ledger = MailLedger(app.session.desk.store)

    def fail_once(error: str | None = "cannot reach imap.example.org:993") -> None:
        with app.session.desk.store.transaction():
            ledger.fetched("support", "2026-11-24T09:00:00Z", error)

    async def steps(pilot: Pilot[int]) -> None:
        for _ in range(2):
            fail_once()
        app.refresh_alerts()
        await settle(pilot)
        assert "mail:" not in str(app.screen.query_one(DeskStatusBar).render())
        fail_once()
        app.refresh_alerts()
        await settle(pilot)
        assert "! mail: support failing" in str(app.screen.query_one(DeskStatusBar).render())
        fail_once(None)  # a fetch that worked clears it
        app.refresh_alerts()
        await settle(pilot)
        assert "mail:" not in str(app.screen.query_one(DeskStatusBar).render())

    # Wide enough for the sample's unpaged-P1 alert and the clocks beside it: on a narrow
    # screen that alert keeps the room and the right-hand notes give way.
    drive(app, steps, size=(200, 40))
