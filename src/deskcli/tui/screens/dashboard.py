"""The lead's dashboard: the six service-desk numbers with their weekly trend, SLA
compliance per priority and the recurring issues, over a window (7, 30, 90 or 365 days).

The numbers come from ``services.metrics.build_report`` (the same as ``deskcli report``),
computed in a thread worker so a 100,000-ticket store never freezes the screen. Each row
drills down to the tickets behind it; the list opens a page at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from deskcli.domain import metrics
from deskcli.domain.rules import ACTIVITY, RuleActivity
from deskcli.tui.screens.context import desk_app
from deskcli.tui.widgets.footer import DeskFooter
from deskcli.tui.widgets.status_bar import DeskStatusBar
from deskcli.tui.widgets.vim_list import VimOptionList

#: The windows ``w`` steps through, in days.
WINDOWS = (7, 30, 90, 365)
#: The six numbers leads review together, in the order they read them.
SIX = ("frt_median", "resolution_median", "fcr", "volume", "escalation_rate", "csat")
SIX_LABELS = {"frt_median": "First response (median)",
              "resolution_median": "Resolution time (median)",
              "fcr": "First contact resolution", "volume": "Tickets created",
              "escalation_rate": "Escalation rate", "csat": "CSAT (4-5 ratings)"}
#: Most weeks a trend shows; a year is cut to its latest weeks on narrow terminals.
TREND_WEEKS = 16


@dataclass(frozen=True)
class DashboardData:
    """Both reports the screen draws from: one by week (totals and trends), one by
    priority (SLA compliance)."""

    weekly: metrics.Report
    by_priority: metrics.Report
    #: What rules did in the window; None on a desk without rules and no rule firings.
    rules: RuleActivity | None = None


@dataclass(frozen=True)
class Drill:
    """What a row opens: a title and the tickets behind the figure."""

    title: str
    refs: tuple[str, ...]


def _missed(due: list[str], met: list[str]) -> tuple[str, ...]:
    """The tickets a compliance figure missed: what a lead wants to look at."""
    kept = set(met)
    return tuple(ref for ref in due if ref not in kept)


def _counts(figure: metrics.Figure) -> str:
    if figure.unit == "count":
        return ""
    if figure.unit == "percent":
        return f"{figure.count}/{figure.total}"
    return f"n={figure.count}"


def dashboard_rows(data: DashboardData, trend_width: int = TREND_WEEKS
                   ) -> list[tuple[Text, Drill] | Text | None]:
    """The rows of the list: a ``Text`` alone is a heading, ``None`` a separator."""
    rows: list[tuple[Text, Drill] | Text | None] = []
    total = {f.metric: f for f in metrics.figures(data.weekly.total)}
    rows.append(Text("THE SIX NUMBERS (trend: week by week, oldest first)",
                     style="bold underline"))
    for metric in SIX:
        figure = total[metric]
        spark = metrics.sparkline(metrics.trend(data.weekly, metric)[-trend_width:])
        line = Text(f"{SIX_LABELS[metric]:<26}", style="bold")
        line.append(f"{metrics.format_value(figure):>8}")
        line.append(f"  {_counts(figure):<13}", style="dim")
        line.append(spark, style="cyan")
        rows.append((line, Drill(SIX_LABELS[metric], figure.refs)))
    rows.append(None)
    rows.append(Text("SLA COMPLIANCE BY PRIORITY (enter lists the misses)",
                     style="bold underline"))
    for priority, tally in data.by_priority.groups.items():
        by_name = {f.metric: f for f in metrics.figures(tally)}
        for metric, label, due, met in (
                ("response_sla", "response", tally.response_due, tally.response_met),
                ("resolution_sla", "resolution", tally.resolved_refs, tally.resolve_met)):
            figure = by_name[metric]
            line = Text(f"{priority} {label:<23}", style="bold")
            line.append(f"{metrics.format_value(figure):>8}")
            line.append(f"  {_counts(figure):<13}", style="dim")
            line.append(_bar(figure.value), style="green")
            rows.append((line, Drill(f"{priority}: {label} SLA missed", _missed(due, met))))
    rows.append(None)
    rows.append(Text("RECURRING ISSUES (seen three times or more)", style="bold underline"))
    recurring = ([("category", r) for r in data.weekly.categories]
                 + [("error", r) for r in data.weekly.error_codes])
    if not recurring:
        rows.append(Text("Nothing came up three times in this window.", style="dim"))
    for kind, item in recurring:
        line = Text(f"{kind:<9}", style="dim")
        line.append(f"{item.key:<25}", style="bold")
        line.append(f"{item.count:>8} tickets")
        rows.append((line, Drill(f"{kind} {item.key}", item.refs)))
    if data.rules is not None:
        rows.append(None)
        rows.append(Text(f"WHAT RULES DID ({data.rules.firings} firings; enter lists the "
                         "tickets)", style="bold underline"))
        for kind, label in ACTIVITY.items():
            line = Text(f"{label:<26}", style="bold")
            line.append(f"{data.rules.count(kind):>8} tickets")
            rows.append((line, Drill(f"{label} by rules", data.rules.refs.get(kind, ()))))
    return rows


def _bar(value: float | None, width: int = 20) -> str:
    """A percentage as a bar of full and light blocks."""
    if value is None:
        return ""
    filled = round(value / 100 * width)
    return "█" * filled + "░" * (width - filled)


class DashboardScreen(Screen[None]):
    CSS_PATH = "dashboard.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "back", "Back", tooltip="Back to the queue"),
        Binding("w", "window", "Window", tooltip="Next window: 7, 30, 90 or 365 days"),
        Binding("r", "refresh", "Refresh", tooltip="Compute the figures again"),
        Binding("enter", "drill", "Tickets", show=False,
                tooltip="List the tickets behind the figure under the cursor"),
    ]

    @dataclass
    class _Computed(Message):
        days: int
        data: DashboardData

    def __init__(self, days: int = 30) -> None:
        super().__init__()
        self.days = days
        self._drills: dict[str, Drill] = {}

    def compose(self) -> ComposeResult:
        yield Static(id="dashboard-title")
        yield VimOptionList(id="dashboard-rows")
        yield DeskStatusBar()
        yield DeskFooter()

    def on_mount(self) -> None:
        self.query_one("#dashboard-rows", VimOptionList).focus()
        self._load()

    def _title(self, note: str = "") -> None:
        text = Text(f" Dashboard · last {self.days} days", style="bold")
        text.append(f"   {note}" if note else "   (w: window · enter: tickets · r: refresh)",
                    style="dim")
        self.query_one("#dashboard-title", Static).update(text)

    def _load(self) -> None:
        self._title("computing…")
        self._compute(self.days)

    @work(thread=True, exclusive=True, group="dashboard")
    def _compute(self, days: int) -> None:
        from deskcli.services.metrics import build_report, rule_activity

        session = desk_app(self).session
        desk = session.desk
        window = metrics.parse_window(f"{days}d", None, desk.now())

        def both() -> DashboardData:
            activity = rule_activity(desk.store, window)
            return DashboardData(
                build_report(desk.store, desk.config.sla, window, metrics.GroupBy.WEEK),
                build_report(desk.store, desk.config.sla, window, metrics.GroupBy.PRIORITY),
                activity if activity.firings or desk.rules is not None else None)
        self.post_message(self._Computed(days, session.run(both)))

    def on_dashboard_screen__computed(self, message: _Computed) -> None:
        if message.days != self.days:
            return  # an older window's answer, overtaken by a key press
        rows = self.query_one("#dashboard-rows", VimOptionList)
        highlighted = rows.highlighted
        width = max(4, min(TREND_WEEKS, self.size.width - 60))
        self._drills.clear()
        options: list[Option | None] = []
        for number, row in enumerate(dashboard_rows(message.data, width)):
            if row is None:
                options.append(None)
            elif isinstance(row, Text):
                options.append(Option(row, disabled=True))
            else:
                text, drill = row
                key = f"row-{number}"
                self._drills[key] = drill
                options.append(Option(text, id=key))
        rows.set_options(options)
        first = next((i for i, o in enumerate(options) if o is not None and not o.disabled),
                     None)
        rows.highlighted = highlighted if highlighted is not None else first
        window = message.data.weekly.window
        self._title(f"{window.since:%d %b %Y} to {window.until:%d %b %Y %H:%M} UTC")

    @on(OptionList.OptionSelected, "#dashboard-rows")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self._open(event.option.id)

    def action_drill(self) -> None:
        rows = self.query_one("#dashboard-rows", VimOptionList)
        if rows.highlighted is not None:
            self._open(rows.get_option_at_index(rows.highlighted).id)

    def _open(self, key: str | None) -> None:
        from deskcli.tui.screens.metric_tickets import MetricTicketsScreen

        drill = self._drills.get(key or "")
        if drill is not None:
            self.app.push_screen(MetricTicketsScreen(drill.title, drill.refs))

    def action_window(self) -> None:
        self.days = WINDOWS[(WINDOWS.index(self.days) + 1) % len(WINDOWS)] \
            if self.days in WINDOWS else WINDOWS[0]
        self._load()

    def action_refresh(self) -> None:
        self._load()

    def action_back(self) -> None:
        self.app.pop_screen()
