"""Test doubles shared by every test layer: a clock that only moves when told, and ids
that come out the same on every run."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from deskcli.domain.ids import uuid7
from deskcli.paths import Paths
from deskcli.services.desk import Desk, open_desk

#: A Tuesday morning; every test that needs "now" starts here unless it says otherwise.
T0 = datetime(2026, 11, 24, 9, 0, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, start: datetime = T0) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current

    def advance(self, **kwargs: float) -> datetime:
        self.current += timedelta(**kwargs)
        return self.current


_IDS = itertools.count(1)


class SeqIds:
    """UUIDv7-shaped ids from a process-wide counter: unique even across several desks
    opened on one store in a test, ordered, and the same on every run."""

    def __init__(self, start_ms: int = 1_790_000_000_000,
                 counter: Iterator[int] | None = None) -> None:
        #: Pass a counter of its own (and a ``start_ms`` apart from other desks') when the
        #: ids show up in a snapshot, so they do not depend on which tests ran before.
        self._counter = _IDS if counter is None else counter
        self._ms = start_ms

    def __call__(self) -> str:
        n = next(self._counter)
        return uuid7(self._ms + n, n.to_bytes(10, "big"))


def paths_under(root: Path) -> Paths:
    return Paths(root / "data", root / "config")


def make_desk(root: Path, clock: FakeClock | None = None, actor: str = "dana") -> Desk:
    clock = clock or FakeClock()
    return open_desk(paths_under(root), now=clock.now, ids=SeqIds(), actor=actor)


def settle_steps(desk: Desk, ref: str, reason: str = "not part of what this test checks"
                 ) -> None:
    """Skip, with a reason, every step a close would otherwise refuse over (closing skips
    nothing silently), for tests whose subject is not the checklist. Decision steps cannot
    be skipped, so the scope decision is recorded as a Tier 1 fix when it is open."""
    from deskcli.domain import engine

    tickets = desk.tickets
    progress = tickets.detail(ref).progress
    if progress.of("scope_decision").state not in (engine.StepState.DONE,
                                                    engine.StepState.SKIPPED):
        tickets.complete_step(ref, "scope_decision", {"decision": "tier1", "reason": reason})
    for _ in range(len(progress.items)):
        left = engine.unfinished_before_close(tickets.detail(ref).progress)
        skippable = [i for i in left if i.step.action not in engine.UNSKIPPABLE_ACTIONS]
        if not skippable:
            return
        tickets.skip_step(ref, skippable[0].step.key, reason)
