"""The console's last line of defence: no control character from data reaches the terminal.

The console shows Rich markup in stored text literally already, but Textual passes a raw
ESC, CSI (U+009B) or OSC in a widget's text straight to the terminal, where a summary
could set the window title, write the clipboard (OSC 52) or clear the screen. The
widgets that show stored text make it visible first (``inert.visible``: ESC as ␛);
this guard catches whatever any other widget renders: every C0/C1 control left in a
line's text is dropped at the one place all screen output passes, ``Strip.render``.
Dropping (not replacing) keeps each line exactly as wide as Textual laid it out.
"""

from __future__ import annotations

import re
from typing import Any

from textual.strip import Strip

_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")
_installed = False


def install() -> None:
    """Wrap ``Strip.render`` once per process; idempotent."""
    global _installed
    if _installed:
        return
    original = Strip.render

    def render(self: Strip, console: Any) -> str:
        if self._render_cache is None and any(
                control is None and _CONTROLS.search(text)
                for text, _style, control in self._segments):
            from rich.segment import Segment

            self._segments = [
                Segment(_CONTROLS.sub("", text), style, control) if control is None else
                Segment(text, style, control)
                for text, style, control in self._segments]
        return original(self, console)

    Strip.render = render  # type: ignore[method-assign]
    _installed = True
