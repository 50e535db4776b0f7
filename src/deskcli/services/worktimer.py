"""The work timer: time spent on a ticket, offered as a time entry when the technician leaves.

It takes ``now`` from the desk's clock rather than reading the wall clock, so tests and
snapshots see a fixed elapsed time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from deskcli.domain.sla import format_span


@dataclass(frozen=True)
class WorkTimer:
    started: datetime
    now: Callable[[], datetime]

    def elapsed(self) -> timedelta:
        return max(self.now() - self.started, timedelta(0))

    def minutes(self) -> int:
        """Whole minutes, rounded up: a two-minute call that ran 1m20s bills 2m."""
        seconds = int(self.elapsed().total_seconds())
        return -(-seconds // 60)

    def entry_text(self) -> str:
        """The suggested duration, in a form ``validation.time_entry`` accepts."""
        return format_span(timedelta(minutes=max(self.minutes(), 1)))

    def display(self) -> str:
        """``12:05`` style minutes:seconds for the status bar (hours once past 60m)."""
        seconds = int(self.elapsed().total_seconds())
        hours, rest = divmod(seconds, 3600)
        minutes, secs = divmod(rest, 60)
        return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
