"""A multi-line text field that survives Textual 8.2's TextArea styling race, and is
wrapped at the width it is painted at.

Textual 8.2 can paint a TextArea once more after it was removed (or before its component
styles exist), and then raises ``KeyError: 'text-area--gutter'`` (textual#6528). Swapping
one step's form for the next does exactly that, so this subclass paints blank lines in
that window instead of crashing.

A TextArea wraps its text when it is loaded and again when told of a new size; but
Textual paints a screen straight after laying it out and tells widgets of their new size
only afterwards. A kept step form refilled for the next ticket (``StepForm.refill``) is
often laid out at another width (a scroll bar come or gone beside it), so its first paint
showed the text wrapped at the old width and a second paint, a layout later, the right
one: opening such a ticket cost two paints before it showed whole. Checking the width
just before painting makes the first paint the right one.
"""

from __future__ import annotations

from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import TextArea


class TextBox(TextArea):
    #: The width the text was last wrapped for (TextArea does not say).
    _wrapped_for: int | None = None

    def _rewrap_and_refresh_virtual_size(self) -> None:
        # Every wrap of the whole text at a new width (loading it, a resize) comes here.
        self._wrapped_for = self.wrap_width
        super()._rewrap_and_refresh_virtual_size()

    def fit_wrap(self) -> bool:
        """Wrap the text again if it was wrapped for another width than the box has
        now; True if it was."""
        if self.soft_wrap and self._wrapped_for != self.wrap_width:
            self._rewrap_and_refresh_virtual_size()
            return True
        return False

    def render_lines(self, crop: Region) -> list[Strip]:
        self.fit_wrap()  # laid out at a new width since the text was wrapped
        try:
            return super().render_lines(crop)
        except KeyError:
            return [Strip.blank(crop.width) for _ in range(crop.height)]
