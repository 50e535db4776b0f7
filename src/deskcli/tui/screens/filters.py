"""Narrow the queue: by status, priority, owner, client or tag. The store does the
filtering."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from deskcli.domain.enums import Priority, Status
from deskcli.tui.screens.context import desk_app
from deskcli.tui.session import DeskSession, QueueFilters

OPEN = "__open__"


class FilterScreen(ModalScreen[QueueFilters | None]):
    CSS_PATH = "filters.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "apply", "Apply filters"),
        Binding("escape", "cancel", "Cancel"),
    ]

    class _Clients(Message):
        def __init__(self, names: list[str]) -> None:
            super().__init__()
            self.names = names

    class _Tags(Message):
        def __init__(self, tags: list[tuple[str, int]]) -> None:
            super().__init__()
            self.tags = tags

    def __init__(self, current: QueueFilters) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        c = self.current
        with VerticalScroll(id="filter-dialog"):
            yield Static(Text("Filter the queue", style="bold"), classes="dialog-title")
            statuses = [("every open status", OPEN)] + [(s.label, s.value) for s in Status]
            with Vertical(classes="field"):
                yield Label("Status", classes="field-label")
                yield Select(statuses, id="filter-status", allow_blank=False, compact=True,
                             value=c.statuses[0] if c.statuses else OPEN)
            with Vertical(classes="field"):
                yield Label("Priority", classes="field-label")
                yield Select([(f"{p.value} only", p.value) for p in Priority],
                             prompt="any priority", id="filter-priority", compact=True,
                             value=c.priorities[0] if c.priorities else Select.NULL)
            with Vertical(classes="field"):
                yield Label("Owner", classes="field-label")
                yield Input(c.assignee or "", placeholder="a handle (m on the queue: yours)",
                            id="filter-assignee", compact=True)
            with Vertical(classes="field"):
                yield Label("Client", classes="field-label")
                yield Select([], prompt="any client", id="filter-client", compact=True)
            with Vertical(classes="field"):
                yield Label("Tag", classes="field-label")
                yield Select([], prompt="any tag", id="filter-tag", compact=True)
            with Horizontal(id="filter-buttons"):
                yield Button("Apply (ctrl+s)", id="apply", variant="primary", compact=True)
                yield Button("Clear all", id="clear", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#filter-status", Select).focus()
        self._load_clients(desk_app(self).session)
        self._load_tags(desk_app(self).session)

    @work(thread=True, exclusive=True)
    def _load_clients(self, session: DeskSession) -> None:
        self.post_message(self._Clients(session.client_names()))

    @work(thread=True, exclusive=True, group="filter-tags")
    def _load_tags(self, session: DeskSession) -> None:
        self.post_message(self._Tags(session.known_tags()))

    def on_filter_screen__tags(self, message: _Tags) -> None:
        select: Select[str] = self.query_one("#filter-tag", Select)
        known = [tag for tag, _count in message.tags]
        # The tag filtered on now stays offered even if no ticket carries it any more.
        extra = [(tag, 0) for tag in self.current.tags if tag not in known]
        select.set_options([(f"{tag} ({count:,})", tag) for tag, count in
                            [*message.tags, *extra]])
        if self.current.tags:
            select.value = self.current.tags[0]

    def on_filter_screen__clients(self, message: _Clients) -> None:
        select: Select[str] = self.query_one("#filter-client", Select)
        select.set_options([(name, name) for name in message.names])
        if self.current.client in message.names:
            select.value = self.current.client

    @on(Button.Pressed, "#apply")
    def action_apply(self) -> None:
        status = self.query_one("#filter-status", Select).value
        priority = self.query_one("#filter-priority", Select).value
        client = self.query_one("#filter-client", Select).value
        assignee = self.query_one("#filter-assignee", Input).value.strip() or None
        tag = self.query_one("#filter-tag", Select).value
        self.dismiss(QueueFilters(
            statuses=() if status in (OPEN, Select.NULL) else (str(status),),
            priorities=() if priority is Select.NULL else (str(priority),),
            assignee=assignee,
            client=None if client is Select.NULL else str(client),
            search=self.current.search,
            mine=self.current.mine and assignee is None,
            tags=() if tag is Select.NULL else (str(tag),),
        ))

    @on(Button.Pressed, "#clear")
    def _clear(self) -> None:
        self.dismiss(QueueFilters())

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
