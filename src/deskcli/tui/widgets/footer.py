"""The key bar at the bottom, rebuilt only when the keys it shows change.

Textual's ``Footer`` rebuilds all of its keys (widgets, styles, layout) every time the
screen's bindings are announced as changed: each focus move and each return to a screen.
Going from a ticket back to the queue paid for that several times over, for the same
keys. This footer compares what it would show with what it shows and skips the rebuild
when nothing differs.
"""

from __future__ import annotations

from typing import Any

from textual.screen import Screen
from textual.widgets import Footer


class DeskFooter(Footer):
    _shown: tuple[Any, ...] | None = None

    def _keys(self, screen: Screen[Any]) -> tuple[Any, ...]:
        """What the footer shows, as a value: each key shown with its state, and the
        command palette's (which the footer finds by its key)."""
        palette = self.app.COMMAND_PALETTE_BINDING
        return tuple(
            (key, binding.key, binding.description, binding.action, binding.group,
             enabled, tooltip)
            for key, (_, binding, enabled, tooltip) in screen.active_bindings.items()
            if binding.show or key == palette)

    def bindings_changed(self, screen: Screen[Any]) -> None:
        if self.is_attached and screen is self.screen and screen.app.app_focus:
            keys = self._keys(screen)
            if keys == self._shown:
                return
            self._shown = keys
        super().bindings_changed(screen)
