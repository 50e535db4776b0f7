"""SLA targets, due times, pause accounting and the state the queue shows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deskcli.domain.enums import Priority, Status
from deskcli.domain.errors import InvalidInput
from deskcli.domain.sla import (
    SlaPolicy,
    SlaState,
    classify,
    compute_clock,
    format_span,
    pause_update,
)
from deskcli.domain.timefmt import to_iso

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
POLICY = SlaPolicy()


def test_p1_standard_targets() -> None:
    clock = compute_clock(T0, Priority.P1, POLICY)
    assert clock.response_due == T0 + timedelta(minutes=15)
    assert clock.resolve_due == T0 + timedelta(hours=4)
    assert clock.resolve_risk_at == T0 + timedelta(hours=3)  # 25% left


def test_contract_tier_overrides_targets() -> None:
    premium = compute_clock(T0, Priority.P2, POLICY, tier="premium")
    standard = compute_clock(T0, Priority.P2, POLICY, tier="standard")
    assert premium.resolve_due < standard.resolve_due


def test_unknown_tier_is_named_with_the_known_ones() -> None:
    with pytest.raises(InvalidInput, match="known tiers are basic, premium, standard"):
        POLICY.target(Priority.P1, "gold")


def test_paused_time_pushes_only_resolution() -> None:
    clock = compute_clock(T0, Priority.P3, POLICY, paused=timedelta(hours=2))
    base = compute_clock(T0, Priority.P3, POLICY)
    assert clock.response_due == base.response_due
    assert clock.resolve_due == base.resolve_due + timedelta(hours=2)


def test_pause_starts_and_stops_with_pending_caller() -> None:
    since, total = pause_update(POLICY, Status.OPEN, Status.PENDING_CALLER, T0, None,
                                timedelta(0))
    assert since == T0 and total == timedelta(0)
    since, total = pause_update(POLICY, Status.PENDING_CALLER, Status.OPEN,
                                T0 + timedelta(minutes=90), since, total)
    assert since is None and total == timedelta(minutes=90)


def test_pause_is_a_policy_option() -> None:
    policy = SlaPolicy(pause_on_pending_caller=False)
    since, total = pause_update(policy, Status.OPEN, Status.PENDING_CALLER, T0, None,
                                timedelta(0))
    assert since is None and total == timedelta(0)


def test_waiting_on_a_third_party_never_pauses() -> None:
    assert not POLICY.pauses(Status.PENDING_THIRD_PARTY)


def _state(now: datetime, *, responded: datetime | None = None, paused: bool = False,
           is_open: bool = True, resolved: datetime | None = None) -> SlaState:
    c = compute_clock(T0, Priority.P2, POLICY)
    return classify(now=now, is_open=is_open, paused=paused, response_due=c.response_due,
                    response_risk_at=c.response_risk_at, first_response_at=responded,
                    resolve_due=c.resolve_due, resolve_risk_at=c.resolve_risk_at,
                    resolved_at=resolved)


@pytest.mark.parametrize(("minutes", "responded", "expected"), [
    (10, None, SlaState.OK),
    (50, None, SlaState.AT_RISK),  # 45 of 60 response minutes gone
    (61, None, SlaState.BREACHED),  # no answer within the hour
    (61, 30, SlaState.OK),  # answered in time; 8h resolution clock still fresh
    (7 * 60, 30, SlaState.AT_RISK),
    (8 * 60, 30, SlaState.BREACHED),
])
def test_classify(minutes: int, responded: int | None, expected: SlaState) -> None:
    now = T0 + timedelta(minutes=minutes)
    first = T0 + timedelta(minutes=responded) if responded is not None else None
    assert _state(now, responded=first) is expected


def test_paused_ticket_shows_paused_unless_response_is_late() -> None:
    assert _state(T0 + timedelta(hours=20), responded=T0, paused=True) is SlaState.PAUSED
    assert _state(T0 + timedelta(hours=2), paused=True) is SlaState.BREACHED


def test_closed_ticket_is_met_or_missed() -> None:
    met = _state(T0 + timedelta(days=3), responded=T0, is_open=False,
                 resolved=T0 + timedelta(hours=1))
    missed = _state(T0 + timedelta(days=3), responded=T0, is_open=False,
                    resolved=T0 + timedelta(hours=9))
    assert (met, missed) == (SlaState.MET, SlaState.MISSED)


def test_every_state_has_a_marker_that_is_not_colour() -> None:
    markers = {state.marker for state in SlaState}
    assert len(markers) == len(SlaState)


moments = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1),
                       timezones=st.just(UTC)).map(lambda d: d.replace(microsecond=0))


@given(moments, moments, st.sampled_from(list(Priority)), st.booleans(), st.booleans(),
       st.one_of(st.none(), moments))
def test_classify_on_store_strings_matches_datetimes(created: datetime, now: datetime,
                                                     priority: Priority, paused: bool,
                                                     is_open: bool,
                                                     responded: datetime | None) -> None:
    """The queue classifies raw ISO strings; it must agree with the datetime rule."""
    c = compute_clock(created, priority, POLICY)
    kwargs = {"is_open": is_open, "paused": paused}
    as_dt = classify(now=now, response_due=c.response_due, response_risk_at=c.response_risk_at,
                     first_response_at=responded, resolve_due=c.resolve_due,
                     resolve_risk_at=c.resolve_risk_at, resolved_at=None, **kwargs)
    as_str = classify(now=to_iso(now), response_due=to_iso(c.response_due),
                      response_risk_at=to_iso(c.response_risk_at),
                      first_response_at=to_iso(responded) if responded else None,
                      resolve_due=to_iso(c.resolve_due), resolve_risk_at=to_iso(c.resolve_risk_at),
                      resolved_at=None, **kwargs)
    assert as_dt is as_str


@given(moments, st.sampled_from(list(Priority)), st.integers(0, 10_000))
def test_due_times_are_ordered(created: datetime, priority: Priority, paused_min: int) -> None:
    c = compute_clock(created, priority, POLICY, paused=timedelta(minutes=paused_min))
    assert created < c.response_risk_at <= c.response_due
    assert created < c.resolve_risk_at <= c.resolve_due
    assert c.urgency_due == min(c.response_due, c.resolve_due)


@given(st.lists(st.tuples(st.sampled_from(list(Status)), st.integers(0, 600)), max_size=20))
def test_paused_total_equals_time_spent_pending_caller(moves: list[tuple[Status, int]]) -> None:
    """Pause accounting adds up exactly the minutes spent waiting on the caller."""
    now, status, since, total, expected = T0, Status.OPEN, None, timedelta(0), timedelta(0)
    for target, minutes in moves:
        if status is Status.PENDING_CALLER:
            expected += timedelta(minutes=minutes)
        now += timedelta(minutes=minutes)
        since, total = pause_update(POLICY, status, target, now, since, total)
        status = target
    if since is not None:
        total += now - since
    assert total == expected


def test_policy_from_config_mapping() -> None:
    policy = SlaPolicy.from_mapping({
        "targets": {"P1": {"response": "5m"}},
        "tiers": {"gold": {"P1": {"resolve": "1h"}}},
        "pause_on_pending_caller": False, "at_risk_fraction": 0.5})
    assert policy.target(Priority.P1).response == timedelta(minutes=5)
    assert policy.target(Priority.P1, "gold").resolve == timedelta(hours=1)
    assert policy.pause_on_pending_caller is False


@pytest.mark.parametrize(("data", "message"), [
    ({"targets": {"P9": {"response": "5m"}}}, "unknown priority"),
    ({"targets": {"P1": {"respond": "5m"}}}, "takes only response and resolve"),
    ({"targets": {"P1": {"response": "soon"}}}, "not a duration"),
    ({"at_risk_fraction": 2}, "between 0 and 1"),
])
def test_policy_config_errors_are_specific(data: dict, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        SlaPolicy.from_mapping(data)


@pytest.mark.parametrize(("span", "text"), [
    (timedelta(minutes=5), "5m"), (timedelta(hours=2, minutes=5), "2h05m"),
    (timedelta(days=3, hours=4), "3d4h"), (timedelta(minutes=-15), "-15m"),
])
def test_format_span(span: timedelta, text: str) -> None:
    assert format_span(span) == text


def test_queue_key_is_the_next_running_clock() -> None:
    c = compute_clock(T0, Priority.P2, POLICY)
    assert c.queue_key(is_open=True, paused=False, responded=False) == c.response_due
    assert c.queue_key(is_open=True, paused=False, responded=True) == c.resolve_due
    assert c.queue_key(is_open=True, paused=True, responded=False) == c.response_due
    assert c.queue_key(is_open=True, paused=True, responded=True) is None
    assert c.queue_key(is_open=False, paused=False, responded=True) is None
