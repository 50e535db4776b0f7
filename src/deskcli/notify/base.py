"""What every channel adapter takes and raises."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol


@dataclass(frozen=True)
class Outgoing:
    """One message as an adapter sees it: everything needed, already rendered."""

    #: The idempotency key: the receiver deduplicates repeats by it.
    key: str
    purpose: str
    ticket_ref: str
    ticket_id: str
    #: Rendered content; which keys are present depends on the purpose (see outbound.py).
    payload: Mapping[str, Any] = field(default_factory=dict)
    recipient: str | None = None
    #: The incident a pager's trigger, acknowledge and resolve share. None: the ticket's
    #: own (``incident_key``). ``notify test`` sets its own, so the test alert is closed
    #: with exactly the key it was opened with and never touches a real incident.
    incident: str | None = None

    def incident_key(self) -> str:
        from deskcli.domain.notify import incident_key

        return self.incident or incident_key(self.ticket_id)


class DeliveryError(Exception):
    """A send that did not go through; ``retryable`` says whether trying again can help.

    ``retry_after`` is the receiver's own Retry-After, when it gave one.
    """

    def __init__(self, reason: str, *, retryable: bool = True,
                 retry_after: timedelta | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after


class Sender(Protocol):
    """A configured channel. ``send`` returns a short receipt for the timeline."""

    name: str

    def send(self, message: Outgoing) -> str: ...

    def close(self) -> None: ...
