"""Reports over the store: gather compact timelines, let the domain count.

The store streams one row per ticket with only the events the metrics read (one grouped
SQLite pass); ``domain.metrics.compute`` folds them. The CLI ``report`` command and the
TUI dashboard both call ``build_report`` so the numbers they show cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import cast

from deskcli.domain import metrics
from deskcli.domain.sla import SlaPolicy
from deskcli.domain.timefmt import to_iso
from deskcli.storage.store import Store


def timelines(store: Store, window: metrics.Window, policy: SlaPolicy,
              ticket_ids: list[str] | None = None) -> Iterator[metrics.Timeline]:
    """The tickets the window can touch, in ``metrics.Timeline`` field order.

    The store's rows are passed on as they are (plain tuples in that order): wrapping
    100,000 of them would cost more than folding them.
    """
    rows = store.metrics.timelines(to_iso(window.since), to_iso(window.until),
                                  metrics.paused_statuses(policy), ticket_ids=ticket_ids)
    return cast(Iterator[metrics.Timeline], rows)


def build_report(store: Store, policy: SlaPolicy, window: metrics.Window,
                 by: metrics.GroupBy = metrics.GroupBy.NONE, *, top: int = 10
                 ) -> metrics.Report:
    """Every metric for ``window``, grouped ``by``, with recurring issues."""
    answers = (metrics.Answer(ticket_id, at, score)
               for ticket_id, at, score in store.metrics.csat_answers(to_iso(window.until)))
    return metrics.compute(timelines(store, window, policy), answers, window, policy, by,
                           top=top)


def window_for(since: str | None, until: str | None, now: datetime) -> metrics.Window:
    return metrics.parse_window(since, until, now)
