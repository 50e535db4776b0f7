"""Before a bulk action writes anything: what will change, on how many tickets, and which
will refuse and why. Then the technician chooses.

- **Apply to all** (``ctrl+s``): one transaction, all or nothing. Offered when nothing is
  refused; should a ticket refuse by the time it runs (a colleague's change, a sync),
  nothing is written and the dialog shows the fresh preview with the reason.
- **Apply to the ones that can** (``k``): the refused tickets are left as they are.
- **Cancel** (``escape``): nothing is written; the marks stay.

The preview is the bulk service's own dry run (``BulkService.preview``: the same checks
on the same rows, rolled back), so what it promises is what applying does. The apply runs
in a thread worker under the session lock; the dialog closes with the ``BulkResult``,
which the queue turns into a notice and the marks that are left.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from deskcli.domain.bulk import BulkKind, BulkResult, TicketOutcome
from deskcli.domain.errors import DeskError, OperationFailed
from deskcli.domain.inert import visible
from deskcli.storage.store import StoreError
from deskcli.tui.screens.bulk_menu import tickets
from deskcli.tui.screens.context import desk_app
from deskcli.tui.session import DeskSession
from deskcli.tui.widgets.field_error import FORM, FieldError

#: Tickets listed per section; the rest are counted ("… and 31 more").
SHOWN = 10


class BulkPreviewScreen(ModalScreen[BulkResult | None]):
    DEFAULT_CSS = """
    BulkPreviewScreen {
        align: center middle;
    }
    BulkPreviewScreen > Vertical {
        width: 84;
        max-width: 96%;
        height: auto;
        max-height: 96%;
        border: round $warning;
        background: $surface;
        padding: 0 1;
    }
    BulkPreviewScreen #preview-body {
        height: auto;
        max-height: 18;
    }
    BulkPreviewScreen .preview-section {
        height: auto;
        margin-top: 1;
    }
    BulkPreviewScreen .preview-line {
        padding-left: 2;
    }
    BulkPreviewScreen .dialog-buttons {
        height: auto;
        margin-top: 1;
    }
    BulkPreviewScreen Button.-textual-compact {
        margin-right: 2;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "apply_all", "Apply to all",
                tooltip="Apply to every ticket in one go, or to none"),
        Binding("k", "apply_can", "Apply to those that can",
                tooltip="Apply to the tickets that can take it; leave the refused as they are"),
        Binding("escape", "cancel", "Cancel", tooltip="Write nothing; the marks stay"),
    ]

    @dataclass
    class _Done(Message):
        result: BulkResult

    @dataclass
    class _Failed(Message):
        error: DeskError

    def __init__(self, preview: BulkResult, ids: list[str]) -> None:
        super().__init__()
        self.preview = preview
        self.ids = ids
        self._busy = False
        #: Said above the buttons after an all-or-nothing run met a new refusal.
        self._stale = ""

    @property
    def session(self) -> DeskSession:
        return desk_app(self).session

    # --- what it says -------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        p = self.preview
        changing, refused, same = len(p.changed), len(p.refused), len(p.unchanged)
        title = p.action.describe()
        with Vertical():
            yield Static(Text(f"{title[:1].upper()}{title[1:]} — {tickets(len(p.outcomes))}",
                              style="bold"), classes="dialog-title")
            yield Static(self._summary(changing, refused, same), id="preview-summary")
            with VerticalScroll(id="preview-body"):
                if refused:
                    yield from self._section(
                        "preview-refused", f"✗ Refused ({refused:,}): left as they are",
                        p.refused, lambda o: o.line())
                if changing:
                    yield from self._section(
                        "preview-changes", f"Will change ({changing:,})", p.changed,
                        lambda o: f"{o.ref}: {'; '.join(o.changes) or 'changed'}")
                if same:
                    yield from self._section(
                        "preview-unchanged", f"Already so, untouched ({same:,})",
                        p.unchanged, lambda o: o.ref, inline=True)
            error = FieldError(FORM)
            if self._stale:
                error.show(self._stale)
            yield error
            with Horizontal(classes="dialog-buttons"):
                if changing and not refused:
                    label = "Apply" if changing == 1 else f"Apply to all {changing:,}"
                    yield Button(f"{label} (ctrl+s)", id="apply-all", variant="warning",
                                 compact=True)
                elif changing:
                    # Shown, but not offered: with a refusal, all or nothing writes nothing.
                    yield Button("Apply to all (ctrl+s)", id="apply-all", variant="warning",
                                 compact=True, disabled=True)
                    yield Button(f"Apply to the {changing:,} that can (k)", id="apply-can",
                                 variant="warning", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def _summary(self, changing: int, refused: int, same: int) -> Text:
        text = Text()
        if changing:
            text.append(f"{tickets(changing)} will change", style="bold")
        else:
            text.append("Nothing would change", style="bold")
        if same:
            text.append(f" · {same:,} already so")
        if refused:
            text.append(f" · ✗ {refused:,} refused", style="bold")
            if changing:
                text.append(": all or nothing would write nothing; apply to the ones that "
                            "can, or cancel")
        if self.preview.action.kind is BulkKind.UPDATE and changing:
            desk = self.session.desk
            if desk.outbound is not None and desk.config.notify.email:
                text.append("\nEach caller gets a message of their own, about their own "
                            "ticket, through the outbound queue (by email where the caller "
                            "has an address).")
            else:
                text.append("\nNo email channel is set up: the update is recorded on each "
                            "ticket, but nobody is emailed; tell the callers another way.")
        return text

    @staticmethod
    def _section(id: str, title: str, outcomes: list[TicketOutcome],
                 line: Callable[[TicketOutcome], str], *, inline: bool = False
                 ) -> ComposeResult:
        """A titled list of tickets, one line each (a long line wraps under itself, not
        under the title), the rest counted."""
        shown = outcomes[:SHOWN * 3 if inline else SHOWN]
        with Vertical(id=id, classes="preview-section"):
            yield Static(Text(title, style="bold underline"))
            if inline:
                yield Static(" ".join(o.ref for o in shown), classes="preview-line")
            else:
                for outcome in shown:  # ticket text is inert in every sink
                    yield Static(Text(visible(line(outcome))), classes="preview-line")
            if len(outcomes) > len(shown):
                yield Static(Text(f"… and {len(outcomes) - len(shown):,} more",
                                  style="italic"), classes="preview-line")

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()  # enter alone never writes

    # --- choosing -----------------------------------------------------------------------

    @on(Button.Pressed, "#apply-all")
    def action_apply_all(self) -> None:
        if self.preview.refused or not self.preview.changed:
            return  # all or nothing with a refusal writes nothing: not offered
        self._start(keep_going=False)

    @on(Button.Pressed, "#apply-can")
    def action_apply_can(self) -> None:
        if self.preview.changed:
            self._start(keep_going=True)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        if not self._busy:
            self.dismiss(None)

    def _start(self, *, keep_going: bool) -> None:
        if self._busy:
            return
        self._busy = True
        self.query_one(FieldError).clear()
        for button in self.query(Button):
            button.disabled = True
        self._apply(self.session, self.ids, self.preview, keep_going)

    @work(thread=True, exclusive=True, group="bulk-apply")
    def _apply(self, session: DeskSession, ids: list[str], preview: BulkResult,
               keep_going: bool) -> None:
        try:
            result = session.run(lambda: session.bulk.apply(ids, preview.action,
                                                            keep_going=keep_going))
        except DeskError as error:
            self.post_message(self._Failed(error))
        except StoreError as error:  # a full disk, a damaged store: said, nothing lost
            self.post_message(self._Failed(OperationFailed(str(error))))
        else:
            self.post_message(self._Done(result))

    async def on_bulk_preview_screen__done(self, message: _Done) -> None:
        result = message.result
        if result.applied:
            self.dismiss(result)
            return
        # All or nothing met a refusal the preview did not show: nothing was written.
        # Show the run as the new preview, so the choice is made on what is true now.
        self._busy = False
        self.preview = result
        names = ", ".join(o.ref for o in result.refused[:5])
        self._stale = (f"Nothing was written: {names} refused since the preview "
                       "(a colleague's change or a sync); see why above.")
        await self.recompose()
        self.query_one("#cancel", Button).focus()

    def on_bulk_preview_screen__failed(self, message: _Failed) -> None:
        self._busy = False
        self.query_one(FieldError).show(f"{message.error.message} Nothing was written.")
        for button in self.query(Button):
            button.disabled = button.id == "apply-all" and bool(self.preview.refused)
        self.query_one("#cancel", Button).focus()
