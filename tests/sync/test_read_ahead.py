"""A prepared push reads everything it depends on in one statement (``FeedWriter.read_ahead``)
and the pull page reads the feed's counter with its rows (``feed.pull``). Both must load
exactly what the per-table reads they replace load, and the one statement must see one
snapshot of the database while other pushes commit. Run on SQLite, and on PostgreSQL when
DESKCLI_TEST_POSTGRES_URL is set.
"""

from __future__ import annotations

import json
import secrets
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from deskcli.domain.intake import NewTicket
from deskcli.server import feed
from deskcli.server import scope as scope_rules
from deskcli.server.auth import add_tech, authenticate
from deskcli.server.models import SrvOp
from deskcli.sync.protocol import ENTITY_TABLES
from helpers import FakeClock, make_desk

NOW_MS = 1_795_564_800_000
NOW_ISO = "2026-11-24T09:00:00Z"


def _tech(engine: Engine, handle: str) -> feed.Tech:
    with Session(engine) as session:
        token = add_tech(session, handle, name=handle, tier=1, clients=["Acme"], admin=False,
                         now_iso=NOW_ISO).token
        session.commit()
        found = authenticate(session, token)
    assert found is not None
    return found


def _push(engine: Engine, tech: feed.Tech, store: str,
          ops: list[dict[str, Any]]) -> feed.PushResult:
    with Session(engine) as session:
        result = feed.push(session, tech, store, ops, now_iso=NOW_ISO, now_ms=NOW_MS)
        session.commit()
    return result


def _outbox(desk: Any) -> list[dict[str, Any]]:
    """The desk's unsent ops as a push sends them; marked sent."""
    rows = desk.store.sync.pending_ops(1000)
    with desk.store.transaction():
        desk.store.sync.mark_acked([r["op_id"] for r in rows], 0)
    return [{"op_id": r["op_id"], "entity": r["entity"], "entity_id": r["entity_id"],
             "kind": r["kind"], "field": r["field"], "value": json.loads(r["value"]),
             "hlc": r["hlc"], "base_seq": r["base_seq"]} for r in rows]


def _stamp(ms: int) -> str:
    return f"{ms:015d}-{0:06d}-store-ana"


def _set(ticket: str, name: str, value: Any, ms: int) -> dict[str, Any]:
    return {"op_id": secrets.token_hex(8), "entity": "ticket", "entity_id": ticket,
            "kind": "set", "field": name, "value": value, "hlc": _stamp(ms), "base_seq": 0}


#: A technician, a push touching every kind of stored state, and the part of it that a
#: prepared push may decide alone.
Varied = tuple[feed.Tech, list[dict[str, Any]], list[dict[str, Any]]]


