"""Where the technician is in a new ticket's pages: the title and the row of steps at the
top, the back and next buttons at the bottom, both saying what the keys do on this page.

``IntakeHeading`` marks each page done (✓), current (▶), to come (·) or skipped by the
checklist for this channel (–); once the ticket is open both parts say so.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from deskcli.domain.checklist import StepSpec


def step_label(step: StepSpec) -> str:
    return step.key.replace("_", " ")


class IntakeHeading(Vertical):
    DEFAULT_CSS = """
    IntakeHeading {
        height: auto;
    }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="intake-title")
        yield Static(id="intake-steps")

    def show_page(self, index: int, steps: Sequence[StepSpec], skipped: Collection[str]) -> None:
        """Page ``index`` of ``steps`` is shown; ``skipped``: step keys not needed."""
        step = steps[index]
        self.query_one("#intake-title", Static).update(Text(
            f" New ticket · step {index + 1} of {len(steps)}: {step.title}", style="bold"))
        marks = Text(" ")
        for number, other in enumerate(steps):
            if number:
                marks.append("  ›  ", style="dim")
            marker = "✓" if number < index else "▶" if number == index else "·"
            if other.key in skipped and number != index:
                marker = "–"
            marks.append(f"{marker} {number + 1} {step_label(other)}",
                         style="bold" if number == index else "dim")
        self.query_one("#intake-steps", Static).update(marks)

    def show_open(self, ref: str, steps: Sequence[StepSpec]) -> None:
        """The ticket is open: every page done."""
        self.query_one("#intake-title", Static).update(Text(f" New ticket {ref} is open",
                                                            style="bold"))
        self.query_one("#intake-steps", Static).update(Text(
            " " + "  ›  ".join(f"✓ {n + 1} {step_label(s)}" for n, s in enumerate(steps)),
            style="dim"))


class IntakeButtons(Horizontal):
    """Back and next; the screen handles their presses as it handles the keys."""

    def compose(self) -> ComposeResult:
        yield Button("‹ Back (esc)", id="back", compact=True)
        yield Button("Next › (ctrl+s)", id="next", variant="primary", compact=True)

    def _label(self, button_id: str, text: str) -> None:
        button = self.query_one(f"#{button_id}", Button)
        button.label = text
        button.refresh(layout=True)  # a longer label needs a wider button

    def show_page(self, first: bool, last: bool) -> None:
        self._label("back", "Leave (esc)" if first else "‹ Back (esc)")
        self._label("next", "Open the ticket (ctrl+s)" if last else "Next › (ctrl+s)")

    def show_open(self) -> None:
        self._label("back", "Open the ticket, don't send (esc)")
        self._label("next", "Send to the caller (ctrl+s)")
        self.busy(False)

    def busy(self, busy: bool) -> None:
        """Next does nothing while the ticket is being opened."""
        self.query_one("#next", Button).disabled = busy
