"""P1–P4 as the Tier 1 checklist defines them, and the impact × urgency helper.

The definitions are shown on screen when a technician sets the priority, so they are
phrased as questions a technician can answer during the call.
"""

from __future__ import annotations

from dataclasses import dataclass

from deskcli.domain.enums import Impact, Priority, Urgency


@dataclass(frozen=True)
class PriorityDefinition:
    priority: Priority
    name: str
    meaning: str
    example: str


DEFINITIONS: dict[Priority, PriorityDefinition] = {
    Priority.P1: PriorityDefinition(
        Priority.P1,
        "Critical",
        "A system is down or several people cannot work.",
        "Email is down for the whole office; the VPN rejects everyone.",
    ),
    Priority.P2: PriorityDefinition(
        Priority.P2,
        "High",
        "One person is blocked and cannot do their job.",
        "A locked-out account; a laptop that will not boot.",
    ),
    Priority.P3: PriorityDefinition(
        Priority.P3,
        "Medium",
        "Work goes on, but slower or with a workaround.",
        "Outlook is slow to open; one printer on the floor is offline.",
    ),
    Priority.P4: PriorityDefinition(
        Priority.P4,
        "Low",
        "A request or question; nothing is broken.",
        "Install a licensed app; add someone to a shared mailbox.",
    ),
}

# Rows: impact; columns: urgency. High impact means a system or many users; medium,
# one person; low, nobody is stopped. Urgency says how fast the harm grows.
_MATRIX: dict[tuple[Impact, Urgency], Priority] = {
    (Impact.HIGH, Urgency.HIGH): Priority.P1,
    (Impact.HIGH, Urgency.MEDIUM): Priority.P2,
    (Impact.HIGH, Urgency.LOW): Priority.P3,
    (Impact.MEDIUM, Urgency.HIGH): Priority.P2,
    (Impact.MEDIUM, Urgency.MEDIUM): Priority.P3,
    (Impact.MEDIUM, Urgency.LOW): Priority.P4,
    (Impact.LOW, Urgency.HIGH): Priority.P3,
    (Impact.LOW, Urgency.MEDIUM): Priority.P4,
    (Impact.LOW, Urgency.LOW): Priority.P4,
}


def suggest_priority(impact: Impact, urgency: Urgency) -> Priority:
    """The matrix's suggestion; the technician may still choose otherwise."""
    return _MATRIX[(impact, urgency)]


def impact_from_users(users_affected: int | None, *, system_down: bool = False) -> Impact:
    """Derive impact from what the caller reported at intake.

    More than one person affected, or a whole system down, is the checklist's P1 signal.
    """
    if system_down or (users_affected is not None and users_affected > 1):
        return Impact.HIGH
    if users_affected == 0:
        return Impact.LOW
    return Impact.MEDIUM
