"""The console in a team: sync state in the status bar, colleagues' changes appearing
without a restart, and who else has a ticket open, against a real server process."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from deskcli.tui.app import DeskApp, build_app
from deskcli.tui.screens.ticket import TicketScreen
from deskcli.tui.widgets.queue_table import QueueTable
from deskcli.tui.widgets.status_bar import DeskStatusBar
from deskcli.tui.widgets.ticket_header import TicketHeader
from helpers import SeqIds
from tui.driving import drive, settle, track_worker_threads, workers_done

from .conftest import TeamServer, Tech
from .test_sync import new

pytestmark = pytest.mark.subprocess


@pytest.fixture(autouse=True)
def worker_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    track_worker_threads(monkeypatch)


async def wait_for(pilot: Pilot[int], condition: Callable[[], bool],
                   rounds: int = 60) -> None:
    """Poll ``condition`` between background rounds. ``run_sync`` is exclusive, so a round
    the test starts may replace one the app started: ``workers_done`` expects that."""
    for _ in range(rounds):
        await pilot.pause(0.05)
        await workers_done(pilot.app)  # type: ignore[arg-type]
        if condition():
            return
    raise AssertionError("the screen never showed what was expected")


def status_line(app: DeskApp) -> str:
    return str(app.screen.query_one(DeskStatusBar).render())


def test_console_follows_the_team(server: TeamServer, team: dict[str, Tech],
                                  monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    ana, ben = team["ana"], team["ben"]
    ticket_id = new(ana.desk, "VPN drops every few minutes")
    ana.sync()
    ben.sync()
    ref = "#" + str(ana.desk.tickets.find(ticket_id)["number"])
    monkeypatch.setenv("DESKCLI_SERVER", server.url)
    monkeypatch.setenv("DESKCLI_TOKEN", server.tokens["ana"])
    app = build_app(ana.desk, new_id=SeqIds(), tick=None, offer_samples=False,
                    sync_every=3600)

    async def steps(pilot: Pilot[int]) -> None:
        await wait_for(pilot, lambda: "online · 0 unsent" in status_line(app))
        # A colleague edits the ticket and syncs; the next background round shows it.
        ben.desk.tickets.update(ticket_id, {"summary": "VPN drops for the sales team"})
        ben.sync()
        app.run_sync()
        table = app.screen.query_one(QueueTable)
        await wait_for(pilot, lambda: "sales team" in str(table.view_at(0)))
        # Ben has the ticket open: opening it here says so.
        ben.client.presence(ticket_id)
        app.push_screen(TicketScreen(ref))
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, TicketScreen)
        header = screen.query_one(TicketHeader)
        await wait_for(pilot, lambda: "Also open now: ben" in header.plain)
        # Offline: the bar says so and the work is kept.
        server.kill()
        ana.desk.tickets.add_note(ticket_id, "Asked for the client log", internal=True)
        app.run_sync()
        await wait_for(pilot, lambda: "offline · " in status_line(app))
        assert "unsent" in status_line(app)

    drive(app, steps)
    assert ana.desk.store.sync.outbox_count() > 0, "the note waits in the outbox"
