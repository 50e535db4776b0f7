"""One timestamp format for the whole store: UTC, second precision, ``Z`` suffix.

A fixed-width ISO-8601 string sorts in the same order as the instants it names, so the
store can index and compare timestamps as text and the queue can classify SLA state
without parsing a datetime per row.
"""

from __future__ import annotations

from datetime import UTC, datetime

_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def to_iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return moment.astimezone(UTC).strftime(_FORMAT)


def from_iso(text: str) -> datetime:
    """The store's own format only (``2026-01-31T09:30:00Z``); anything else is a
    ``ValueError``. ``fromisoformat`` rather than ``strptime``: it needs no regex module
    at start-up and is several times faster per call."""
    if len(text) != 20 or text[4::3] != "--T::Z":
        raise ValueError(f"time data {text!r} is not in the form 2026-01-31T09:30:00Z")
    return datetime.fromisoformat(text[:19]).replace(tzinfo=UTC)


def floor_second(moment: datetime) -> datetime:
    """Drop sub-second precision so a value survives a round trip through the store."""
    return moment.astimezone(UTC).replace(microsecond=0)