@pytest.fixture
def varied(engine: Engine, tmp_path: Path) -> Varied:
    """A feed with tickets, a caller, notes, numbers and a lease of Ana's store, and a
    next push touching all of it: sets on stored tickets (one moving client, one naming
    the caller), creates numbered from the lease (one with a number already taken), a
    note on a stored ticket, a note on an unknown ticket, ops already in the feed, and an
    op on a record nobody has."""
    ana = _tech(engine, "ana")
    desk = make_desk(tmp_path / "ana", FakeClock(), actor="ana")
    made = [desk.tickets.create(NewTicket(summary=f"Printer {n}", client="Acme",
                                          caller="Pat Doe" if n == 0 else None))
            for n in range(3)]
    caller = made[0]["caller_id"]
    assert caller
    tickets = [t["id"] for t in made]
    first = _outbox(desk)
    _push(engine, ana, "store-ana", first)
    desk.tickets.create(NewTicket(summary="Scanner", client="Acme"))
    later = _outbox(desk)
    with Session(engine) as session:
        start = feed.grant_lease(session, "store-ana", 10, NOW_ISO).start
        session.commit()
        taken = int(session.execute(text("SELECT min(number) FROM srv_number")).scalar_one())
    creates = [op for op in later if op["entity"] == "ticket" and op["kind"] == "create"]
    assert creates
    numbered = []
    for number in (start, start + 1, taken):
        op = json.loads(json.dumps(creates[0]))
        op["op_id"] = ("taken-" if number == taken else "lease-") + secrets.token_hex(8)
        op["entity_id"] = secrets.token_hex(8)
        op["value"].update(id=op["entity_id"], number=number)
        numbered.append(op)
    note = {"op_id": secrets.token_hex(8), "entity": "event", "entity_id": secrets.token_hex(8),
            "kind": "append", "field": None, "hlc": _stamp(NOW_MS + 3), "base_seq": None,
            "value": {"id": "", "ticket_id": tickets[0], "at": NOW_ISO, "actor": "ana",
                      "kind": "note", "summary": "Rebooted", "detail": None}}
    note["value"]["id"] = note["entity_id"]
    stray = {**note, "op_id": secrets.token_hex(8), "entity_id": secrets.token_hex(8),
             "value": {**note["value"], "ticket_id": "no-such-ticket"}}
    stray["value"]["id"] = stray["entity_id"]
    # What ``prepare`` may decide alone (no refusal, move or number from the server's
    # counter), then the rest.
    plain = [*numbered[:2], note, first[0], first[-1],
             _set(tickets[1], "impact", "whole office", NOW_MS + 5),
             _set(tickets[1], "caller_id", caller, NOW_MS + 8)]
    ops = [*plain, *later, numbered[2], stray,
           _set(tickets[2], "client_id", made[2]["client_id"], NOW_MS + 6),
           _set("no-such-ticket", "impact", "one user", NOW_MS + 7)]
    desk.close()
    return ana, ops, plain


def _old_reads(session: Session, writer: feed.FeedWriter,
               ops: list[dict[str, Any]]) -> set[str]:
    """What a prepared push read before ``read_ahead``: the counter and clock, the op ids
    already in the feed, then ``preload`` and ``scope.preload``, a query per table."""
    row = session.execute(text(
        "SELECT (SELECT value FROM srv_counter WHERE name = 'seq'), "
        "(SELECT value FROM srv_meta WHERE key = 'hlc')")).one()
    writer.prepared_at = int(row[0] or 0)
    seen = set(session.exec(select(SrvOp.op_id).where(
        col(SrvOp.op_id).in_([op["op_id"] for op in ops]))).all())
    writer.preload(ops)
    scope_rules.preload(writer, ops)
    return seen


def _loaded(writer: feed.FeedWriter) -> dict[str, Any]:
    return {"scopes": writer.scopes, "fields": writer.fields,
            "leases": sorted(writer.leases), "numbers": writer.taken_numbers,
            "prepared_at": writer.prepared_at}


def test_one_statement_loads_what_the_per_table_reads_load(
        engine: Engine, varied: Varied) -> None:
    ana, ops, _plain = varied
    with Session(engine) as session:
        ahead = feed.FeedWriter(session, ana, "store-ana", NOW_ISO, NOW_MS, secrets.token_hex)
        handle, seen = ahead.read_ahead(ops)
        scope_rules.preload(ahead, ops)  # what _work_out runs next: nothing left to read
        old = feed.FeedWriter(session, ana, "store-ana", NOW_ISO, NOW_MS, secrets.token_hex)
        old_seen = _old_reads(session, old, ops)
    assert handle == "ana"
    assert seen == old_seen and len(seen) == 2
    assert _loaded(ahead) == _loaded(old)
    assert ahead.leases and ahead.taken_numbers and ahead.fields and ahead.scopes
    assert ahead.looked_up >= old.looked_up
    # Every entity a record is stored under is one the statement asks for by key.
    with engine.connect() as conn:
        stored = {r[0] for r in conn.execute(text(
            "SELECT entity FROM srv_entity UNION SELECT entity FROM srv_field"))}
    assert stored and stored <= set(ENTITY_TABLES)


