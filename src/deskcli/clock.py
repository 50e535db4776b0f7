"""The wall clock and id source, kept at the edge so the domain never reads them."""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime
from typing import Protocol

from deskcli.domain.ids import ms_hex, uuid7_hex


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC).replace(microsecond=0)


class _IdSource:
    """UUIDv7 ids from a pool of random hex digits refilled 4,096 ids at a time: one
    ``os.urandom`` call and one ``hex()`` per refill instead of per id, and the time
    field formatted once per millisecond (a bulk import mints ~80,000 ids a second).

    A lock keeps threads (the console's sync worker, the server's request threads) from
    taking the same digits; a forked child starts a fresh pool, so it never repeats its
    parent's."""

    _POOL_IDS = 4096

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Forget the pool (a forked child must not reuse its parent's digits)."""
        self._pool = ""
        self._pos = 0
        self._ms = -1
        self._time_hex = ""

    def __call__(self) -> str:
        ms = time.time_ns() // 1_000_000
        with self._lock:
            pos = self._pos
            if pos >= len(self._pool):
                self._pool, pos = os.urandom(10 * self._POOL_IDS).hex(), 0
            self._pos = pos + 20
            if ms != self._ms:
                self._ms, self._time_hex = ms, ms_hex(ms)
            time_hex = self._time_hex
            digits = self._pool[pos:pos + 20]
        return uuid7_hex(time_hex, digits)


_ids = _IdSource()
os.register_at_fork(after_in_child=_ids.reset)


def new_id() -> str:
    """A new UUIDv7 (``domain.ids.uuid7`` of this millisecond and fresh random bits)."""
    return _ids()


def now_ms() -> int:
    return time.time_ns() // 1_000_000
