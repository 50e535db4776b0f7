"""The steps every bulk action takes, wherever it starts (the queue's marks, a parent's
children): its form, then the preview, then the result. Each step is a modal screen; this
module only chains them, so the queue and the ticket screen share one path."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from textual.app import App

if TYPE_CHECKING:
    from deskcli.domain.bulk import BulkResult
    from deskcli.tui.screens.bulk_forms import BulkForm

Done = Callable[["BulkResult"], None]


def start_form(app: App[int], form: BulkForm, done: Done) -> None:
    """Open ``form``; once it has a preview, show it; ``done`` gets what was applied."""

    def previewed(ok: bool | None) -> None:
        if ok and form.preview is not None:
            start_preview(app, form.preview, form.ids, done)

    app.push_screen(form, previewed)


def start_preview(app: App[int], preview: BulkResult, ids: Sequence[str], done: Done) -> None:
    """Show a preview the bulk service made; ``done`` gets the result if one is applied
    (nothing is called on cancel: nothing was written)."""
    from deskcli.tui.screens.bulk_preview import BulkPreviewScreen

    def applied(result: BulkResult | None) -> None:
        if result is not None:
            done(result)

    app.push_screen(BulkPreviewScreen(preview, list(ids)), applied)


def result_notice(result: BulkResult) -> str:
    """``Set priority → P2: 38 tickets changed, 2 refused`` for a notice."""
    headline = result.headline()
    return headline[:1].upper() + headline[1:]
