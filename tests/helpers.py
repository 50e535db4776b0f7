"""Test doubles shared by every test layer: a clock that only moves when told, and ids
that come out the same on every run."""

from __future__ import annotations

import atexit
import itertools
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

from deskcli.domain.ids import uuid7
from deskcli.paths import Paths
from deskcli.services.desk import Desk, open_desk
from deskcli.storage.store import Store

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
    """A desk on a store under ``root``; a new store starts as a copy of
    :func:`migrated_template` (see there)."""
    clock = clock or FakeClock()
    paths = paths_under(root)
    if not paths.database.exists():
        from deskcli.paths import private_dir

        private_dir(paths.database.parent)
        shutil.copyfile(migrated_template(), paths.database)
    return open_desk(paths, now=clock.now, ids=SeqIds(), actor=actor)


_TEMPLATE: list[Path] = []


def migrated_template() -> Path:
    """A store with every migration applied and nothing else, made once per process.

    Opening a new store runs each migration in a transaction of its own, each ending in an
    fsync: about 15 ms of CPU and 120 ms of waiting per desk, and tests open thousands. A
    copy of this file is the same schema; ``Store.open`` then gives it its own client id
    and creation time, as it does a new file. The migrations themselves are tested on new
    files in tests/storage (``Store.open`` directly, never through here).
    """
    if not _TEMPLATE:
        folder = Path(tempfile.mkdtemp(prefix="deskcli-template-"))
        atexit.register(shutil.rmtree, folder, True)
        paths = paths_under(folder / "made")
        desk = open_desk(paths, now=FakeClock().now, ids=SeqIds(counter=itertools.count(1)))
        desk.close()
        template = folder / "template.db"
        with closing(sqlite3.connect(paths.database, isolation_level=None)) as db:
            db.execute("DELETE FROM meta WHERE key IN ('client_id', 'created_at')")
            db.execute("VACUUM INTO ?", (str(template),))
        _TEMPLATE.append(template)
    return _TEMPLATE[0]


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


def ordered_text_in_step(db: sqlite3.Connection) -> None:
    """Assert the text index in the queue's order (migration 16) holds exactly each
    ticket with a code (``ordered_code``) under that code, with its lowered summary,
    and that the full-text index agrees with what it holds."""
    from deskcli.storage.migrations import ordered_code

    cursor = db.cursor()
    cursor.row_factory = None
    want = sorted(cursor.execute(
        f"SELECT code, lower(summary) FROM (SELECT {ordered_code('t')} AS code, t.summary "
        "FROM tickets t) WHERE code IS NOT NULL").fetchall())
    got = sorted(cursor.execute("SELECT rowid, text FROM ticket_text_ordered").fetchall())
    assert got == want
    cursor.execute("INSERT INTO ticket_text_ordered(ticket_text_ordered, rank) "
               "VALUES ('integrity-check', 1)")


def like_scan_ids(store: Store, search: str, statuses: list[str] | None = None) -> list[str]:
    """The tickets the queue's text search finds, by the ``LIKE`` scan it used before its
    text indexes (summary, caller's or client's name, or the number's start), in the
    queue's order: the reference the indexed searches are held to."""
    from deskcli.domain.enums import Status
    from deskcli.storage.queue import JOINS, Queue

    statuses = statuses or [s.value for s in Status]
    marks = ", ".join("?" for _ in statuses)
    cursor = store.db.cursor()
    cursor.row_factory = None
    rows = cursor.execute(
        f"SELECT t.id FROM tickets t {JOINS} WHERE t.status IN ({marks}) AND "
        "(t.summary LIKE ? OR c.name LIKE ? OR k.name LIKE ? "
        f"OR CAST(t.number AS TEXT) LIKE ?) ORDER BY {Queue.ORDER}",
        [*statuses, *[f"%{search}%"] * 3, f"{search.lstrip('#')}%"])
    return [str(row[0]) for row in rows]
