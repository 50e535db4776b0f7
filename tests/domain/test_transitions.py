"""The status workflow: what may follow what, and how a refusal reads."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deskcli.domain.enums import Status
from deskcli.domain.errors import Refused
from deskcli.domain.transitions import (
    ALLOWED,
    allowed_from,
    check_direct_move,
    check_transition,
    is_reopen,
)


@pytest.mark.parametrize("start", [s for s in Status if s.is_open])
def test_every_open_status_can_be_resolved_directly(start: Status) -> None:
    """First-contact resolution: no detour through other statuses is needed."""
    check_transition(start, Status.RESOLVED)


def test_happy_path_walks_the_whole_workflow() -> None:
    path = [Status.NEW, Status.OPEN, Status.IN_PROGRESS, Status.PENDING_CALLER,
            Status.ESCALATED, Status.RESOLVED, Status.CLOSED]
    for current, target in zip(path, path[1:], strict=False):
        check_transition(current, target)


def test_refusal_names_the_allowed_moves() -> None:
    with pytest.raises(Refused) as caught:
        check_transition(Status.CLOSED, Status.ESCALATED)
    assert "cannot move a closed ticket to escalated" in caught.value.message
    assert "it can go to: open" in caught.value.message


def test_new_cannot_be_closed_without_resolving() -> None:
    with pytest.raises(Refused, match="resolved"):
        check_transition(Status.NEW, Status.CLOSED)


def test_same_status_is_refused_plainly() -> None:
    with pytest.raises(Refused, match="already open"):
        check_transition(Status.OPEN, Status.OPEN)


@pytest.mark.parametrize(("current", "expected"), [
    (Status.RESOLVED, True), (Status.CLOSED, True), (Status.PENDING_CALLER, False),
])
def test_reopen_is_only_from_resolved_or_closed(current: Status, expected: bool) -> None:
    assert is_reopen(current, Status.OPEN) is expected


@given(st.sampled_from(list(Status)), st.sampled_from(list(Status)))
def test_check_agrees_with_the_table(current: Status, target: Status) -> None:
    allowed = target in ALLOWED[current]
    try:
        check_transition(current, target)
    except Refused:
        assert not allowed
    else:
        assert allowed


@given(st.lists(st.sampled_from(list(Status)), max_size=30))
def test_closed_is_reachable_from_anywhere_and_never_a_dead_end(walk: list[Status]) -> None:
    """Whatever path a ticket took, it can still be finished (resolved then closed)."""
    current = Status.NEW
    for target in walk:
        if target in ALLOWED[current]:
            current = target
    if current is not Status.CLOSED:
        if current is not Status.RESOLVED:
            check_transition(current, Status.RESOLVED if current.is_open else Status.OPEN)
    assert allowed_from(current), "every status has a way forward"


@pytest.mark.parametrize(("target", "verb"), [
    (Status.RESOLVED, "use resolve"), (Status.CLOSED, "use close"),
    (Status.ESCALATED, "use escalate"),
])
def test_statuses_with_rules_are_reached_only_through_their_verb(target: Status,
                                                                 verb: str) -> None:
    with pytest.raises(Refused, match=verb):
        check_direct_move(target)


def test_plain_statuses_can_be_set_directly() -> None:
    for target in (Status.OPEN, Status.IN_PROGRESS, Status.PENDING_CALLER):
        check_direct_move(target)
