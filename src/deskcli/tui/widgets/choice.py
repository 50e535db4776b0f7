"""A choice field that is quick to drive: a number key or the first letters pick.

A plain ``Select`` costs three keys or more per choice (open, arrow, enter). On a desk
that fills a dozen choices per ticket, ``2`` or ``t`` is the whole choice: digits pick the
n-th entry, letters pick the first entry whose label starts with what was typed (typing on
within a second narrows it, the same letter again moves to the next match). The keys are
consumed here, so a letter typed into a choice never fires a screen's hotkey.
"""

from __future__ import annotations

from collections.abc import Sequence
from time import monotonic

from textual import events
from textual.widgets import Select

#: Seconds within which typed letters build one prefix ("se" for "second-channel").
TYPE_AHEAD = 1.0


class ChoiceSelect(Select[str]):
    """A ``Select`` over ``(label, value)`` pairs with number keys and type-to-select."""

    def __init__(self, options: Sequence[tuple[str, str]], **kwargs: object) -> None:
        super().__init__(options, **kwargs)  # type: ignore[arg-type]
        self._choices = list(options)
        self._typed = ""
        self._typed_at = 0.0

    def pick_for(self, char: str) -> str | None:
        """The value a key press selects, or None when the key picks nothing."""
        if not self._choices:
            return None
        if char.isdigit():
            index = int(char) - 1
            return self._choices[index][1] if 0 <= index < len(self._choices) else None
        now = monotonic()
        char = char.casefold()
        typed = self._typed + char if now - self._typed_at < TYPE_AHEAD else char
        self._typed_at = now
        labels = [label.casefold() for label, _value in self._choices]
        values = [value for _label, value in self._choices]
        matches = [i for i, label in enumerate(labels) if label.startswith(typed)]
        if matches:
            self._typed = typed
            return values[matches[0]]
        # The same letter again: the next entry starting with it, round the list.
        if typed and set(typed) == {char}:
            matches = [i for i, label in enumerate(labels) if label.startswith(char)]
            if matches:
                self._typed = char
                current = values.index(self.value) if self.value in values else -1
                later = [i for i in matches if i > current]
                return values[(later or matches)[0]]
        self._typed = char
        return None

    def on_key(self, event: events.Key) -> None:
        if self.expanded or event.character is None or not event.is_printable:
            return
        if event.character == " ":
            return  # space opens the list, as in any Select
        event.stop()
        event.prevent_default()
        value = self.pick_for(event.character)
        if value is not None:
            self.value = value
        else:
            self.app.bell()
