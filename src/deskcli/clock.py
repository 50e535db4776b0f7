"""The wall clock and id source, kept at the edge so the domain never reads them."""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime
from typing import Protocol

from deskcli.domain.ids import ms_hex, uuid7_head, uuid7_tail


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC).replace(microsecond=0)


class _IdSource:
    """UUIDv7 ids from a pool of random digits: one ``os.urandom`` call per refill, the
    random part of every id of the pool formatted then in one comprehension
    (``uuid7_tail``), and the time part once per millisecond (``uuid7_head``), so a new
    id is a clock read and one concatenation (a bulk import mints eight ids per ticket).

    The first pool holds 16 ids and each refill doubles it, up to 4,096: ``deskcli new``
    mints about ten ids, and formatting 4,096 of them cost it a millisecond or more of
    its start (issue 20), while a bulk import reaches full pools after a few hundred.

    A lock keeps threads (the console's sync worker, the server's request threads) from
    taking the same digits; a forked child starts a fresh pool, so it never repeats its
    parent's."""

    _FIRST_POOL = 16
    _POOL_IDS = 4096

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget the pool (a forked child must not reuse its parent's digits), with a
        lock of its own: a fork copies the lock as it stands, taken if another thread was
        minting at that moment, and nothing in the child would ever release it."""
        self._lock = threading.Lock()
        self._tails: list[str] = []
        self._pool = self._FIRST_POOL
        self._ms = -1
        self._head = ""

    def __call__(self) -> str:
        ms = time.time_ns() // 1_000_000
        with self._lock:
            tails = self._tails
            if not tails:
                digits = os.urandom(10 * self._pool).hex()
                self._pool = min(self._pool * 2, self._POOL_IDS)
                tails = self._tails = [uuid7_tail(digits[i:i + 20])
                                       for i in range(0, len(digits), 20)]
            if ms != self._ms:
                self._ms, self._head = ms, uuid7_head(ms_hex(ms))
            return self._head + tails.pop()


_ids = _IdSource()
os.register_at_fork(after_in_child=_ids.reset)


def new_id() -> str:
    """A new UUIDv7 (``domain.ids.uuid7`` of this millisecond and fresh random bits)."""
    return _ids()


def now_ms() -> int:
    return time.time_ns() // 1_000_000
