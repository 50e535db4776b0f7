"""Shell-completion helpers: the fixed vocabularies, offered as the user types."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from deskcli.domain.enums import Channel, Priority, Status, TicketType, Verification


def _words(values: Iterable[str]) -> Callable[[str], list[str]]:
    choices = list(values)

    def complete(incomplete: str) -> list[str]:
        return [c for c in choices if c.lower().startswith(incomplete.lower())]

    return complete


priorities = _words(p.value for p in Priority)
statuses = _words(s.value for s in Status)
types = _words(t.value for t in TicketType)
channels = _words(c.value for c in Channel)
verifications = _words(v.value for v in Verification)
