"""The fixed vocabularies of a ticket.

Values are short lowercase words because they appear in CLI flags, JSON output and
TOML checklists; ``label`` gives the human wording for screens.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from deskcli.domain.errors import InvalidInput


class _Vocabulary(StrEnum):
    """A StrEnum that parses user input with a message listing what is accepted."""

    @classmethod
    def parse(cls, raw: str, *, what: str | None = None) -> Self:
        text = raw.strip().lower().replace("_", "-")
        for member in cls:
            if text == member.value or text in member.aliases():
                return member
        name = what or cls.__name__.lower()
        accepted = ", ".join(m.value for m in cls)
        raise InvalidInput(f"unknown {name} {raw!r}: use one of {accepted}", field=name)

    def aliases(self) -> tuple[str, ...]:
        return ()

    @property
    def label(self) -> str:
        return self.value.replace("-", " ").capitalize()


class TicketType(_Vocabulary):
    """ITIL-style ticket types: each is handled and reported differently."""

    INCIDENT = "incident"
    REQUEST = "request"
    PROBLEM = "problem"
    CHANGE = "change"

    def aliases(self) -> tuple[str, ...]:
        return {"request": ("service-request", "sr")}.get(self.value, ())

    @property
    def label(self) -> str:
        return "Service request" if self is TicketType.REQUEST else self.value.capitalize()


class Status(_Vocabulary):
    """Where a ticket stands; transitions between them live in ``transitions``."""

    NEW = "new"
    OPEN = "open"
    IN_PROGRESS = "in-progress"
    PENDING_CALLER = "pending-caller"
    PENDING_THIRD_PARTY = "pending-third-party"
    ESCALATED = "escalated"
    RESOLVED = "resolved"
    CLOSED = "closed"

    @property
    def is_open(self) -> bool:
        """Open means someone still owes the caller work (the queue shows these)."""
        return self not in (Status.RESOLVED, Status.CLOSED)

    @property
    def label(self) -> str:
        return {
            "in-progress": "In progress",
            "pending-caller": "Pending: caller",
            "pending-third-party": "Pending: third party",
        }.get(self.value, self.value.capitalize())


class Priority(_Vocabulary):
    """P1 (most urgent) to P4; definitions and the impact × urgency matrix in ``priority``."""

    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"

    @classmethod
    def parse(cls, raw: str, *, what: str | None = None) -> Priority:
        text = raw.strip().upper()
        if text in {"1", "2", "3", "4"}:
            text = "P" + text
        for member in cls:
            if text == member.value:
                return member
        raise InvalidInput(
            f"unknown priority {raw!r}: use one of P1, P2, P3, P4", field=what or "priority"
        )

    @property
    def rank(self) -> int:
        return int(self.value[1])

    @property
    def label(self) -> str:
        return self.value


class Channel(_Vocabulary):
    """How the ticket reached us; tagged for reporting by source."""

    PHONE = "phone"
    EMAIL = "email"
    CHAT = "chat"
    WALK_UP = "walk-up"
    WEB = "web"
    MONITORING = "monitoring"

    def aliases(self) -> tuple[str, ...]:
        return {"walk-up": ("walkup", "in-person")}.get(self.value, ())


class Verification(_Vocabulary):
    """How the caller's identity was confirmed. ``none`` records that it was not."""

    CALLBACK = "callback"
    SECOND_CHANNEL = "second-channel"
    MANAGER = "manager"
    IN_PERSON = "in-person"
    NONE = "none"

    @property
    def verified(self) -> bool:
        return self is not Verification.NONE

    @property
    def label(self) -> str:
        return {
            "callback": "Callback to the number on file",
            "second-channel": "Second-channel confirmation",
            "manager": "Manager verification",
            "in-person": "In person, photo ID",
            "none": "Not verified",
        }[self.value]


class ResolutionCategory(_Vocabulary):
    """What the work turned out to be, for trend reporting (may differ from the type)."""

    INCIDENT = "incident"
    REQUEST = "request"
    PROBLEM = "problem"
    CHANGE = "change"


class Impact(_Vocabulary):
    """How much of the business is hurt; one axis of the priority matrix."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class Urgency(_Vocabulary):
    """How soon the hurt becomes damage; the other axis of the priority matrix."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
