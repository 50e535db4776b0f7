"""What a technician does to the ticket on screen through a small dialog: reply, note or
checkpoint update, status, priority, owner, attachment, satisfaction rating, logging time,
skipping a step, and acknowledging an on-call page.

Each dialog goes through the services itself; this widget opens it and tells the screen
when the ticket changed (``Changed``: read it again, ``advance``: on to the step to do
next, because the one shown is settled now). It has no area of its own on screen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual import work
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget

from deskcli.domain.engine import StepState
from deskcli.domain.errors import DeskError
from deskcli.tui.session import DeskSession, TicketView
from deskcli.tui.widgets.work_clock import WorkClock

#: The dialogs ``open`` knows, by name.
DIALOGS = ("reply", "note", "update", "status", "priority", "assignee", "attach", "csat",
           "time", "skip", "page_ack")


class TicketActions(Widget):
    DEFAULT_CSS = """
    TicketActions {
        display: none;
    }
    """

    @dataclass
    class Changed(Message):
        """The ticket changed; ``advance``: show the step to do next."""

        advance: bool = False

    def __init__(self, session: DeskSession, clock: WorkClock) -> None:
        super().__init__()
        self.session = session
        self.clock = clock

    def open(self, name: str, view: TicketView, step_key: str | None) -> None:
        """Open dialog ``name`` (one of ``DIALOGS``) for the ticket in ``view``, whose
        step ``step_key`` is shown."""
        ref, ticket = view.detail.ref, view.ticket
        if name in ("reply", "note", "update"):
            # A reply the caller sees, an internal note, or the communication
            # checkpoint's one-key update (a reply that starts from the 'working' canned
            # response, ready to send with ctrl+s or to edit first).
            from deskcli.tui.screens.note import NoteScreen

            self._push(NoteScreen(ref, ticket["id"], public=name != "note",
                                  initial="/working " if name == "update" else None))
        elif name == "time":
            self._log_time(view, step_key)
        elif name == "skip":
            self._skip(view, step_key)
        elif name == "page_ack":
            self._acknowledge(self.session, ref)
        else:
            self._push(self._dialog(name, view))

    def _push(self, screen: Screen[bool], advance: Callable[[], bool] | None = None) -> None:
        def done(changed: bool | None) -> None:
            if changed:
                self.post_message(self.Changed(advance=advance() if advance else False))

        self.app.push_screen(screen, done)

    @staticmethod
    def _dialog(name: str, view: TicketView) -> Screen[bool]:
        """Status, priority, assignee, attach a file, satisfaction rating."""
        from deskcli.tui.screens.assignee import AssigneeScreen
        from deskcli.tui.screens.attach import AttachScreen
        from deskcli.tui.screens.csat import CsatScreen
        from deskcli.tui.screens.priority import PriorityScreen
        from deskcli.tui.screens.status import StatusScreen

        ticket, ref = view.ticket, view.detail.ref
        dialogs: dict[str, Callable[[], Screen[bool]]] = {
            "status": lambda: StatusScreen(ref, ticket["status"]),
            "priority": lambda: PriorityScreen(ref, ticket["priority"]),
            "assignee": lambda: AssigneeScreen(ref, ticket["assignee"]),
            "attach": lambda: AttachScreen(ref),
            "csat": lambda: CsatScreen(ref),
        }
        return dialogs[name]()

    def _log_time(self, view: TicketView, step_key: str | None) -> None:
        """Log time, pre-filled from the running timer. What is logged here is not
        offered again on the way out: the timer restarts from now."""
        from deskcli.tui.screens.time_entry import TimeEntryScreen

        def logged() -> bool:
            self.clock.restart()
            # Time was what a settled step (the close) waited for: on to the next one.
            return step_key is not None and view.detail.progress.of(step_key).state in (
                StepState.DONE, StepState.SKIPPED)

        self._push(TimeEntryScreen(view.detail.ref, suggested=self.clock.entry_text()),
                   logged)

    def _skip(self, view: TicketView, step_key: str | None) -> None:
        """Skip the step shown, with a required reason (the domain refuses a blank one)."""
        from deskcli.tui.screens.skip_step import SkipStepScreen

        if step_key is None:
            return
        step = view.detail.progress.of(step_key).step
        self._push(SkipStepScreen(view.detail.ref, step.key, step.title), lambda: True)

    @work(thread=True, exclusive=True, group="ticket-write")
    def _acknowledge(self, session: DeskSession, ref: str) -> None:
        """The on-call engineer has the P1: acknowledge the page."""
        try:
            session.acknowledge_page(ref)
        except DeskError as error:
            self.app.call_from_thread(self.app.notify, error.message, severity="warning")
            return
        self.app.call_from_thread(self.app.notify, f"{ref}: page acknowledgement queued")
        self.post_message(self.Changed())
