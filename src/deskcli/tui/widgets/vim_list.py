"""An OptionList that also answers to j/k, as people who live in terminals expect."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.widgets import OptionList


class VimOptionList(OptionList):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False, tooltip="Down the list"),
        Binding("k", "cursor_up", "Up", show=False, tooltip="Up the list"),
    ]