def test_a_store_not_yet_registered_reads_no_handle(
        engine: Engine, varied: Varied) -> None:
    ana, ops, _plain = varied
    with Session(engine) as session:
        writer = feed.FeedWriter(session, ana, "store-new", NOW_ISO, NOW_MS,
                                 secrets.token_hex)
        handle, _seen = writer.read_ahead(ops)
    assert handle is None and writer.leases == []


def test_the_pushes_worked_out_this_way_end_as_the_locked_ones_do(
        engine: Engine, varied: Varied) -> None:
    """The same push decided with the reads ahead (``prepare``) and under the lock
    (``push_locked``), each rolled back: the same answer and the same rows."""
    ana, _everything, ops = varied
    with Session(engine) as session:
        prepared = feed.prepare(session, ana, "store-ana", ops, NOW_ISO, NOW_MS,
                                lambda: "fixed-id", feed.hlc_mod.MAX_AHEAD_MS)
        assert prepared is not None
        writer, result = prepared
        session.rollback()
        locked = feed.push_locked(session, ana, "store-ana", ops, now_iso=NOW_ISO,
                                  now_ms=NOW_MS, new_id=lambda: "fixed-id")
        session.rollback()
    assert (result.accepted, result.duplicates) == (locked.accepted, locked.duplicates)
    assert len(result.duplicates) == 2 and result.accepted


def test_one_statement_sees_one_snapshot_while_pushes_commit(engine: Engine,
                                                              tmp_path: Path) -> None:
    """While four stores push as fast as they can, every read-ahead's counter and its
    answer about op ids agree: an op id is reported as in the feed exactly when its
    number is at or below the counter read with it. (Separate statements could see an
    op committed after the counter was read.)"""
    techs = [_tech(engine, f"tech{n}") for n in range(4)]
    desk = make_desk(tmp_path / "seed", FakeClock(), actor="tech0")
    ticket = desk.tickets.create(NewTicket(summary="Shared", client="Acme"))["id"]
    _push(engine, techs[0], "store-0", _outbox(desk))
    desk.close()
    for n, tech in enumerate(techs[1:], start=1):  # register each store (locked path)
        _push(engine, tech, f"store-{n}", [_set(ticket, "impact", f"by {n}", NOW_MS + n)])
    planned = [[_set(ticket, "impact", f"{n}-{k}", NOW_MS + 10 + k * 4 + n)
                for k in range(15)] for n in range(4)]
    every = [op for ops in planned for op in ops]
    done = threading.Event()
    problems: list[BaseException] = []

    def pusher(n: int) -> None:
        try:
            for op in planned[n]:
                result = _push(engine, techs[n], f"store-{n}", [op])
                assert result.accepted == [op["op_id"]]
        except BaseException as error:  # noqa: BLE001 - reported below
            problems.append(error)

    threads = [threading.Thread(target=pusher, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    checks = 0
    try:
        while any(thread.is_alive() for thread in threads) or checks < 3:
            with Session(engine) as session:
                writer = feed.FeedWriter(session, techs[0], "store-0", NOW_ISO, NOW_MS,
                                         secrets.token_hex)
                _handle, seen = writer.read_ahead(every)
                session.rollback()
            with engine.connect() as conn:
                numbered = dict(conn.execute(text(
                    "SELECT op_id, seq FROM srv_op WHERE seq > 0")).all())
            expected = {op["op_id"] for op in every
                        if numbered.get(op["op_id"], 2**40) <= (writer.prepared_at or 0)}
            assert seen == expected
            checks += 1
    finally:
        done.set()
        for thread in threads:
            thread.join()
    assert not problems, problems
    assert checks >= 3
    with engine.connect() as conn:
        seqs = [r[0] for r in conn.execute(text("SELECT seq FROM srv_op ORDER BY seq"))]
    assert seqs == list(range(1, len(seqs) + 1))


def test_a_page_carries_the_counter_read_with_it(
        engine: Engine, varied: Varied) -> None:
    ana, _ops, _plain = varied
    with engine.connect() as conn:
        counter = feed.current_seq(conn)
        rows, more, latest = feed.pull(conn, ana, 0, 2)
        assert latest == counter and more and len(rows) == 2
        assert [len(row) for row in rows] == [len(feed.PULLED)] * 2
        assert rows[0][0] < rows[1][0]
        # Past the end: no rows, and the counter still comes back.
        assert feed.pull(conn, ana, counter, 100) == ([], False, counter)
        # The same rows as the page query alone.
        query = scope_rules.visible_page(feed.PULLED, ana.is_admin, tuple(sorted(ana.scopes)))
        alone = [tuple(r) for r in conn.execute(query, {"since": 0, "limit": 2})]
    assert [tuple(r) for r in rows] == alone


def test_records_are_looked_up_by_key_not_by_scanning(tmp_path: Path) -> None:
    """Every read of ``srv_entity`` and ``srv_field`` a push makes, ahead of the lock or
    under it, uses the tables' keys: looked up by id alone, both tables were scanned on
    every push (28-35 ms at 200,000 records). SQLite's query plans, for every statement a
    locked and a prepared push run."""
    from sqlalchemy import event

    from deskcli.server.db import init_database, make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'server.db'}")
    init_database(engine)
    ana = _tech(engine, "ana")
    desk = make_desk(tmp_path / "ana", FakeClock(), actor="ana")
    ticket = desk.tickets.create(NewTicket(summary="Printer", client="Acme",
                                           caller="Pat Doe"))
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any,
               executemany: bool) -> None:
        if not executemany and statement.lstrip().upper().startswith(("SELECT", "WITH")):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    _push(engine, ana, "store-ana", _outbox(desk))  # a first push: the locked path
    locked = len(seen)
    _push(engine, ana, "store-ana", [_set(ticket["id"], "caller_id", ticket["caller_id"],
                                          NOW_MS + 5)])  # prepared ahead of the lock
    event.remove(engine, "before_cursor_execute", record)
    desk.close()
    assert 0 < locked < len(seen)
    plans = []
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        for statement, parameters in seen:
            if "srv_entity" in statement or "srv_field" in statement:
                plan = " / ".join(row[-1] for row in raw.execute(
                    "EXPLAIN QUERY PLAN " + statement, parameters).fetchall())
                plans.append(plan)
                assert "SCAN srv_entity" not in plan and "SCAN srv_field" not in plan, \
                    (statement, plan)
    assert len(plans) >= 3  # the locked path's reads and the read ahead


