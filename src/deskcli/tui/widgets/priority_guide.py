"""What a priority means and what it commits the desk to, shown while choosing it.

The definitions, the impact × urgency suggestion and the SLA due times all come from the
domain; this widget only lays them out beside the priority field.
"""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.widgets import Static

from deskcli.domain.enums import Impact, Priority, Urgency
from deskcli.domain.errors import DeskError
from deskcli.domain.priority import DEFINITIONS, suggest_priority
from deskcli.domain.sla import SlaPolicy, compute_clock, format_span


def suggestion(impact: str | None, urgency: str | None) -> Priority | None:
    if not impact or not urgency:
        return None
    return suggest_priority(Impact(impact), Urgency(urgency))


class PriorityGuide(Static):
    DEFAULT_CSS = """
    PriorityGuide {
        height: auto;
        background: $boost;
        padding: 0 1;
        margin: 0 0 1 1;
    }
    """

    def show(self, *, impact: str | None, urgency: str | None, chosen: str | None,
             policy: SlaPolicy, now: datetime, client: str | None, tier: str | None) -> None:
        text = Text()
        suggested = suggestion(impact, urgency)
        for priority, definition in DEFINITIONS.items():
            picked = chosen == priority.value
            text.append("▶ " if picked else "  ")
            text.append(f"{priority.value} {definition.name:<9}", style="bold")
            text.append(definition.meaning, style="" if picked else "dim")
            if picked:
                text.append(f"\n     e.g. {definition.example}", style="italic")
            text.append("\n")
        if suggested is not None:
            text.append(f"Impact {impact} × urgency {urgency} suggests ")
            text.append(suggested.value, style="bold")
            if chosen and chosen != suggested.value:
                text.append(f"; you chose {chosen}", style="yellow")
        else:
            text.append("Rate impact and urgency below for a suggestion.", style="dim")
        if chosen:
            text.append("\n")
            try:
                clock = compute_clock(now, Priority(chosen), policy, tier=tier)
                target = policy.target(Priority(chosen), tier)
            except DeskError as error:
                text.append(error.message, style="red")
            else:
                who = f"{client}, {tier or 'standard'} contract" if client else \
                    "the standard contract (no client chosen)"
                text.append(f"SLA for {who}: ", style="bold")
                text.append(f"respond by {clock.response_due:%H:%M} "
                            f"({format_span(target.response)}), resolve by "
                            f"{clock.resolve_due:%a %H:%M} ({format_span(target.resolve)}) UTC")
        self.update(text)
