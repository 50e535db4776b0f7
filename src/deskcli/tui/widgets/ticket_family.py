"""A ticket's parent and children (``deskcli link``), in the ticket screen's side column.

An outage is one parent with its forty incidents linked under it: the parent shows how
many children it has and how many are still open, a child names its parent. When the
parent is resolved while children are still open, the widget offers to resolve them with
the parent's root cause and resolution: a preview from the bulk service first (which
child would refuse, and why), then all of them or the ones that can. Resolving a child
tells its caller about their own ticket, as resolving any ticket does.

The ticket screen's read brings the family along (``TicketView.family``), so it is in the
screen's first paint and never the previous ticket's; ``show`` without it reads the rows
in a thread worker.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Button, Static

from deskcli.domain.enums import Status
from deskcli.domain.errors import DeskError
from deskcli.domain.inert import visible
from deskcli.domain.numbering import display_ref
from deskcli.tui.screens.context import desk_app
from deskcli.tui.session import DeskSession, Family

#: Children named one by one; the rest are counted.
NAMED = 4


def ref_of(row: Mapping[str, Any]) -> str:
    return display_ref(row["number"], row["provisional"])


class TicketFamily(Vertical):
    DEFAULT_CSS = """
    TicketFamily {
        height: auto;
        padding: 0 1;
        background: $boost;
        display: none;
    }
    TicketFamily.-shown {
        display: block;
    }
    TicketFamily Button {
        margin: 0;
    }
    TicketFamily #family-resolve {
        display: none;
    }
    TicketFamily.-offer #family-resolve {
        display: block;
    }
    """

    @dataclass
    class _Read(Message):
        family: Family

    @dataclass
    class _Previewed(Message):
        preview: Any
        ids: list[str]

    @dataclass
    class _Failed(Message):
        message: str

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.family: Family | None = None
        #: The status last shown, per ticket: resolving it here is what starts the offer.
        self._seen: dict[str, str] = {}

    @property
    def session(self) -> DeskSession:
        return desk_app(self).session

    def compose(self) -> ComposeResult:
        yield Static(id="family-text")
        yield Button("Resolve the open children", id="family-resolve", compact=True)

    def show(self, ticket: Mapping[str, Any], family: Family | None = None) -> None:
        """The ticket screen loaded ``ticket``: show ``family`` (its parent and
        children, read with it), or read them when the screen has not."""
        if family is not None:
            self._show(family)
        else:
            self._read(self.session, str(ticket["id"]))

    @work(thread=True, exclusive=True, group="ticket-family", exit_on_error=False)
    def _read(self, session: DeskSession, ticket_id: str) -> None:
        try:
            self.post_message(self._Read(session.family(ticket_id)))
        except DeskError:
            return  # the screen says what is wrong with the ticket itself

    def on_ticket_family__read(self, message: _Read) -> None:
        self._show(message.family)

    def _show(self, family: Family) -> None:
        self.family = family
        ticket = family.ticket
        self.set_class(bool(family.parent or family.children), "-shown")
        self.query_one("#family-text", Static).update(self._describe(family))
        open_children = family.open_children
        resolved = ticket["status"] == Status.RESOLVED.value
        offer = resolved and bool(open_children)
        self.set_class(offer, "-offer")
        button = self.query_one("#family-resolve", Button)
        button.label = f"Resolve the {len(open_children)} open children"
        before = self._seen.get(ticket["id"])
        self._seen[ticket["id"]] = ticket["status"]
        if offer and before is not None and Status(before).is_open:
            self.offer()  # just resolved here, with children still open: ask now

    @staticmethod
    def _describe(family: Family) -> Text:
        text = Text()
        if family.parent is not None:
            parent = family.parent
            text.append("Part of ", style="bold")
            text.append(f"{ref_of(parent)} ", style="bold")
            text.append(f"({Status(parent['status']).label}) ")
            text.append(visible(parent["summary"] or ""))
        if family.children:
            if text:
                text.append("\n")
            count = len(family.children)
            still = len(family.open_children)
            text.append(f"{count} child ticket{'s' if count != 1 else ''}", style="bold")
            text.append(f" · {still} open" if still else " · none open")
            names = [f"{ref_of(c)} {Status(c['status']).label.lower()}"
                     for c in family.children[:NAMED]]
            more = f", +{count - NAMED}" if count > NAMED else ""
            text.append("\n" + ", ".join(names) + more, style="dim")
        return text

    # --- resolving the children with the parent ------------------------------------------

    @on(Button.Pressed, "#family-resolve")
    def offer(self) -> None:
        from deskcli.tui.screens.confirm import ConfirmScreen

        family = self.family
        if family is None or not family.open_children:
            return
        count = len(family.open_children)
        ref = ref_of(family.ticket)
        children = f"{count} open child ticket{'s' if count != 1 else ''}"

        def answered(yes: bool | None) -> None:
            if yes and self.family is not None:
                ids = [str(c["id"]) for c in self.family.open_children]
                self._preview(self.session, self.family.ticket, ids)

        self.app.push_screen(ConfirmScreen(
            f"{ref} is resolved. Resolve its {children} too?",
            f"With {ref}'s root cause and resolution. Each caller is told about their "
            "own ticket, as when any ticket is resolved. A preview shows which would "
            "refuse, and why, before anything is written.",
            "Preview", "Not now"), answered)

    @work(thread=True, exclusive=True, group="ticket-family-write", exit_on_error=False)
    def _preview(self, session: DeskSession, parent: Mapping[str, Any],
                 ids: list[str]) -> None:
        from deskcli.domain.bulk import BulkAction

        try:
            action = BulkAction.resolve(root_cause=parent["root_cause"],
                                        resolution=parent["resolution"])
            preview = session.run(lambda: session.bulk.preview(ids, action))
        except DeskError as error:
            self.post_message(self._Failed(error.message))
            return
        self.post_message(self._Previewed(preview, ids))

    def on_ticket_family__failed(self, message: _Failed) -> None:
        self.app.notify(message.message, severity="error")

    def on_ticket_family__previewed(self, message: _Previewed) -> None:
        from deskcli.domain.bulk import BulkResult
        from deskcli.tui.screens.bulk_flow import result_notice, start_preview

        def done(result: BulkResult) -> None:
            self.app.notify(result_notice(result),
                            severity="warning" if result.refused else "information")
            app = desk_app(self)
            app.refresh_alerts()
            if app.notify_every:
                app.run_notify()  # the callers' messages go out now
            if self.family is not None:
                self.show(self.family.ticket)

        start_preview(self.app, message.preview, message.ids, done)
