"""Pushes written together (``server/group.py``) must end exactly as if each had been
written alone: every op once, sequence numbers in commit order with no gap, each push's
decisions still true when written, and a refused or failing push sinking no other.

The batches are made certain rather than left to chance: the first push to write waits,
inside its batch, until every other push has queued behind it. Run on SQLite, and on
PostgreSQL when DESKCLI_TEST_POSTGRES_URL is set (there with two ``GroupCommit``s on one
database, as two server processes).
"""

from __future__ import annotations

import json
import secrets
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from deskcli.domain.intake import NewTicket
from deskcli.server import feed, group
from helpers import FakeClock, make_desk

from .test_prepared_push import NOW_MS, _feed, _field, _no_gaps, _push, _set, _stamp, _tech

STORES = 8


def _new_id() -> str:
    return secrets.token_hex(16)


@pytest.fixture
def stores(engine: Engine, tmp_path: Path) -> tuple[list[feed.Tech], list[str], int]:
    """``STORES`` technicians, each with a store that has pushed once (its first push,
    which binds it: later pushes take the prepared path); ana's first push created one
    ticket per store. Returns the technicians, the tickets and the feed's position."""
    techs = [_tech(engine, f"t{n}") for n in range(STORES)]
    desk = make_desk(tmp_path / "seed", FakeClock(), actor="t0")
    tickets = [desk.tickets.create(NewTicket(summary=f"Printer {n}", client="Acme"))["id"]
               for n in range(STORES)]
    ops = [{"op_id": r["op_id"], "entity": r["entity"], "entity_id": r["entity_id"],
            "kind": r["kind"], "field": r["field"], "value": json.loads(r["value"]),
            "hlc": r["hlc"], "base_seq": r["base_seq"]}
           for r in desk.store.sync.pending_ops(1000)]
    desk.close()
    _push(engine, techs[0], "store-0", ops)
    seq = 0
    for n in range(1, STORES):
        seq = _push(engine, techs[n], f"store-{n}", [_set(
            tickets[n], "impact", "one user", _stamp(NOW_MS + n, f"store-{n}"), 0)]).server_seq
    return techs, tickets, seq


def _group_push(engine: Engine, commit: group.GroupCommit, tech: feed.Tech, store: str,
                ops: list[dict[str, Any]]) -> feed.PushResult:
    with Session(engine) as session:
        return commit.push(session, tech, store, ops, now_iso="2026-11-24T09:00:00Z",
                           now_ms=NOW_MS, new_id=_new_id)


def _all_at_once(engine: Engine, commits: list[group.GroupCommit],
                 pushes: list[tuple[feed.Tech, str, list[dict[str, Any]]]],
                 monkeypatch: pytest.MonkeyPatch) -> tuple[list[Any], list[int]]:
    """Run ``pushes`` in threads, one per push, spread over ``commits``; the first batch
    written waits until every other prepared push has queued. Returns each push's result
    (or the exception it raised) and the size of every batch written."""
    sizes: list[int] = []
    real = group.commit_batch
    queued = threading.Condition()
    waiting = [0]
    prepared = {id(c): 0 for c in commits}
    real_submit = group.GroupCommit._submit

    def submit(self: group.GroupCommit, entry: group.Entry) -> None:
        with queued:
            waiting[0] += 1
            prepared[id(self)] += 1
            queued.notify_all()
        real_submit(self, entry)

    def batch(session: Session, entries: list[group.Entry]) -> None:
        if not sizes:  # the first batch: let every prepared push queue first
            with queued:
                assert queued.wait_for(lambda: waiting[0] >= expected, timeout=120)
        sizes.append(len(entries))
        real(session, entries)

    expected = sum(1 for _tech, _store, ops in pushes
                   if not any(op["entity_id"] == "no-such-ticket" for op in ops))
    monkeypatch.setattr(group.GroupCommit, "_submit", submit)
    monkeypatch.setattr(group, "commit_batch", batch)
    results: list[Any] = [None] * len(pushes)
    start = threading.Barrier(len(pushes))

    def run(index: int) -> None:
        tech, store, ops = pushes[index]
        start.wait()
        try:
            results[index] = _group_push(engine, commits[index % len(commits)], tech,
                                         store, ops)
        except Exception as error:  # noqa: BLE001 - the test looks at it
            results[index] = error

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(pushes))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(thread.is_alive() for thread in threads)
    return results, sizes


def _commits(engine: Engine) -> list[group.GroupCommit]:
    if engine.dialect.name == "sqlite":  # one server process, one writer
        return [group.GroupCommit(threading.Lock())]
    return [group.GroupCommit(), group.GroupCommit()]  # two server processes


