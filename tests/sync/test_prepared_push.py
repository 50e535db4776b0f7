"""A push worked out before the feed's lock is taken (``feed.push``) must end exactly as if
it had held the lock throughout.

Each test pushes A and, at the moment A has been worked out but before it takes the lock
(its ``before_write`` hook), lets a whole push B commit: the interleaving a loaded server
produces by chance, made certain. Run on SQLite, and on PostgreSQL when
DESKCLI_TEST_POSTGRES_URL is set.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from deskcli.domain.intake import NewTicket
from deskcli.server import feed
from deskcli.server.auth import add_tech, authenticate
from helpers import FakeClock, make_desk

#: A day after the seeding desk's clock (helpers.T0): later stamps win.
NOW_MS = 1_795_564_800_000


def _tech(engine: Engine, handle: str) -> feed.Tech:
    with Session(engine) as session:
        token = add_tech(session, handle, name=handle, tier=1, clients=["Acme"], admin=False,
                         now_iso="2026-11-24T09:00:00Z").token
        session.commit()
        found = authenticate(session, token)
    assert found is not None
    return found


def _push(engine: Engine, tech: feed.Tech, store: str, ops: list[dict[str, Any]],
          before_write: Callable[[], None] = lambda: None) -> feed.PushResult:
    with Session(engine) as session:
        result = feed.push(session, tech, store, ops, now_iso="2026-11-24T09:00:00Z",
                           now_ms=NOW_MS, before_write=before_write)
        session.commit()
    return result


def _stamp(ms: int, node: str) -> str:
    return f"{ms:015d}-{0:06d}-{node}"


def _set(ticket: str, name: str, value: Any, stamp: str, base_seq: int) -> dict[str, Any]:
    return {"op_id": secrets.token_hex(8), "entity": "ticket", "entity_id": ticket,
            "kind": "set", "field": name, "value": value, "hlc": stamp, "base_seq": base_seq}


@pytest.fixture
def seeded(engine: Engine, tmp_path: Path) -> tuple[feed.Tech, feed.Tech, list[str], int]:
    """Ana's store has pushed two tickets of client Acme (its first push: locked); Ben's
    store has pushed one set on the first (bound to Ben). Returns both technicians, the
    ticket ids and the feed's sequence number."""
    ana, ben = _tech(engine, "ana"), _tech(engine, "ben")
    desk = make_desk(tmp_path / "ana", FakeClock(), actor="ana")
    tickets = [desk.tickets.create(NewTicket(summary=f"Printer {n}", client="Acme"))["id"]
               for n in (1, 2)]
    ops = [{"op_id": r["op_id"], "entity": r["entity"], "entity_id": r["entity_id"],
            "kind": r["kind"], "field": r["field"], "value": json.loads(r["value"]),
            "hlc": r["hlc"], "base_seq": r["base_seq"]}
           for r in desk.store.sync.pending_ops(1000)]
    desk.close()
    _push(engine, ana, "store-ana", ops)
    seq = _push(engine, ben, "store-ben",
                [_set(tickets[0], "impact", "one user", _stamp(NOW_MS, "store-ben"), 0)]
                ).server_seq
    return ana, ben, tickets, seq


def _feed(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT seq, op_id, entity_id, field, value, status FROM srv_op ORDER BY seq"))]


def _field(engine: Engine, ticket: str, name: str) -> tuple[Any, ...]:
    with engine.connect() as conn:
        return tuple(conn.execute(text(
            "SELECT value, hlc, origin FROM srv_field WHERE entity = 'ticket' AND "
            "entity_id = :t AND field = :f"), {"t": ticket, "f": name}).one())


def _counter(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(
            "SELECT value FROM srv_counter WHERE name = 'seq'")).scalar_one())


def _no_gaps(engine: Engine) -> None:
    seqs = [row[0] for row in _feed(engine)]
    assert seqs == list(range(1, len(seqs) + 1)) and seqs[-1] == _counter(engine)


def _locked_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = feed.push_locked

    def counted(*args: Any, **kwargs: Any) -> feed.PushResult:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(feed, "push_locked", counted)
    return calls


