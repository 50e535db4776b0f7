"""Technicians, shifts and the pure pickers: off-shift technicians are skipped, ties
and turns go by handle, and the config tables are checked."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deskcli.domain.calendar import parse_calendar
from deskcli.domain.errors import InvalidInput
from deskcli.domain.roster import (
    Roster,
    Strategy,
    Technician,
    check_against,
    is_rule_actor,
    on_shift,
    parse_assign_spec,
    parse_roster,
    pick_least_loaded,
    pick_round_robin,
    rule_actor,
)

DAY = parse_calendar({"timezone": "UTC", "hours": {"mon-fri": "09:00-17:00"}}, "shift")
NIGHT = parse_calendar({"timezone": "UTC", "hours": {"mon-fri": "22:00-06:00"}}, "shift")
NOON = datetime(2026, 6, 3, 12, 0, tzinfo=UTC)        # a Wednesday
MIDNIGHT = datetime(2026, 6, 3, 23, 30, tzinfo=UTC)

ROSTER = Roster((
    Technician("dana", frozenset({"tier2"}), DAY),
    Technician("eli", frozenset({"tier2", "billing"}), NIGHT),
    Technician("kai", frozenset({"tier2"}), DAY),
    Technician("rita", frozenset({"billing"}), None),
))


def test_on_shift() -> None:
    assert on_shift(ROSTER.get("dana"), NOON) and not on_shift(ROSTER.get("dana"), MIDNIGHT)  # type: ignore[arg-type]
    assert on_shift(ROSTER.get("eli"), MIDNIGHT)  # type: ignore[arg-type]
    assert on_shift(ROSTER.get("rita"), MIDNIGHT)  # type: ignore[arg-type]


def test_round_robin_cycles_in_handle_order_and_skips_off_shift() -> None:
    picks, last = [], None
    for _ in range(4):
        last = pick_round_robin("tier2", ROSTER, NOON, last)
        picks.append(last)
    assert picks == ["dana", "kai", "dana", "kai"]  # eli works nights
    assert pick_round_robin("tier2", ROSTER, MIDNIGHT, "kai") == "eli"
    assert pick_round_robin("tier2", ROSTER, MIDNIGHT, None) == "eli"


def test_round_robin_after_someone_left_continues_after_their_place() -> None:
    assert pick_round_robin("tier2", ROSTER, NOON, "dave") == "kai"   # dave left
    assert pick_round_robin("tier2", ROSTER, NOON, "zed") == "dana"


def test_nobody_on_shift_gives_none() -> None:
    saturday = datetime(2026, 6, 6, 12, 0, tzinfo=UTC)
    only_day = Roster((Technician("dana", frozenset({"tier2"}), DAY),))
    assert pick_round_robin("tier2", only_day, saturday, None) is None
    assert pick_least_loaded("tier2", only_day, saturday, {}) is None
    assert pick_round_robin("nosuch", ROSTER, NOON, None) is None


def test_least_loaded_skips_off_shift_and_breaks_ties_by_handle() -> None:
    assert pick_least_loaded("tier2", ROSTER, NOON, {"dana": 3, "kai": 1, "eli": 0}) == "kai"
    assert pick_least_loaded("tier2", ROSTER, NOON, {"dana": 2, "kai": 2}) == "dana"
    assert pick_least_loaded("tier2", ROSTER, NOON, {"dana": 2}) == "kai"  # none counted: 0
    assert pick_least_loaded("billing", ROSTER, NOON, {"rita": 5, "eli": 0}) == "rita"


@given(counts=st.dictionaries(st.sampled_from(["dana", "eli", "kai"]), st.integers(0, 50)),
       at=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 1, 1),
                       timezones=st.just(UTC)))
def test_least_loaded_is_a_minimum_among_those_on_shift(counts: dict[str, int],
                                                        at: datetime) -> None:
    chosen = pick_least_loaded("tier2", ROSTER, at, counts)
    working = [t.handle for t in ROSTER.members("tier2") if on_shift(t, at)]
    if not working:
        assert chosen is None
        return
    assert chosen in working
    assert all((counts.get(chosen, 0), chosen) <= (counts.get(h, 0), h) for h in working)


@given(last=st.none() | st.text(alphabet="abcdefghijklmnopqrstuvwxyz", max_size=5),
       at=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 1, 1),
                       timezones=st.just(UTC)))
def test_round_robin_serves_everyone_on_shift_once_per_turn(last: str | None,
                                                            at: datetime) -> None:
    working = sorted(t.handle for t in ROSTER.members("tier2") if on_shift(t, at))
    seen = []
    for _ in range(len(working)):
        last = pick_round_robin("tier2", ROSTER, at, last)
        seen.append(last)
    assert sorted(seen) == working


def test_assign_specs() -> None:
    assert parse_assign_spec("dana").strategy is Strategy.HANDLE
    spec = parse_assign_spec("round-robin:tier2")
    assert (spec.strategy, spec.target) == (Strategy.ROUND_ROBIN, "tier2")
    assert parse_assign_spec("least-loaded:billing").strategy is Strategy.LEAST_LOADED
    for bad, message in [("random:tier2", "unknown way to assign 'random'"),
                         ("round-robin:", "is not a group name"),
                         ("Dana Smith", "is not a technician handle")]:
        with pytest.raises(InvalidInput, match=message):
            parse_assign_spec(bad)
    with pytest.raises(InvalidInput, match=r"no group 'ops' \(groups: billing, tier2\)"):
        check_against(parse_assign_spec("least-loaded:ops"), ROSTER)
    with pytest.raises(InvalidInput, match="no technician 'zoe'"):
        check_against(parse_assign_spec("zoe"), ROSTER)


def test_rule_actors() -> None:
    assert is_rule_actor(rule_actor("refund to billing"))
    assert not is_rule_actor("dana") and not is_rule_actor(None)


def test_roster_from_config_tables() -> None:
    calendar = parse_calendar({"timezone": "Europe/London", "hours": {"mon-fri": "09:00-17:00"},
                               "holidays": ["2026-12-25"]}, "calendar")
    roster = parse_roster(
        {"alice": {"groups": ["tier2"], "shift": "early"},
         "bob": {"groups": ["Tier2", "billing"],
                 "shift": {"timezone": "America/New_York", "hours": {"mon": "09:00-17:00"}}},
         "carol": {}},
        {"early": {"hours": {"mon-fri": "07:00-15:00"}}},
        calendar=calendar, calendar_configured=True)
    assert [t.handle for t in roster] == ["alice", "bob", "carol"]
    alice, bob, carol = roster
    assert alice.shift is not None and alice.shift.timezone == "Europe/London"
    assert alice.shift.holidays == calendar.holidays       # a shift keeps the desk's holidays
    assert bob.groups == {"tier2", "billing"} and bob.shift is not None
    assert bob.shift.timezone == "America/New_York"
    assert carol.groups == frozenset() and carol.shift is None
    assert roster.groups == {"tier2", "billing"}


@pytest.mark.parametrize(("technicians", "shifts", "message"), [
    ({"Alice Smith": {}}, None, "not a valid handle"),
    ({"alice": {"group": ["x"]}}, None, "technicians.alice: unknown setting 'group'"),
    ({"alice": {"groups": "tier 2"}}, None, "'tier 2' is not a group name"),
    ({"alice": {"groups": 3}}, None, "must be a list of group names"),
    ({"alice": {"shift": "late"}}, None, r"no shift 'late' in \[shifts\]"),
    ({"alice": {"shift": {"hours": {"mon": "09:00-17:00"}}}}, None,
     "technicians.alice.shift.timezone is required"),
    ({}, {"late": {"timezone": "UTC", "hours": {"mon": "nine"}}}, "shifts.late.hours.mon"),
    ("alice", None, "technicians must be a table"),
])
def test_bad_roster_tables_are_named(technicians: object, shifts: object, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_roster(technicians, shifts, calendar=None, calendar_configured=False)
