"""P1–P4 definitions and the impact × urgency suggestion."""

from __future__ import annotations

import pytest

from deskcli.domain.enums import Impact, Priority, Urgency
from deskcli.domain.errors import InvalidInput
from deskcli.domain.priority import DEFINITIONS, impact_from_users, suggest_priority


def test_every_priority_is_defined_in_checklist_terms() -> None:
    assert set(DEFINITIONS) == set(Priority)
    assert "down" in DEFINITIONS[Priority.P1].meaning
    assert "One person is blocked" in DEFINITIONS[Priority.P2].meaning
    assert "slower" in DEFINITIONS[Priority.P3].meaning
    assert "request" in DEFINITIONS[Priority.P4].meaning


@pytest.mark.parametrize(("impact", "urgency", "expected"), [
    (Impact.HIGH, Urgency.HIGH, Priority.P1),   # system down, everyone stopped
    (Impact.MEDIUM, Urgency.HIGH, Priority.P2),  # one person blocked
    (Impact.MEDIUM, Urgency.MEDIUM, Priority.P3),  # degraded
    (Impact.LOW, Urgency.LOW, Priority.P4),  # a request
    (Impact.HIGH, Urgency.LOW, Priority.P3),
])
def test_matrix(impact: Impact, urgency: Urgency, expected: Priority) -> None:
    assert suggest_priority(impact, urgency) is expected


def test_matrix_is_monotone() -> None:
    """Raising impact or urgency never lowers the suggested priority."""
    order = [Impact.LOW, Impact.MEDIUM, Impact.HIGH]
    uorder = [Urgency.LOW, Urgency.MEDIUM, Urgency.HIGH]
    for i, impact in enumerate(order):
        for j, urgency in enumerate(uorder):
            rank = suggest_priority(impact, urgency).rank
            if i + 1 < len(order):
                assert suggest_priority(order[i + 1], urgency).rank <= rank
            if j + 1 < len(uorder):
                assert suggest_priority(impact, uorder[j + 1]).rank <= rank


@pytest.mark.parametrize(("users", "down", "expected"), [
    (1, False, Impact.MEDIUM), (12, False, Impact.HIGH), (1, True, Impact.HIGH),
    (0, False, Impact.LOW), (None, False, Impact.MEDIUM),
])
def test_impact_from_users(users: int | None, down: bool, expected: Impact) -> None:
    assert impact_from_users(users, system_down=down) is expected


@pytest.mark.parametrize("text", ["P1", "p2", "3", " P4 "])
def test_priority_parse_accepts_common_spellings(text: str) -> None:
    assert Priority.parse(text).value == "P" + text.strip()[-1]


@pytest.mark.parametrize("text", ["P5", "urgent", "", "P0"])
def test_priority_parse_lists_what_is_accepted(text: str) -> None:
    with pytest.raises(InvalidInput, match="use one of P1, P2, P3, P4"):
        Priority.parse(text)