def test_every_kind_the_server_files_a_record_under_is_one_it_looks_up() -> None:
    """The push's reads ask ``srv_entity`` and ``srv_field`` for the protocol's entity
    kinds only (``scope.ENTITY_KINDS``, so they use the tables' keys). Ops' entities are
    checked against that list on arrival; the server's own records (conflict events,
    renumbering, corrections) are filed by the calls below, and a kind named there but
    not listed would be written and then never found again: its scope unread, its field
    versions lost. Every literal kind those calls name must be listed, and every other
    argument must be one of the expressions that carry an arriving op's checked kind."""
    import ast

    server = Path(feed.__file__).parent
    writers = {"_entity", "server_op", "_set_field"}
    carried = {"entity", "op['entity']", "target.entity"}
    found: list[str] = []
    for source in sorted(server.glob("*.py")):
        for node in ast.walk(ast.parse(source.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in writers and node.args):
                continue
            kind = node.args[0]
            where = f"{source.name}:{node.lineno}"
            if isinstance(kind, ast.Constant):
                assert kind.value in scope_rules.ENTITY_KINDS, where
                found.append(kind.value)
            else:
                assert ast.unparse(kind) in carried, (where, ast.unparse(kind))
    assert {"event", "ticket"} <= set(found)
    assert set(scope_rules.ENTITY_KINDS) == set(ENTITY_TABLES)


def test_a_registered_store_gets_no_other_clients_record_on_the_prepared_path(
        engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The hostile pushes of the scope tests come from stores that are not registered
    yet, so the locked path decides them; a registered store's push is decided from the
    one-statement read. From one, every op on Acme's records by a technician of another
    client is refused (never taken for a new record or a merge: the read must find what
    the server holds), nothing of Acme's changes, and only a replayed op id is a
    duplicate."""
    ana = _tech(engine, "ana")
    with Session(engine) as session:
        token = add_tech(session, "olga", name="olga", tier=1, clients=["Other"],
                         admin=False, now_iso=NOW_ISO).token
        session.commit()
        olga = authenticate(session, token)
    assert olga is not None
    acme = make_desk(tmp_path / "ana", FakeClock(), actor="ana")
    made = acme.tickets.create(NewTicket(summary="Acme printer", client="Acme",
                                         caller="Pat Doe"))
    acme.tickets.add_note(made["id"], "Acme's secret", internal=True)
    acme_ops = _outbox(acme)
    _push(engine, ana, "store-ana", acme_ops)
    other = make_desk(tmp_path / "olga", FakeClock(), actor="olga")
    mine = other.tickets.create(NewTicket(summary="Other printer", client="Other"))
    _push(engine, olga, "store-olga", _outbox(other))  # registers Olga's store
    other.close()
    by_kind = {(op["entity"], op["kind"]): op for op in acme_ops}
    ticket, caller = by_kind[("ticket", "create")], by_kind[("caller", "create")]
    note = by_kind[("note", "append")]

    def fresh(op: dict[str, Any], **value: Any) -> dict[str, Any]:
        copy = json.loads(json.dumps(op))
        copy["op_id"] = secrets.token_hex(8)
        copy["hlc"] = _stamp(NOW_MS + 50)
        if isinstance(copy["value"], dict):
            copy["value"].update(value)
        return copy

    hostile = {
        # Referring to nothing of Acme's: only the record's own id is Acme's.
        "create over Acme's ticket": fresh(ticket, summary="pwned", caller_id=None,
                                           client_id=mine["client_id"]),
        "create over Acme's caller": fresh(caller, name="Mallory",
                                           client_id=mine["client_id"]),
        "note on Acme's ticket": fresh(note, id="n-evil", body="hijack"),
        "set on Acme's ticket": _set(made["id"], "impact", "pwned", NOW_MS + 60),
        "Acme's caller on Olga's ticket": _set(mine["id"], "caller_id", made["caller_id"],
                                               NOW_MS + 70),
    }
    hostile["note on Acme's ticket"]["entity_id"] = "n-evil"
    with engine.connect() as conn:
        before = [tuple(r) for r in conn.execute(text(
            "SELECT entity, entity_id, field, value, seq FROM srv_field ORDER BY 1, 2, 3"))]
    for what, op in hostile.items():
        with Session(engine) as session:
            prepared = feed.prepare(session, olga, "store-olga", [op], NOW_ISO, NOW_MS,
                                    secrets.token_hex, feed.hlc_mod.MAX_AHEAD_MS)
            session.rollback()
            assert prepared is None, what  # refused: only the locked path may say so
            with pytest.raises(feed.OpProblem) as refused:
                feed.push(session, olga, "store-olga", [op], now_iso=NOW_ISO,
                          now_ms=NOW_MS)
            session.rollback()
        assert refused.value.status in (403, 422), what
    replay = json.loads(json.dumps(note))
    replay["value"]["body"] = "rewritten"
    with Session(engine) as session:
        prepared = feed.prepare(session, olga, "store-olga", [replay], NOW_ISO, NOW_MS,
                                secrets.token_hex, feed.hlc_mod.MAX_AHEAD_MS)
        session.rollback()
    assert prepared is not None and prepared[1].duplicates == [note["op_id"]]
    assert not prepared[0].op_rows
    with engine.connect() as conn:
        after = [tuple(r) for r in conn.execute(text(
            "SELECT entity, entity_id, field, value, seq FROM srv_field ORDER BY 1, 2, 3"))]
        body = conn.execute(text("SELECT value FROM srv_op WHERE op_id = :id"),
                            {"id": note["op_id"]}).scalar_one()
    assert after == before and "Acme's secret" in body
    acme.close()
