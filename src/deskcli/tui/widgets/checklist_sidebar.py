"""The ticket's checklist as a list: phases, then each step with a state marker.

Markers come from the engine (✓ done, ▶ current, · to do, – skipped, ✗ blocked) so the
state reads without colour; skipped and blocked steps say why on the line below.
"""

from __future__ import annotations

import textwrap
from collections.abc import Hashable

from rich.text import Text
from textual import events
from textual.cache import LRUCache
from textual.strip import Strip
from textual.style import Style
from textual.widgets.option_list import Option

from deskcli.domain.engine import Progress, StepProgress, StepState
from deskcli.tui.widgets.vim_list import VimOptionList

_STYLE = {
    StepState.DONE: "green",
    StepState.CURRENT: "bold",
    StepState.TODO: "",
    StepState.SKIPPED: "dim",
    StepState.BLOCKED: "yellow",
}


def short_reason(item: StepProgress) -> str:
    """The gist of why a step is skipped or blocked; the step's own page has it in full."""
    return textwrap.shorten(item.reason, 70, placeholder="…")


def hanging(text: str, width: int) -> str:
    """Wrap under the first word's start, so a long title reads as one item."""
    return "\n  ".join(textwrap.wrap(text, max(width - 2, 10))) if width else text


def step_prompt(item: StepProgress, width: int = 0) -> Text:
    title = item.step.title
    if not item.step.required and item.state is StepState.TODO:
        title += " (optional)"
    text = Text(f"{item.state.marker} ", style=_STYLE[item.state])
    text.append(hanging(title, width), style=_STYLE[item.state])
    if item.state in (StepState.SKIPPED, StepState.BLOCKED) and item.reason:
        text.append("\n  " + hanging(short_reason(item), width), style="dim italic")
    return text


class ChecklistSidebar(VimOptionList):
    DEFAULT_CSS = """
    ChecklistSidebar, ChecklistSidebar:focus {
        height: 1fr;
        border: none;
        padding: 0;
        background: $surface;
    }
    ChecklistSidebar > .option-list--option-disabled {
        color: $text-accent;
        text-style: bold;
    }
    """

    _shown: tuple[Progress, str | None] | None = None
    #: Rendered lines by what they show (see ``_get_option_render``); per instance.
    _lines_drawn: LRUCache[Hashable, list[Strip]] | None = None
    _drawn: list[Hashable] | None = None
    #: Options by what their line shows (see ``_option``); per instance.
    _options_made: LRUCache[Hashable, Option] | None = None

    #: The width the lines were last laid out for.
    _width: int | None = None

    def on_resize(self, event: events.Resize) -> None:
        width = self.scrollable_content_region.width
        if width == self._width:
            # Only the height changed (the parts above the list differ between tickets):
            # every line still fits as drawn, so OptionList's own handler, which throws
            # away every rendered line, is skipped.
            event.prevent_default()
            return
        self._width = width
        if self._shown is not None:
            progress, _ = self._shown
            key = None
            if self.highlighted is not None:
                key = self.get_option_at_index(self.highlighted).id
            self.show_progress(progress, key)

    def _get_option_render(self, option: Option, style: Style) -> list[Strip]:
        """An option's lines, kept by what they show rather than by the option object.

        OptionList keys its rendered lines by option and forgets them all whenever
        the options are set again: the next ticket's checklist, where a line or two
        changed mark, rendered every line anew (about a third of a ticket's first
        paint). Here a line with the same text, styles, place, width and highlight as
        one drawn before is reused; only changed lines are rendered."""
        if self._lines_drawn is None:
            self._lines_drawn = LRUCache(512)
        prompt = option.prompt
        shown: Hashable = (
            (prompt.plain, tuple(prompt.spans), str(prompt.style))
            if isinstance(prompt, Text) else str(prompt))
        key = (shown, option.id, option.disabled, self.get_option_index(option.id)
               if option.id is not None else -1, style,
               self.scrollable_content_region.width)
        strips = self._lines_drawn.get(key)
        if strips is None:
            strips = super()._get_option_render(option, style)
            self._lines_drawn[key] = strips
        return strips

    def show_progress(self, progress: Progress, selected: str | None) -> None:
        """Rebuild the list, keeping the highlight on ``selected`` (or the current step).

        Options are kept by what their line shows (``_options_made``): an option keeps
        the visual OptionList made of its prompt, with its height at each width, and
        setting the next ticket's options measured every line again (text wrapping,
        about a tenth of an open). A line's prompt is a pure function of its key, so a
        kept option shows exactly what a new one would."""
        self._shown = (progress, selected)
        width = self._width = self.scrollable_content_region.width
        if self._options_made is None:
            self._options_made = LRUCache(512)
        made = self._options_made
        options: list[Option] = []
        drawn: list[Hashable] = []
        for phase in progress.checklist.phases:
            key: Hashable = ("phase", phase.key, phase.title)
            option = made.get(key)
            if option is None:
                option = made[key] = Option(Text(phase.title.upper()),
                                            id=f"phase:{phase.key}", disabled=True)
            drawn.append(key)
            options.append(option)
            for step in phase.steps:
                item = progress.of(step.key)
                # Everything ``step_prompt`` reads, and the width it wraps to.
                key = (step.key, step.title, step.required, item.state,
                       item.reason if item.state in (StepState.SKIPPED, StepState.BLOCKED)
                       else "", width)
                option = made.get(key)
                if option is None:
                    option = made[key] = Option(step_prompt(item, width), id=step.key)
                drawn.append(key)
                options.append(option)
        # The next ticket of a queue is often at the same point of the same checklist:
        # the same lines are not set again, so the list keeps what it already drew.
        if drawn != self._drawn:
            self._drawn = drawn
            self.set_options(options)
        target = selected or (progress.current.step.key if progress.current else None)
        if target is not None:
            self.highlighted = self.get_option_index(target)
