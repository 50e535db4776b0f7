"""The inline message shown beside a form field when the desk refuses its value.

Every refusal from the domain or the services is a ``DeskError`` naming the field it
belongs to; ``show_desk_error`` finds the ``FieldError`` for that field (or the form's
general one) so the technician reads the reason right where they typed.
"""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget
from textual.widgets import Static

from deskcli.domain.errors import DeskError

#: The FieldError that takes messages naming no field of the form.
FORM = "form"


class FieldError(Static):
    DEFAULT_CSS = """
    FieldError {
        color: $text-error;
        height: auto;
        display: none;
    }
    FieldError.-shown {
        display: block;
    }
    """

    def __init__(self, field: str, *, id: str | None = None) -> None:
        super().__init__("", id=id, classes="field-error")
        self.field = field
        #: The message shown, "" when none.
        self._message = ""

    def show(self, message: str) -> None:
        # The ✗ carries the meaning without colour (NO_COLOR, colour-blind technicians).
        self._message = message
        self.update(Text("✗ " + message))
        self.add_class("-shown")

    def clear(self) -> None:
        # A form's dozen slots are cleared for every ticket it is refilled for; one
        # with nothing to clear asks for no layout.
        if self._message or self.has_class("-shown"):
            self._message = ""
            self.update("")
            self.remove_class("-shown")


def show_desk_error(root: Widget, error: DeskError) -> FieldError | None:
    """Show ``error`` beside its field under ``root``; the form-level slot otherwise."""
    slots = list(root.query(FieldError))
    target = next((s for s in slots if s.field == error.field), None)
    if target is None:
        target = next((s for s in slots if s.field == FORM), None)
    if target is not None:
        target.show(error.message)
        target.scroll_visible(animate=False)
    return target


def clear_errors(root: Widget) -> None:
    for slot in root.query(FieldError):
        slot.clear()
