"""Every key, by where it works. Built from the screens' own bindings, so it cannot drift."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

#: Keys that belong to Textual's own widgets rather than to a deskcli binding.
GENERAL = [
    ("tab / shift+tab", "Next / previous field or list"),
    ("ctrl+p", "Command palette: every action by name"),
]
FORMS = [
    ("enter", "In a one-line field: on to the next field"),
    ("enter / space", "On a choice: open its list (type to jump, enter picks)"),
    ("ctrl+s", "Save: complete the step, next intake page, save a dialog"),
    ("escape", "Cancel a dialog; in a form, back to the checklist first"),
]
KEY_NAMES = {"question_mark": "?", "slash": "/", "asterisk": "*"}


def binding_rows(bindings: Iterable[BindingType]) -> list[tuple[str, str]]:
    """(keys, what they do) for each described binding; keys doing one thing share a row."""
    merged: dict[str, list[str]] = {}
    for binding in Binding.make_bindings(bindings):
        if binding.description:
            merged.setdefault(binding.tooltip or binding.description, []).append(
                KEY_NAMES.get(binding.key, binding.key))
    return [(" / ".join(dict.fromkeys(keys)), does) for does, keys in merged.items()]


def help_table(app_bindings: Iterable[BindingType],
               rules: Iterable[dict[str, object]] = ()) -> Table:
    """Every key, by where it works; ``app_bindings`` are the running app's own (passed
    in: a screen never imports the app module, which imports the screens). ``rules``
    are the rules in force (``DeskSession.rules_in_force``), listed after the keys."""
    from deskcli.tui.screens.bulk_menu import ACTIONS
    from deskcli.tui.screens.bulk_preview import BulkPreviewScreen
    from deskcli.tui.screens.dashboard import DashboardScreen
    from deskcli.tui.screens.intake import IntakeScreen
    from deskcli.tui.screens.queue import QueueScreen
    from deskcli.tui.screens.ticket import TicketScreen
    from deskcli.tui.widgets.checklist_sidebar import ChecklistSidebar
    from deskcli.tui.widgets.queue_table import QueueTable

    sections = [
        ("Everywhere", GENERAL + binding_rows(app_bindings)),
        ("Queue", binding_rows([*QueueScreen.BINDINGS, *QueueTable.BINDINGS])),
        ("Marked tickets: after a", [(key, label) for key, _action, label in ACTIONS]),
        ("Bulk preview", binding_rows(BulkPreviewScreen.BINDINGS)),
        ("Ticket", binding_rows([*TicketScreen.BINDINGS, *ChecklistSidebar.BINDINGS])),
        ("New ticket", binding_rows(IntakeScreen.BINDINGS)),
        ("Dashboard", binding_rows(DashboardScreen.BINDINGS)),
        ("Forms and dialogs", FORMS),
    ]
    in_force = [(str(rule["name"]), f"on {rule['on']}: if {rule['if']}; then {rule['then']}")
                for rule in rules]
    if in_force:
        sections.append(("Rules in force (rules.toml)", in_force))
    table = Table(box=None, show_header=False, padding=(0, 2, 0, 0), expand=True)
    table.add_column("key", style="bold", no_wrap=True)
    table.add_column("does", ratio=1)
    for number, (title, rows) in enumerate(sections):
        if number:
            table.add_row("", "")
        table.add_row(Text(title.upper(), style="bold underline"), "")
        for key, does in rows:
            table.add_row(key, does)
    return table


class HelpScreen(ModalScreen[None]):
    CSS_PATH = "help.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "close", "Close help"),
        Binding("j,down", "scroll('down')", show=False),
        Binding("k,up", "scroll('up')", show=False),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            yield Static(Text("Keys (escape closes; j/k scroll)", style="bold"),
                         id="help-title")
            session = getattr(self.app, "session", None)
            rules = session.rules_in_force() if session is not None else []
            yield Static(help_table(self.app.BINDINGS, rules))

    def action_close(self) -> None:
        self.dismiss(None)

    def action_scroll(self, direction: str) -> None:
        body = self.query_one("#help-body", VerticalScroll)
        if direction == "down":
            body.scroll_down(animate=False)
        else:
            body.scroll_up(animate=False)
