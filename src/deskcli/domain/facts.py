"""The slice of a ticket the checklist engine and the gates reason about.

Kept separate from the stored row so the engine stays a pure function of plain values
that tests can build in one line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from deskcli.domain.enums import Channel, Priority, Status, TicketType, Verification


@dataclass(frozen=True)
class TicketFacts:
    priority: Priority = Priority.P3
    type: TicketType = TicketType.INCIDENT
    channel: Channel = Channel.PHONE
    status: Status = Status.NEW
    verification: Verification | None = None
    #: Values of completed steps, by step key (the latest completion wins).
    steps: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    minutes_logged: int = 0

    def attribute(self, name: str) -> str | None:
        """A ticket attribute or a completed step's field, as text; None if undecided."""
        if "." in name:
            step_key, field_key = name.split(".", 1)
            values = self.steps.get(step_key)
            if values is None:
                return None
            value = values.get(field_key)
            return None if value is None else str(value)
        return str(getattr(self, name).value)
