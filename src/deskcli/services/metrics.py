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
from deskcli.domain.rules import RuleActivity
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
                 by: metrics.GroupBy = metrics.GroupBy.NONE, *, top: int = 10,
                 refs: bool = True, recurring_refs: int | None = None) -> metrics.Report:
    """Every metric for ``window``, grouped ``by``, with recurring issues; without
    ``refs``, counts only, not the tickets behind each figure (``metrics.Count``);
    ``recurring_refs`` keeps that many of the newest tickets per recurring issue."""
    answers = (metrics.Answer(ticket_id, at, score)
               for ticket_id, at, score in store.metrics.csat_answers(to_iso(window.until)))
    return metrics.compute(timelines(store, window, policy), answers, window, policy, by,
                           top=top, refs=refs, recurring_refs=recurring_refs)


def window_for(since: str | None, until: str | None, now: datetime) -> metrics.Window:
    return metrics.parse_window(since, until, now)


def rule_activity(store: Store, window: metrics.Window) -> RuleActivity:
    """What rules did in ``window`` (tickets routed, followed up, auto-closed), from the
    ``rule_fired`` timeline events every firing writes."""
    from deskcli.domain.numbering import display_ref
    from deskcli.domain.rules import count_activity
    from deskcli.storage.rules import RuleLedger

    rows = RuleLedger(store).fired_events(to_iso(window.since), to_iso(window.until))
    return count_activity((display_ref(n, p), d) for n, p, d in rows)
