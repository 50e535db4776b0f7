"""What a change listener (``TicketService.on_change``) needs from the store, per notice.

A listener is told of each change inside its transaction and may read the ticket and
write rows of its own (the outbound planner queues messages). While a batch holds
writes (``TicketService.batched``, bulk actions), the ticket service writes what the
batch holds before each notice, so the listener reads what it would read on the
per-ticket path. A listener that neither reads nor writes the store for some notices
says so with ``quiet_for``; for those the batch keeps holding its writes, and a bulk
status change stays batched on a desk that sends mail or runs rules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

#: The attribute ``quiet_for`` sets on a listener (a bound method reads its function's).
QUIET = "quiet_for"
#: Among the events: every notice.
EVERY = "*"

F = TypeVar("F", bound=Callable[..., Any])


def quiet_for(*events: str) -> Callable[[F], F]:
    """Mark a listener as touching nothing in the store when told of ``events``."""
    def mark(listener: F) -> F:
        setattr(listener, QUIET, frozenset(events))
        return listener
    return mark


def quiet_events(listener: object) -> frozenset[str]:
    """The notices ``listener`` touches nothing in the store for (none if unmarked;
    ``EVERY`` among them: all)."""
    found = getattr(listener, QUIET, None)
    return found if isinstance(found, frozenset) else frozenset()


def is_quiet(listener: object, what: str) -> bool:
    """Whether ``listener`` touches nothing in the store when told of ``what``."""
    quiet = quiet_events(listener)
    return what in quiet or EVERY in quiet


def mark_quiet(listener: object, events: Iterable[str]) -> None:
    """``quiet_for`` on an existing function (a closure chaining two listeners)."""
    setattr(listener, QUIET, frozenset(events))
