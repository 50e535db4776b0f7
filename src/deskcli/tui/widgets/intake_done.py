"""The new-ticket pages' last page: the ticket is open, with its due times, and the
acknowledgement drafted for the caller, to read out or send (edited freely).

Sending adds it to the ticket as a public reply through the ticket service in a thread
worker (the outbound queue emails it when set up); a refusal is shown on the page, a
success is reported as ``Sent``.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Label, Static, TextArea

from deskcli.domain.errors import DeskError
from deskcli.domain.numbering import display_ref
from deskcli.domain.timefmt import from_iso
from deskcli.storage.rows import TicketRow
from deskcli.tui.session import DeskSession
from deskcli.tui.widgets.field_error import FieldError, show_desk_error
from deskcli.tui.widgets.text_box import TextBox


class IntakeDone(VerticalScroll):
    @dataclass
    class Sent(Message):
        """The acknowledgement went to the ticket."""

    @dataclass
    class _Refused(Message):
        error: DeskError

    def compose(self) -> ComposeResult:
        yield Static(id="done-summary")
        yield Label("Acknowledgement for the caller: read it out or send it (edit "
                    "freely)", classes="field-label")
        yield TextBox(id="ack", soft_wrap=True, tab_behavior="focus",
                      show_line_numbers=False)
        yield FieldError("note")

    def show(self, ticket: TicketRow, acknowledgement: str) -> None:
        """``ticket`` was opened: what it is and when it is due, and the draft."""
        ref = display_ref(ticket["number"], ticket["provisional"])
        response_due = from_iso(ticket["response_due"])
        resolve_due = from_iso(ticket["resolve_due"])
        self.query_one("#done-summary", Static).update(Text.assemble(
            (f"✓ Ticket {ref} is open", "bold"),
            f" · {ticket['priority']} · owner {ticket['assignee'] or '—'}\n",
            f"First response due {response_due:%H:%M %a %d %b} UTC, resolution due "
            f"{resolve_due:%H:%M %a %d %b} UTC.\n"))
        self.query_one("#ack", TextArea).text = acknowledgement

    def send(self, session: DeskSession, ticket: TicketRow) -> None:
        """Send the acknowledgement as it now reads."""
        self._send(session, ticket, self.query_one("#ack", TextArea).text)

    @work(thread=True, exclusive=True, group="intake-ack")
    def _send(self, session: DeskSession, ticket: TicketRow, text: str) -> None:
        ref = display_ref(ticket["number"], ticket["provisional"])
        try:
            session.run(session.desk.tickets.add_note, ref, text, internal=False)
        except DeskError as error:
            self.post_message(self._Refused(error))
        else:
            self.post_message(self.Sent())

    def on_intake_done__refused(self, message: _Refused) -> None:
        message.stop()
        show_desk_error(self, message.error)
