"""One duration parser for the whole product: one unit table, ``m`` is minutes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deskcli.domain import kb, metrics
from deskcli.domain.durations import UNITS_HELP, describe, parse_duration
from deskcli.domain.errors import InvalidInput


@pytest.mark.parametrize(("text", "span"), [
    ("45", timedelta(minutes=45)), ("90m", timedelta(minutes=90)),
    ("1h15m", timedelta(minutes=75)), ("1h 15m", timedelta(minutes=75)),
    ("1.5h", timedelta(minutes=90)), ("1:15", timedelta(minutes=75)),
    ("30s", timedelta(seconds=30)), ("3d", timedelta(days=3)), ("2w", timedelta(weeks=2)),
    ("6mo", timedelta(days=180)), ("1y", timedelta(days=365)),
    ("1 day 12 hours", timedelta(hours=36)), ("90 mins", timedelta(minutes=90)),
    ("2HRS", timedelta(hours=2)),
])
def test_every_form(text: str, span: timedelta) -> None:
    assert parse_duration(text) == span


def test_m_is_minutes_for_every_caller() -> None:
    """The defect: ``m`` was months in the KB's ages and minutes everywhere else."""
    assert parse_duration("6m") == timedelta(minutes=6)
    with pytest.raises(InvalidInput, match=r"m is minutes; for months write 6mo"):
        kb.parse_age("6m")
    assert kb.parse_age("6mo") == timedelta(days=180)


@pytest.mark.parametrize("text", ["", " ", "soon", "1x", "h", "-5m", "1:75", "m", "1h1h",
                                  "1e3m", "5 m m", "9" * 12 + "d", "999999999y"])
def test_bad_text_names_every_unit(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_duration(text)
    assert "is not a duration" in caught.value.message
    assert UNITS_HELP in caught.value.message


def test_a_bare_number_can_be_refused_and_a_minimum_kept() -> None:
    with pytest.raises(InvalidInput, match="is not a duration"):
        parse_duration("30", bare_unit=None)
    assert parse_duration("30", bare_unit="d") == timedelta(days=30)
    with pytest.raises(InvalidInput, match="--since '2h' is less than 1d"):
        parse_duration("2h", what="--since", minimum=timedelta(days=1))


def test_ages_and_report_windows_share_the_table() -> None:
    now = datetime(2026, 3, 2, tzinfo=UTC)
    assert metrics.parse_window("12w", None, now).since == now - timedelta(weeks=12)
    assert metrics.parse_window("1y", None, now).since == now - timedelta(days=365)
    assert kb.parse_age("48h") == timedelta(hours=48)


@given(st.integers(0, 10_000), st.integers(0, 59))
def test_clock_and_units_agree(hours: int, minutes: int) -> None:
    expected = timedelta(hours=hours, minutes=minutes)
    assert parse_duration(f"{hours}h{minutes}m") == expected
    assert parse_duration(f"{hours}:{minutes:02d}") == expected


@pytest.mark.parametrize(("span", "text"), [(timedelta(days=1), "1d"),
                                            (timedelta(minutes=90), "90m"),
                                            (timedelta(weeks=2), "2w"),
                                            (timedelta(seconds=5), "5s")])
def test_describe(span: timedelta, text: str) -> None:
    assert describe(span) == text
    assert parse_duration(text) == span


# --- timestamps: one strict format, read with fromisoformat ------------------------------


@given(st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9999, 12, 30),
                    timezones=st.just(UTC)))
def test_store_timestamps_round_trip(moment: datetime) -> None:
    from deskcli.domain.timefmt import floor_second, from_iso, to_iso

    assert from_iso(to_iso(moment)) == floor_second(moment)


@pytest.mark.parametrize("text", ["2026-01-31", "2026-01-31T09:30:00", "2026-01-31 09:30:00Z",
                                  "2026-01-31T09:30:00+01:00", "2026-13-31T09:30:00Z",
                                  "2026-01-31T0930+01:Z", ""])
def test_other_timestamp_forms_are_refused(text: str) -> None:
    from deskcli.domain.timefmt import from_iso

    with pytest.raises(ValueError):
        from_iso(text)
