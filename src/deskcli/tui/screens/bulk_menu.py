"""What can be done to the marked tickets: the action palette the queue's ``a`` opens.

One key per action, the same letters as on the ticket screen where there is one (``s``
status, ``p`` priority, ``a`` owner, ``i`` internal note, ``u`` update to the caller).
Picking one opens its small form; nothing is written before the preview.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from deskcli.tui.widgets.vim_list import VimOptionList

#: (key, action, label) in the order the palette lists them.
ACTIONS: tuple[tuple[str, str, str], ...] = (
    ("s", "status", "Set the status"),
    ("p", "priority", "Set the priority"),
    ("a", "assignee", "Set the owner"),
    ("q", "queue", "Move to a queue"),
    ("t", "tags", "Add or remove tags"),
    ("i", "note", "Add an internal note (the team only)"),
    ("u", "update", "Send an update to each caller"),
    ("l", "link", "Link to a parent ticket"),
    ("v", "resolve", "Resolve, with one resolution for all"),
    ("c", "close", "Close"),
)


def tickets(count: int) -> str:
    """``1 ticket``, ``1,200 tickets``."""
    return f"{count:,} ticket{'s' if count != 1 else ''}"


def marked(count: int) -> str:
    """``3 marked tickets``."""
    return f"{count:,} marked ticket{'s' if count != 1 else ''}"


class BulkMenuScreen(ModalScreen[str | None]):
    """Answers the chosen action's name (``"status"``, ``"note"`` …) or None."""

    DEFAULT_CSS = """
    BulkMenuScreen {
        align: center middle;
    }
    BulkMenuScreen > Vertical {
        width: 56;
        max-width: 95%;
        height: auto;
        border: round $primary;
        background: $surface;
        padding: 0 1;
    }
    BulkMenuScreen OptionList, BulkMenuScreen OptionList:focus {
        height: auto;
        border: none;
        padding: 0;
    }
    BulkMenuScreen .dialog-title {
        margin-bottom: 1;
    }
    BulkMenuScreen .dialog-help {
        color: $text-muted;
        margin-top: 1;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        *(Binding(key, f"choose('{action}')", label, show=False)
          for key, action, label in ACTIONS),
    ]

    def __init__(self, count: int) -> None:
        super().__init__()
        self.count = count

    def compose(self) -> ComposeResult:
        options = []
        for key, action, label in ACTIONS:
            text = Text()
            text.append(f" {key} ", style="bold reverse")  # the key alone, not the line
            text.append(f"  {label}")
            options.append(Option(text, id=action))
        with Vertical():
            yield Static(Text(f"Act on the {marked(self.count)}", style="bold"),
                         classes="dialog-title")
            yield VimOptionList(*options, id="bulk-actions")
            yield Static("Each one asks what to do, then shows what would change, and "
                         "which tickets would refuse, before anything is written.",
                         classes="dialog-help")

    def on_mount(self) -> None:
        choice = self.query_one("#bulk-actions", VimOptionList)
        choice.focus()
        choice.highlighted = 0

    def action_choose(self, action: str) -> None:
        self.dismiss(action)

    @on(OptionList.OptionSelected, "#bulk-actions")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None:
            self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
