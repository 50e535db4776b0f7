"""A multi-line text field that survives Textual 8.2's TextArea styling race.

Textual 8.2 can paint a TextArea once more after it was removed (or before its component
styles exist), and then raises ``KeyError: 'text-area--gutter'`` (textual#6528). Swapping
one step's form for the next does exactly that, so this subclass paints blank lines in
that window instead of crashing.
"""

from __future__ import annotations

from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import TextArea


class TextBox(TextArea):
    def render_lines(self, crop: Region) -> list[Strip]:
        try:
            return super().render_lines(crop)
        except KeyError:
            return [Strip.blank(crop.width) for _ in range(crop.height)]
