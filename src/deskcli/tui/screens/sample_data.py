"""The first-run offer: an empty store can be filled with sample tickets to try things on."""

from __future__ import annotations

import os
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class SampleDataScreen(ModalScreen[bool]):
    CSS_PATH = "sample_data.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "load", "Load sample data"),
        Binding("escape,n", "skip", "Start with an empty store"),
    ]

    def __init__(self, count: int, store: str = "") -> None:
        super().__init__()
        self.count = count
        #: Where the sample tickets would be written, as the status bar shows it.
        self.store = store

    def compose(self) -> ComposeResult:
        with Vertical(id="sample-dialog"):
            yield Static(Text("Welcome to deskcli", style="bold"), id="sample-title")
            yield Static(Text(
                f"This store has no tickets yet. Load {self.count:,} sample tickets "
                "(clients, callers, timelines, a live queue) to try the console? Sample "
                "data stays on this machine: it is never sent to a team server."))
            if os.environ.get("DESKCLI_HOME"):
                where = Text.assemble(
                    "They are written into ", (self.store or "this store", "bold"),
                    ", the profile DESKCLI_HOME points at (delete that folder to be rid "
                    "of them).")
            else:
                where = Text.assemble(
                    "They are written into ", (self.store or "this store", "bold"),
                    ", the same store your real tickets will go into. To try things on a "
                    "scratch store instead, quit (ctrl+q) and start with a profile of its "
                    "own: ", ("DESKCLI_HOME=$(mktemp -d) deskcli", "bold"), ".")
            yield Static(where, id="sample-where")
            with Horizontal(id="sample-buttons"):
                yield Button("Load sample data (y)", id="load", variant="primary",
                             compact=True)
                yield Button("Start empty (n)", id="skip", compact=True)

    def on_mount(self) -> None:
        self.query_one("#load", Button).focus()

    @on(Button.Pressed, "#load")
    def action_load(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#skip")
    def action_skip(self) -> None:
        self.dismiss(False)
