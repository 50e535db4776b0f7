"""Who else has this ticket open: the team server's presence, announced every half minute.

Collision detection: while a ticket is open the console tells the team server so every
``every`` seconds and hears back who else has it open (``Changed``). Leaving says so off
the UI thread; a failure there only delays the server's expiry. Without a team server
(``every`` None) nothing is sent. The widget has no area on screen.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from textual import work
from textual.message import Message
from textual.timer import Timer
from textual.widget import Widget

from deskcli.tui.session import DeskSession


class Presence(Widget):
    DEFAULT_CSS = """
    Presence {
        display: none;
    }
    """

    @dataclass
    class Changed(Message):
        """The others who have the ticket open now (empty: nobody)."""

        ticket_id: str
        others: tuple[str, ...]

    def __init__(self, session: DeskSession, *, every: float | None) -> None:
        super().__init__()
        self.session = session
        self.every = every
        self.ticket_id: str | None = None
        self._timer: Timer | None = None

    def enter(self, ticket_id: str) -> None:
        """Announce ``ticket_id`` now and every ``every`` seconds (once per ticket)."""
        if not self.every or self.ticket_id == ticket_id:
            return
        self.leave()
        self.ticket_id = ticket_id
        self._announce(self.session, ticket_id)
        self._timer = self.set_interval(
            self.every, lambda: self._announce(self.session, ticket_id))

    def leave(self) -> None:
        """Stop announcing, and tell the server the ticket was left."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if self.ticket_id is not None:
            session, ticket_id, self.ticket_id = self.session, self.ticket_id, None
            threading.Thread(target=session.presence, args=(ticket_id,),
                             kwargs={"leave": True}, daemon=True).start()

    @work(thread=True, exclusive=True, group="presence", exit_on_error=False)
    def _announce(self, session: DeskSession, ticket_id: str) -> None:
        self.post_message(self.Changed(ticket_id, tuple(session.presence(ticket_id))))

    def on_presence_changed(self, message: Presence.Changed) -> None:
        if message.ticket_id != self.ticket_id:
            message.stop()  # an answer about a ticket since left

    def on_unmount(self) -> None:
        self.leave()
