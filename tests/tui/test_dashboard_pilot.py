"""The dashboard with real key presses: d from the queue, figures matching the report,
window switching, drill-down to the tickets behind a figure and on into a ticket."""

from __future__ import annotations

from textual.pilot import Pilot

from deskcli.domain import metrics
from deskcli.services.metrics import build_report
from deskcli.tui.app import DeskApp
from deskcli.tui.screens.dashboard import DashboardScreen
from deskcli.tui.screens.metric_tickets import PAGE, MetricTicketsScreen
from deskcli.tui.screens.queue import QueueScreen
from deskcli.tui.screens.ticket import TicketScreen
from deskcli.tui.widgets.vim_list import VimOptionList
from tui.driving import drive, press, settle


def rows(app: DeskApp, selector: str) -> list[str]:
    listing = app.screen.query_one(selector, VimOptionList)
    return [str(listing.get_option_at_index(i).prompt) for i in range(listing.option_count)]


def expected(app: DeskApp, days: int) -> metrics.Report:
    desk = app.desk
    window = metrics.parse_window(f"{days}d", None, desk.now())
    return build_report(desk.store, desk.config.sla, window)


def test_d_opens_the_dashboard_with_the_reports_figures(app: DeskApp) -> None:
    async def steps(pilot: Pilot[int]) -> None:
        await press(pilot, "d")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        shown = rows(app, "#dashboard-rows")
        report = {f.metric: f for f in metrics.figures(expected(app, 30).total)}
        volume = next(line for line in shown if line.startswith("Tickets created"))
        assert metrics.format_value(report["volume"]) in volume
        fcr = next(line for line in shown if line.startswith("First contact resolution"))
        assert f"{report['fcr'].count}/{report['fcr'].total}" in fcr
        assert any(line.startswith("P1 response") for line in shown)
        assert any(line.startswith("category") or line.startswith("error") for line in shown)
        await press(pilot, "escape")
        assert isinstance(app.screen, QueueScreen)

    drive(app, steps)


def test_w_steps_through_the_windows(app: DeskApp) -> None:
    async def steps(pilot: Pilot[int]) -> None:
        await press(pilot, "d")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DashboardScreen) and screen.days == 30
        await press(pilot, "w")
        await settle(pilot)
        assert screen.days == 90
        shown = rows(app, "#dashboard-rows")
        volume = next(line for line in shown if line.startswith("Tickets created"))
        count = expected(app, 90).total.created
        assert f"{len(count)}" in volume
        for _ in range(3):
            await press(pilot, "w")
        await settle(pilot)
        assert screen.days == 30

    drive(app, steps)


def test_enter_drills_down_then_opens_a_ticket(app: DeskApp) -> None:
    async def steps(pilot: Pilot[int]) -> None:
        await press(pilot, "d")
        await settle(pilot)
        report = expected(app, 30)
        volume = report.total.created
        # the rows start on the first figure (first response); j to "Tickets created"
        await press(pilot, "j", "j", "j")
        await press(pilot, "enter")
        await settle(pilot)
        drill = app.screen
        assert isinstance(drill, MetricTicketsScreen)
        assert drill.heading == "Tickets created"
        assert set(drill.refs) == set(volume)
        shown = rows(app, "#drill-rows")
        assert len(shown) == min(PAGE, len(volume))
        first = shown[0].split()[0]
        assert first == drill.refs[0]
        await press(pilot, "enter")
        await settle(pilot)
        assert isinstance(app.screen, TicketScreen) and app.screen.ref == first
        await press(pilot, "escape")
        await settle(pilot)
        assert isinstance(app.screen, MetricTicketsScreen)
        await press(pilot, "escape")
        assert isinstance(app.screen, DashboardScreen)

    drive(app, steps)


def test_dashboard_is_in_the_help_and_the_palette(app: DeskApp) -> None:
    from deskcli.tui.screens.help import help_table

    async def steps(pilot: Pilot[int]) -> None:
        commands = [c.title for c in app.get_system_commands(app.screen)]
        assert any(title.startswith("Dashboard") for title in commands)

    drive(app, steps)
    from rich.console import Console

    console = Console(width=120, record=True)
    console.print(help_table(DeskApp.BINDINGS))
    assert "Dashboard" in console.export_text()