def test_a_push_between_on_other_records_keeps_the_prepared_work(
        engine: Engine, seeded: tuple[feed.Tech, feed.Tech, list[str], int],
        monkeypatch: pytest.MonkeyPatch) -> None:
    ana, ben, tickets, seq = seeded
    locked = _locked_calls(monkeypatch)
    mine = _set(tickets[1], "impact", "whole office", _stamp(NOW_MS + 5, "store-ana"), seq)
    theirs = _set(tickets[0], "impact", "two users", _stamp(NOW_MS + 9, "store-ben"), seq)
    result = _push(engine, ana, "store-ana", [mine],
                   before_write=lambda: _push(engine, ben, "store-ben", [theirs]))
    assert locked == []  # neither push needed the lock for its reads…
    assert result.accepted == [mine["op_id"]] and result.server_seq == seq + 2
    feed_rows = _feed(engine)
    # …and Ana's rows come after Ben's, numbered on from them: no gap, no overlap.
    assert [r[1] for r in feed_rows[-2:]] == [theirs["op_id"], mine["op_id"]]
    _no_gaps(engine)
    assert _field(engine, tickets[1], "impact")[0] == '"whole office"'


def test_a_push_between_on_the_same_field_redoes_the_work_under_the_lock(
        engine: Engine, seeded: tuple[feed.Tech, feed.Tech, list[str], int],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Ana prepared her change of the summary against the server's old value; Ben's change
    of it commits first, with a later stamp. Ana's push must see Ben's: his value wins, and
    hers is kept on the timeline as a conflict (free text), as if she had pushed second
    with the lock held throughout."""
    ana, ben, tickets, seq = seeded
    locked = _locked_calls(monkeypatch)
    mine = _set(tickets[0], "summary", "Printer jams", _stamp(NOW_MS + 5, "store-ana"), seq)
    theirs = _set(tickets[0], "summary", "Printer offline", _stamp(NOW_MS + 9, "store-ben"),
                  seq)
    result = _push(engine, ana, "store-ana", [mine],
                   before_write=lambda: _push(engine, ben, "store-ben", [theirs]))
    assert locked == [1]  # Ben's push was prepared; Ana's is redone under the lock
    assert result.accepted == [mine["op_id"]]
    _no_gaps(engine)
    value, stamp, origin = _field(engine, tickets[0], "summary")
    assert (json.loads(value), origin) == ("Printer offline", "store-ben")
    conflicts = [event for event in (json.loads(r[4]) for r in _feed(engine) if r[3] is None)
                 if str(event.get("summary", "")).startswith("Conflicting edits of summary")]
    assert len(conflicts) == 1 and "Printer jams" in conflicts[0]["detail"]


def test_the_same_ops_pushed_between_are_duplicates_not_doubles(
        engine: Engine, seeded: tuple[feed.Tech, feed.Tech, list[str], int]) -> None:
    """A retry of the same push arriving while the first is still on its way (a client
    that timed out): exactly one copy of each op, and both replies account for them."""
    ana, _ben, tickets, seq = seeded
    ops = [_set(tickets[1], "impact", "whole office", _stamp(NOW_MS + 5, "store-ana"), seq)]
    retry: list[feed.PushResult] = []
    result = _push(engine, ana, "store-ana", ops,
                   before_write=lambda: retry.append(_push(engine, ana, "store-ana", ops)))
    assert retry[0].accepted == [ops[0]["op_id"]]
    assert result.accepted == [] and result.duplicates == [ops[0]["op_id"]]
    assert [r[1] for r in _feed(engine)].count(ops[0]["op_id"]) == 1
    _no_gaps(engine)


def test_a_refused_push_is_confirmed_under_the_lock(
        engine: Engine, seeded: tuple[feed.Tech, feed.Tech, list[str], int],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A set on a ticket the server does not hold yet: refused only once the lock is
    held (it might have arrived meanwhile), and nothing is written."""
    ana, _ben, _tickets, seq = seeded
    locked = _locked_calls(monkeypatch)
    before = _feed(engine)
    with pytest.raises(feed.OpProblem) as refused:
        _push(engine, ana, "store-ana",
              [_set("no-such-ticket", "impact", "x", _stamp(NOW_MS + 5, "store-ana"), seq)])
    assert refused.value.status == 422 and locked == [1]
    assert _feed(engine) == before and _counter(engine) == seq
