"""The console runs the time-based rules off the screen's thread, and its help lists the
rules in force."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from textual.pilot import Pilot

from deskcli.domain.enums import Priority
from deskcli.domain.intake import NewTicket
from deskcli.tui.app import DeskApp
from deskcli.tui.screens.help import HelpScreen
from helpers import FakeClock, SeqIds, make_desk
from tui.driving import drive, press, settle, until

RULES = """
[[rule]]
name = "untouched P2 escalates"
on = "schedule"
if = { priority = ["P1", "P2"], status = ["new", "open"], idle = "2h" }
then = { escalate = "tier2" }
"""


def _app(home: Path, clock: FakeClock) -> tuple[DeskApp, str]:
    config = home / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "rules.toml").write_text(RULES)
    desk = make_desk(home, clock)
    row = desk.tickets.create(NewTicket(summary="VPN down", priority=Priority.P2))
    clock.advance(hours=3)
    app = DeskApp(desk, new_id=SeqIds(), tick=None, offer_samples=False, sync_every=None,
                  notify_every=None, rules_every=None)
    return app, f"#{row['number']}"


def test_the_console_runs_the_time_based_rules(isolated_home: Path,
                                               clock: FakeClock) -> None:
    app, ref = _app(isolated_home, clock)
    assert app.session.rules_enabled()

    async def steps(pilot: Pilot[int]) -> None:
        app.run_rules()
        await until(pilot, lambda: app.desk.tickets.find(ref)["status"] == "escalated",
                    "the rule pass")
        await settle(pilot)

    drive(app, steps)
    assert app.session.rules_once() == 0  # fired once, not on every pass
    app.session.close_sync()
    app.desk.close()


def test_help_lists_the_rules_in_force(isolated_home: Path, clock: FakeClock) -> None:
    app, _ref = _app(isolated_home, clock)

    async def steps(pilot: Pilot[int]) -> None:
        await press(pilot, "question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        from deskcli.tui.screens.help import help_table

        console = Console(width=200, record=True)
        console.print(help_table(app.BINDINGS, app.session.rules_in_force()))
        text = console.export_text()
        assert "RULES IN FORCE (RULES.TOML)" in text
        line = next(x for x in text.splitlines() if "untouched P2 escalates" in x)
        assert " ".join(line.split()) == (
            "untouched P2 escalates on schedule: if priority P1|P2; status new|open; "
            "idle 2h; then queue tier2, status escalated")

    drive(app, steps)
    app.desk.close()
