"""The wall clock and id source, kept at the edge so the domain never reads them."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from typing import Protocol

from deskcli.domain.ids import uuid7


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC).replace(microsecond=0)


def new_id() -> str:
    return uuid7(time.time_ns() // 1_000_000, os.urandom(10))


def now_ms() -> int:
    return time.time_ns() // 1_000_000
