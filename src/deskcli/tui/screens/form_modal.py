"""The shape every small action dialog shares (note, status, priority, owner, file, time).

Save gathers the fields on the UI thread, runs the desk call in a thread worker under the
session lock, and either closes with a confirmation or shows the desk's refusal beside the
field it names. A dialog never closes on a refusal, so nothing typed is thrown away.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from deskcli.domain.errors import DeskError, OperationFailed
from deskcli.storage.store import StoreError
from deskcli.tui.screens.context import desk_app
from deskcli.tui.session import DeskSession
from deskcli.tui.widgets.field_error import FORM, FieldError, clear_errors, show_desk_error


class FormModal(ModalScreen[bool]):
    CSS_PATH = "form_modal.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save"),
        Binding("escape", "cancel", "Cancel"),
    ]
    SAVE_LABEL = "Save"
    CANCEL_LABEL = "Cancel"

    @dataclass
    class Saved(Message):
        message: str

    @dataclass
    class _Refused(Message):
        error: DeskError

    def __init__(self, ref: str) -> None:
        super().__init__()
        self.ref = ref

    @property
    def session(self) -> DeskSession:
        return desk_app(self).session

    # --- what a dialog supplies ---------------------------------------------------------

    def heading(self) -> str:
        raise NotImplementedError

    def body(self) -> ComposeResult:
        raise NotImplementedError

    def gather(self) -> dict[str, Any]:
        """Read the fields (UI thread)."""
        raise NotImplementedError

    def perform(self, values: dict[str, Any]) -> str:
        """Make the desk call (worker thread, store locked); returns the confirmation."""
        raise NotImplementedError

    def saved(self) -> None:
        """After a successful save, before closing (drop drafts and the like)."""

    # --- shared behaviour --------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dialog"):
            yield Static(Text(self.heading(), style="bold"), classes="dialog-title")
            yield from self.body()
            yield FieldError(FORM)
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.SAVE_LABEL} (ctrl+s)", id="save", variant="primary",
                             compact=True)
                yield Button(f"{self.CANCEL_LABEL} (esc)", id="cancel", compact=True)

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        clear_errors(self)
        self._save(self.session, self.gather())

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)

    @work(thread=True, exclusive=True, group="dialog-save")
    def _save(self, session: DeskSession, values: dict[str, Any]) -> None:
        try:
            message = session.run(self.perform, values)
        except DeskError as error:
            self.post_message(self._Refused(error))
        except StoreError as error:  # a full or read-only disk, a damaged store: say so,
            self.post_message(self._Refused(OperationFailed(str(error))))  # keep the form
        else:
            self.post_message(self.Saved(message))

    def on_form_modal_saved(self, message: Saved) -> None:
        self.saved()
        self.app.notify(message.message)
        self.dismiss(True)

    def on_form_modal__refused(self, message: _Refused) -> None:
        show_desk_error(self, message.error)
