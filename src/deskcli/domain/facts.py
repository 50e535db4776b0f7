"""The slice of a ticket the checklist engine and the gates reason about.

Kept separate from the stored row so the engine stays a pure function of plain values
that tests can build in one line.
"""

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from deskcli.domain.account_work import AccountWork
from deskcli.domain.enums import Channel, Priority, Status, TicketType, Verification

#: The key a step record's data carries when the step was skipped by hand: field keys are
#: lowercase identifiers, so it can never collide with what a step collects.
SKIPPED_KEY = "$skipped"

#: The empty default of ``steps`` and ``skipped``: read-only, so one can be shared.
_NONE: Mapping[str, Any] = MappingProxyType({})


class TicketFacts(NamedTuple):
    """What the checklist engine and the gates read of one ticket (a ``NamedTuple``:
    ``deskcli new`` builds the engine's types without loading ``dataclasses``,
    ``domain/values.py``)."""

    priority: Priority = Priority.P3
    type: TicketType = TicketType.INCIDENT
    channel: Channel = Channel.PHONE
    status: Status = Status.NEW
    verification: Verification | None = None
    #: Values of completed steps, by step key (the latest completion wins).
    steps: Mapping[str, Mapping[str, Any]] = _NONE
    minutes_logged: int = 0
    #: Steps the technician skipped, with the reason they gave (a later completion wins).
    skipped: Mapping[str, str] = _NONE
    #: What marks the ticket's recorded work as account or credential work, if anything
    #: (its category, the fix's runbook, the resolution...); see ``account_work``.
    account_work: AccountWork | None = None

    @property
    def caller_verified(self) -> bool:
        """True when there is a verified caller, or no caller at all (monitoring).

        A monitoring ticket on which someone recorded a failed verification has a caller
        after all, so switching the channel to monitoring cannot walk around the rule.
        """
        if self.verification is None:
            return self.channel is Channel.MONITORING
        return self.verification.verified

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
