"""A ticket's knowledge-base actions: search and use what was found, write the article.

Searching opens the search screen pre-filled from the ticket. What was searched for fills
the search step's query; a past ticket picked is cited in the step being filled in; an
article picked is linked to the ticket in a thread worker and becomes the runbook of the
fix step. Writing opens the editor; a saved article is noted in the write-up step's draft.
The step forms are the ``StepPanel``'s; this widget runs the flows and tells the screen
when the ticket changed (``Changed``: read it again) or a reference went into the step
form (``Cited``: show the step). It has no area of its own on screen.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import work
from textual.message import Message
from textual.widget import Widget

from deskcli.domain.errors import DeskError
from deskcli.domain.kb import prefill_query
from deskcli.tui.screens.kb_editor import KbSaved
from deskcli.tui.screens.kb_search import KbPick
from deskcli.tui.session import DeskSession, TicketView
from deskcli.tui.widgets.step_panel import (
    KB_FIX_STEP,
    KB_SEARCH_STEP,
    KB_WRITE_STEP,
    StepPanel,
)


class KbActions(Widget):
    DEFAULT_CSS = """
    KbActions {
        display: none;
    }
    """

    @dataclass
    class Changed(Message):
        """An article was linked or written: the ticket changed."""

    @dataclass
    class Cited(Message):
        """A reference went into the step form."""

    @dataclass
    class _Linked(Message):
        ref: str
        pick: KbPick
        created: bool

    @dataclass
    class _Refused(Message):
        error: DeskError

    def __init__(self, session: DeskSession, panel: StepPanel) -> None:
        super().__init__()
        self.session = session
        self.panel = panel

    # --- searching ----------------------------------------------------------------------

    def search(self, view: TicketView | None) -> None:
        """Open the search, pre-filled from the ticket (its error codes, else summary)."""
        from deskcli.tui.screens.kb_search import KbSearchScreen

        ticket = view.ticket if view is not None else None
        screen = KbSearchScreen(prefill_query(ticket) if ticket else "",
                                articles_for=(ticket["client_id"] if ticket else None) or "")

        def done(pick: KbPick | None) -> None:
            if view is not None:
                self.panel.searched(
                    screen.shown, view.detail.progress.checklist.step(KB_SEARCH_STEP),
                    dict(view.step_values.get(KB_SEARCH_STEP, {})))
                self.use(view.detail.ref, pick)

        self.app.push_screen(screen, done)

    def use(self, ref: str, pick: KbPick | None) -> None:
        """An article is linked and becomes the runbook; a past ticket is cited."""
        if pick is None:
            return
        if pick.kind == "article":
            self._link(self.session, ref, pick)
        else:
            self.cite(pick.ref)

    @work(thread=True, exclusive=True, group="kb-link")
    def _link(self, session: DeskSession, ref: str, pick: KbPick) -> None:
        try:
            _article, created = session.run(session.kb.link, ref, pick.ref_id)
        except DeskError as error:
            self.post_message(self._Refused(error))
        else:
            self.post_message(self._Linked(ref, pick, created))

    def on_kb_actions__refused(self, message: _Refused) -> None:
        message.stop()
        self.app.notify(message.error.message, severity="error")

    def on_kb_actions__linked(self, message: _Linked) -> None:
        message.stop()
        pick = message.pick
        self.panel.note_draft(KB_FIX_STEP, {"runbook": f"KB {pick.ref}: {pick.title}"})
        self.cite(pick.ref, quiet=True)
        self.app.notify(f"Linked KB {pick.ref}; it is the runbook of the fix step")
        self.post_message(self.Changed())

    def cite(self, ref: str | None, *, quiet: bool = False) -> None:
        """Add a reference to the list field of the step being filled in."""
        if not ref or self.panel.form is None:
            return
        added = self.panel.cite(ref)
        if added is None:
            if not quiet:
                self.app.notify(f"{ref} noted; this step has no list of references to add "
                                "it to.")
            return
        self.post_message(self.Cited())
        if not quiet:
            self.app.notify(f"Added {ref} to '{added[1]}'")

    # --- writing ------------------------------------------------------------------------

    def write(self, ref: str) -> None:
        """Open the editor for ticket ``ref``'s article (a new one, or the linked one)."""
        from deskcli.tui.screens.kb_editor import KbEditorScreen

        def done(saved: KbSaved | None) -> None:
            if saved is None:
                return
            self.app.notify(f"KB article {saved.handle} saved and linked")
            self.panel.note_draft(KB_WRITE_STEP, {
                "outcome": "created" if saved.created else "updated",
                "article": saved.handle})
            self.post_message(self.Changed())

        self.app.push_screen(KbEditorScreen(ref), done)