def test_pushes_arriving_together_are_written_together_once_each_without_gaps(
        engine: Engine, stores: tuple[list[feed.Tech], list[str], int],
        monkeypatch: pytest.MonkeyPatch) -> None:
    techs, tickets, seq = stores
    pushes = [(techs[n], f"store-{n}", [
        _set(tickets[n], "impact", f"whole floor {n}", _stamp(NOW_MS + 100 + n, f"store-{n}"),
             seq),
        _set(tickets[n], "summary", f"Printer {n} jams", _stamp(NOW_MS + 200 + n,
                                                               f"store-{n}"), seq)])
        for n in range(STORES)]
    commits = _commits(engine)
    results, sizes = _all_at_once(engine, commits, pushes, monkeypatch)
    assert max(sizes) > 1, "some pushes were written in one batch"
    for (_who, _store, ops), result in zip(pushes, results, strict=True):
        assert isinstance(result, feed.PushResult), result
        assert result.accepted == [op["op_id"] for op in ops] and not result.duplicates
    rows = _feed(engine)
    pushed = [op["op_id"] for _t, _s, ops in pushes for op in ops]
    assert sorted(r[1] for r in rows if r[1] in pushed) == sorted(pushed)  # once each
    _no_gaps(engine)
    by_op = {r[1]: r[0] for r in rows}
    for (_who, _store, ops), result in zip(pushes, results, strict=True):
        # A push's rows are consecutive, and its reply names its last one.
        mine = [by_op[op["op_id"]] for op in ops]
        assert mine == list(range(mine[0], mine[0] + len(ops)))
        assert result.server_seq == mine[-1]
    for n in range(STORES):
        assert json.loads(_field(engine, tickets[n], "summary")[0]) == f"Printer {n} jams"


def test_a_refused_or_failing_push_sinks_no_other(
        engine: Engine, stores: tuple[list[feed.Tech], list[str], int],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """One push is refused (a set on a ticket the server does not hold): only it fails.
    Another breaks the batch it is written in (a database error, injected): that batch
    is rolled back whole and each of its pushes is applied alone, so all of them land."""
    techs, tickets, seq = stores
    pushes = [(techs[n], f"store-{n}", [_set(
        tickets[n], "impact", f"floor {n}", _stamp(NOW_MS + 100 + n, f"store-{n}"), seq)])
        for n in range(STORES - 1)]
    refused = _set("no-such-ticket", "impact", "x", _stamp(NOW_MS + 300, "store-7"), seq)
    pushes.append((techs[STORES - 1], f"store-{STORES - 1}", [refused]))
    breaking = pushes[2][2][0]["op_id"]
    real_write = group._write

    def write(session: Session, writers: list[feed.FeedWriter]) -> list[feed.FeedWriter]:
        if any(row["op_id"] == breaking for w in writers for row in w.op_rows):
            real_write(session, writers)  # half written, then the database fails
            raise RuntimeError("the database failed mid-batch")
        return real_write(session, writers)

    monkeypatch.setattr(group, "_write", write)
    results, sizes = _all_at_once(engine, _commits(engine), pushes, monkeypatch)
    assert max(sizes) > 1
    assert isinstance(results[-1], feed.OpProblem) and results[-1].status == 422
    for (_who, _store, ops), result in zip(pushes[:-1], results[:-1], strict=True):
        assert isinstance(result, feed.PushResult), result
        assert result.accepted == [op["op_id"] for op in ops]
    rows = _feed(engine)
    assert [r[1] for r in rows].count(breaking) == 1
    assert refused["op_id"] not in [r[1] for r in rows]
    _no_gaps(engine)


def test_a_batch_keeps_no_push_whose_reads_another_changed(
        engine: Engine, stores: tuple[list[feed.Tech], list[str], int],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Two pushes of one batch change the same ticket's summary, worked out against the
    same old value: the second is applied alone after the batch, against the first's
    value, and records the conflict, as if the two had never met in a batch. A third
    push, prepared before a push on its ticket committed, is redone the same way."""
    techs, tickets, seq = stores
    first = _set(tickets[1], "summary", "Printer jams", _stamp(NOW_MS + 100, "store-1"), seq)
    second = _set(tickets[1], "summary", "Printer offline", _stamp(NOW_MS + 90, "store-2"),
                  seq)
    other = _set(tickets[3], "impact", "two users", _stamp(NOW_MS + 100, "store-3"), seq)
    commit = _commits(engine)[0]
    entries = []
    sessions = [Session(engine) for _ in range(3)]
    try:
        for session, (tech, store, op) in zip(sessions, [
                (techs[1], "store-1", first), (techs[2], "store-2", second),
                (techs[3], "store-3", other)], strict=True):
            prepared = feed.prepare(session, tech, store, [op], "2026-11-24T09:00:00Z",
                                    NOW_MS, _new_id,
                                    3_600_000)
            assert prepared is not None
            entries.append(group.Entry(*prepared))
        # Committed after the three were worked out, before their batch: on ticket 3.
        _push(engine, techs[4], "store-4", [_set(
            tickets[3], "impact", "the office", _stamp(NOW_MS + 200, "store-4"), seq)])
        with commit.writing():
            group.commit_batch(sessions[0], entries)
    finally:
        for session in sessions:
            session.close()
    assert [entry.written for entry in entries] == [True, False, False]
    _no_gaps(engine)
    for tech, store, op in [(techs[2], "store-2", second), (techs[3], "store-3", other)]:
        assert _group_push(engine, commit, tech, store, [op]).accepted == [op["op_id"]]
    _no_gaps(engine)
    value, _stamp_, origin = _field(engine, tickets[1], "summary")
    assert (json.loads(value), origin) == ("Printer jams", "store-1")
    conflicts = [json.loads(r[4]) for r in _feed(engine) if r[3] is None
                 and "Conflicting edits of summary" in r[4]]
    assert len(conflicts) == 1 and "Printer offline" in conflicts[0]["detail"]
    # Store 4's value has the later stamp: it stays, whichever was written first.
    assert json.loads(_field(engine, tickets[3], "impact")[0]) == "the office"
