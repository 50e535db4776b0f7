"""Applying pushed ops to the server's change feed, and reading the feed back.

A push is applied in one transaction that first locks the sequence counter row, so
pushes from several server processes are serialised, sequence numbers are assigned in
commit order with no gaps a puller could skip, and a retried push finds its ops already
recorded (``op_id`` is unique) and applies nothing twice.

Every op is checked before any is applied. Ops for a customer the technician does not
work for, or naming an unknown field or ticket, fail the whole request (403/422) and name
the offending op ids, so the client can set exactly those aside for the technician and
send the rest: nothing is applied from a bad request, and no queue stalls behind one bad op.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, col, select

from deskcli.domain import hlc as hlc_mod
from deskcli.server.models import (
    SrvCounter,
    SrvEntity,
    SrvField,
    SrvLease,
    SrvMeta,
    SrvNumber,
    SrvOp,
)
from deskcli.storage import models as local_models
from deskcli.sync.protocol import (
    APPEND_ONLY,
    DERIVED_FIELDS,
    ENTITY_TABLES,
    FREE_TEXT_FIELDS,
    IMMUTABLE_FIELDS,
    MUTABLE,
)

SERVER_NODE = "server"


@dataclass(frozen=True)
class Tech:
    handle: str
    is_admin: bool
    scopes: frozenset[str]

    def may_see(self, scope: str) -> bool:
        return self.is_admin or scope == "" or scope in self.scopes


class OpProblem(Exception):
    """Some ops in a push cannot be applied; nothing from the request was."""

    def __init__(self, status: int, message: str, op_ids: Sequence[str]) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.op_ids = list(op_ids)


@dataclass
class PushResult:
    accepted: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    server_seq: int = 0


def _columns(entity: str) -> frozenset[str]:
    table = local_models.SQLModel.metadata.tables[ENTITY_TABLES[entity]]
    return frozenset(c.name for c in table.columns)


COLUMNS = {entity: _columns(entity) for entity in ENTITY_TABLES}


class FeedWriter:
    """One push, inside one transaction on ``session``."""

    def __init__(self, session: Session, tech: Tech, origin: str, now_iso: str,
                 now_ms: int, new_id: Callable[[], str]) -> None:
        self.s = session
        self.tech = tech
        self.origin = origin
        self.now_iso = now_iso
        self.now_ms = now_ms
        self.new_id = new_id
        self.seq = 0
        self.batch_scopes: dict[tuple[str, str], str] = {}
        self.server_hlc: hlc_mod.Hlc | None = None

    # --- locking and counters ----------------------------------------------------------

    def lock(self) -> None:
        """Take the feed's write lock before reading anything the push depends on."""
        self.s.execute(text("UPDATE srv_counter SET value = value WHERE name = 'seq'"))
        counter = self.s.get(SrvCounter, "seq")
        assert counter is not None
        self.seq = counter.value
        meta = self.s.get(SrvMeta, "hlc")
        self.server_hlc = hlc_mod.Hlc.decode(meta.value) if meta else None

    def _next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def _stamp(self) -> str:
        self.server_hlc = hlc_mod.tick(self.server_hlc, self.now_ms, SERVER_NODE)
        return self.server_hlc.encode()

    def _observe(self, stamp: str) -> None:
        try:
            remote = hlc_mod.Hlc.decode(stamp)
        except ValueError:
            return
        self.server_hlc = hlc_mod.receive(self.server_hlc, remote, self.now_ms, SERVER_NODE)

    def finish(self) -> None:
        counter = self.s.get(SrvCounter, "seq")
        assert counter is not None
        counter.value = self.seq
        self.s.add(counter)
        if self.server_hlc is not None:
            meta = self.s.get(SrvMeta, "hlc") or SrvMeta(key="hlc", value="")
            meta.value = self.server_hlc.encode()
            self.s.add(meta)

    # --- checking -------------------------------------------------------------------------

    def _known_scope(self, entity: str, entity_id: str) -> str | None:
        if (entity, entity_id) in self.batch_scopes:
            return self.batch_scopes[(entity, entity_id)]
        row = self.s.get(SrvEntity, (entity, entity_id))
        return None if row is None else row.scope

    def _scope_of(self, op: dict[str, Any]) -> str:
        """Which customer an op belongs to; raises ValueError naming what is wrong."""
        entity, kind, value = op["entity"], op["kind"], op["value"]
        if entity in MUTABLE and kind == "create":
            if not isinstance(value, dict) or value.get("id") != op["entity_id"]:
                raise ValueError("a create op's value must be the row, with the same id")
            unknown = set(value) - COLUMNS[entity]
            if unknown:
                raise ValueError(f"unknown {entity} field {sorted(unknown)[0]!r}")
            if entity == "client":
                return str(op["entity_id"])
            return str(value.get("client_id") or "")
        if entity in MUTABLE and kind == "set":
            name = op.get("field")
            if not name or name not in COLUMNS[entity]:
                raise ValueError(f"unknown {entity} field {name!r}")
            if name in IMMUTABLE_FIELDS or name in DERIVED_FIELDS:
                raise ValueError(f"{entity} field {name!r} cannot be changed")
            scope = self._known_scope(entity, op["entity_id"])
            if scope is None:
                raise ValueError(f"no {entity} {op['entity_id']} on the server")
            return scope
        if entity in APPEND_ONLY and kind == "append":
            if not isinstance(value, dict) or value.get("id") != op["entity_id"]:
                raise ValueError("an append op's value must be the row, with the same id")
            unknown = set(value) - COLUMNS[entity] - {"content_b64"}
            if unknown:
                raise ValueError(f"unknown {entity} field {sorted(unknown)[0]!r}")
            ticket = value.get("ticket_id")
            scope = self._known_scope("ticket", str(ticket))
            if scope is None:
                raise ValueError(f"no ticket {ticket} on the server")
            return scope
        raise ValueError(f"op kind {kind!r} does not apply to {entity}")

    def check(self, ops: Sequence[dict[str, Any]], fresh: set[str]) -> None:
        invalid: list[str] = []
        forbidden: list[str] = []
        first_problem = ""
        for op in ops:
            if op["op_id"] not in fresh:
                continue
            try:
                scope = self._scope_of(op)
            except ValueError as error:
                invalid.append(op["op_id"])
                first_problem = first_problem or str(error)
                continue
            new_scope = scope
            if op["kind"] == "set" and op["entity"] == "ticket" and op["field"] == "client_id":
                new_scope = str(op["value"] or "")
            if not (self.tech.may_see(scope) and self.tech.may_see(new_scope)):
                forbidden.append(op["op_id"])
                continue
            if op["kind"] == "create" or (op["kind"] == "set" and new_scope != scope):
                self.batch_scopes[(op["entity"], op["entity_id"])] = new_scope
            elif op["kind"] == "append":
                self.batch_scopes[(op["entity"], op["entity_id"])] = scope
        if forbidden:
            raise OpProblem(403, f"{len(forbidden)} change(s) concern a client that technician "
                            f"{self.tech.handle} does not work for; nothing was applied",
                            forbidden)
        if invalid:
            raise OpProblem(422, f"{len(invalid)} change(s) cannot be applied "
                            f"({first_problem}); nothing was applied", invalid)

    # --- applying ------------------------------------------------------------------------

    def _record(self, op: dict[str, Any], scope: str, *, origin: str | None = None,
                tech: str | None = None) -> int:
        seq = self._next_seq()
        value = op["value"]
        self.s.add(SrvOp(
            seq=seq, op_id=op["op_id"], origin=origin or self.origin,
            tech=tech or self.tech.handle, entity=op["entity"], entity_id=op["entity_id"],
            kind=op["kind"], field=op.get("field"),
            value=json.dumps(value, ensure_ascii=False, sort_keys=True), hlc=op["hlc"],
            base_seq=op.get("base_seq"), scope=scope, received_at=self.now_iso))
        return seq

    def _server_op(self, entity: str, entity_id: str, kind: str, field_name: str | None,
                   value: Any, scope: str) -> tuple[int, str]:
        stamp = self._stamp()
        op = {"op_id": self.new_id(), "entity": entity, "entity_id": entity_id,
              "kind": kind, "field": field_name, "value": value, "hlc": stamp}
        seq = self._record(op, scope, origin=SERVER_NODE, tech=SERVER_NODE)
        if kind == "set" and field_name:
            self._set_field(entity, entity_id, field_name, value, stamp, seq, SERVER_NODE,
                            SERVER_NODE)
        return seq, stamp

    def _set_field(self, entity: str, entity_id: str, name: str, value: Any, stamp: str,
                   seq: int, origin: str, tech: str) -> None:
        row = self.s.get(SrvField, (entity, entity_id, name))
        encoded = json.dumps(value, ensure_ascii=False, sort_keys=True)
        if row is None:
            row = SrvField(entity=entity, entity_id=entity_id, field=name, value=encoded,
                           hlc=stamp, seq=seq, origin=origin, tech=tech)
        else:
            row.value, row.hlc, row.seq, row.origin, row.tech = encoded, stamp, seq, origin, tech
        self.s.add(row)

    def _current(self, entity: str, entity_id: str, name: str) -> SrvField | None:
        """A detached copy of the field's version (else the row's creation version).

        A copy, because the caller may overwrite the live row before it is done reading.
        """
        own = self.s.get(SrvField, (entity, entity_id, name))
        if own is not None:
            return SrvField(entity=entity, entity_id=entity_id, field=name, value=own.value,
                            hlc=own.hlc, seq=own.seq, origin=own.origin, tech=own.tech)
        whole = self.s.get(SrvField, (entity, entity_id, "*"))
        if whole is None:
            return None
        values = json.loads(whole.value)
        return SrvField(entity=entity, entity_id=entity_id, field=name,
                        value=json.dumps(values.get(name)), hlc=whole.hlc, seq=whole.seq,
                        origin=whole.origin, tech=whole.tech)

    def _number_ticket(self, op: dict[str, Any]) -> int | None:
        """Keep a number the client took from its own lease; otherwise assign one."""
        value = op["value"]
        number = value.get("number")
        if isinstance(number, int):
            lease = self.s.exec(select(SrvLease).where(
                SrvLease.client_id == self.origin, SrvLease.start <= number,
                col(SrvLease.end) > number)).first()
            if lease is not None and self.s.get(SrvNumber, number) is None:
                self.s.add(SrvNumber(number=number, ticket_id=op["entity_id"]))
                return None
        counter = self.s.get(SrvCounter, "number")
        assert counter is not None
        assigned = counter.value
        counter.value += 1
        self.s.add(counter)
        self.s.add(SrvNumber(number=assigned, ticket_id=op["entity_id"]))
        return assigned

    def apply(self, op: dict[str, Any]) -> None:
        self._observe(op["hlc"])
        entity, entity_id, kind = op["entity"], op["entity_id"], op["kind"]
        scope = self.batch_scopes.get((entity, entity_id))
        if scope is None:
            scope = self._known_scope(entity, entity_id) or ""
        if kind == "create":
            renumbered = self._number_ticket(op) if entity == "ticket" else None
            if renumbered is not None:
                op = {**op, "value": {**op["value"], "number": renumbered, "provisional": None}}
            seq = self._record(op, scope)
            if self.s.get(SrvEntity, (entity, entity_id)) is None:
                self.s.add(SrvEntity(entity=entity, entity_id=entity_id, scope=scope))
                self._set_field(entity, entity_id, "*", op["value"], op["hlc"], seq,
                                self.origin, self.tech.handle)
            else:  # the same row created twice (two offline machines added one client)
                for name, value in op["value"].items():
                    if name != "id":
                        self._apply_set({**op, "kind": "set", "field": name, "value": value},
                                        seq, scope)
            if renumbered is not None:
                # The creating machine skips its own create when it pulls, so tell it.
                self._server_op("ticket", entity_id, "set", "number", renumbered, scope)
                self._server_op("ticket", entity_id, "set", "provisional", None, scope)
                was = op["value"].get("provisional") or op["value"].get("number")
                note = {"id": self.new_id(), "ticket_id": entity_id, "at": self.now_iso,
                        "actor": "sync", "kind": "renumbered",
                        "summary": f"Numbered #{renumbered} by the team server"
                                   + (f" (was {was})" if was else ""),
                        "detail": json.dumps({"number": renumbered, "was": was})}
                self._server_op("event", note["id"], "append", None, note, scope)
                self.s.merge(SrvEntity(entity="event", entity_id=note["id"], scope=scope,
                                       ticket_id=entity_id))
            return
        if kind == "append":
            value = op["value"]
            self._record(op, scope)
            self.s.merge(SrvEntity(entity=entity, entity_id=entity_id, scope=scope,
                                   ticket_id=value.get("ticket_id")))
            return
        seq = self._record(op, scope)
        self._apply_set(op, seq, scope)
        if entity == "ticket" and op["field"] == "client_id":
            row = self.s.get(SrvEntity, ("ticket", entity_id))
            if row is not None:
                row.scope = str(op["value"] or "")
                self.s.add(row)

    def _apply_set(self, op: dict[str, Any], seq: int, scope: str) -> None:
        entity, entity_id, name = op["entity"], op["entity_id"], op["field"]
        previous = self._current(entity, entity_id, name)
        wins = previous is None or op["hlc"] > previous.hlc
        concurrent = (previous is not None and previous.origin not in (self.origin, SERVER_NODE)
                      and (op.get("base_seq") or 0) < previous.seq
                      and json.loads(previous.value) != op["value"])
        if wins:
            self._set_field(entity, entity_id, name, op["value"], op["hlc"], seq, self.origin,
                            self.tech.handle)
        if concurrent and entity == "ticket" and previous is not None:
            self._record_conflict(entity_id, name, op, previous, wins, scope)

    def _record_conflict(self, ticket_id: str, name: str, op: dict[str, Any],
                         previous: SrvField, op_won: bool, scope: str) -> None:
        """Last writer wins, but the other value goes on the timeline, never lost."""
        mine, theirs = op["value"], json.loads(previous.value)
        kept, lost = (mine, theirs) if op_won else (theirs, mine)
        kept_by, lost_by = ((self.tech.handle, previous.tech) if op_won
                            else (previous.tech, self.tech.handle))
        label = name.replace("_", " ")
        free_text = name in FREE_TEXT_FIELDS
        summary = (f"Conflicting edits of {label}: kept {kept_by}'s version; "
                   f"{lost_by}'s version is below" if free_text else
                   f"Conflicting edits of {label}: {kept!r} by {kept_by} won over "
                   f"{lost!r} by {lost_by}")
        event = {"id": self.new_id(), "ticket_id": ticket_id, "at": self.now_iso,
                 "actor": "sync", "kind": "conflict", "summary": summary,
                 "detail": json.dumps({"field": name, "kept": kept, "kept_by": kept_by,
                                       "lost": lost, "lost_by": lost_by},
                                      ensure_ascii=False, sort_keys=True)}
        self._server_op("event", event["id"], "append", None, event, scope)
        self.s.merge(SrvEntity(entity="event", entity_id=event["id"], scope=scope,
                               ticket_id=ticket_id))
        if free_text:
            self._server_op("ticket", ticket_id, "set", "flagged",
                            f"two versions of the {label}: settle it from the timeline", scope)


def push(session: Session, tech: Tech, origin: str, ops: Sequence[dict[str, Any]], *,
         now_iso: str, now_ms: int, new_id: Callable[[], str] | None = None) -> PushResult:
    writer = FeedWriter(session, tech, origin, now_iso, now_ms,
                        new_id or (lambda: secrets.token_hex(16)))
    writer.lock()
    ids = [op["op_id"] for op in ops]
    seen = set(session.exec(select(SrvOp.op_id).where(col(SrvOp.op_id).in_(ids))).all())
    fresh: set[str] = set()
    result = PushResult()
    for op_id in ids:
        if op_id in seen or op_id in fresh:
            result.duplicates.append(op_id)
        else:
            fresh.add(op_id)
    writer.check(ops, fresh)
    applied: set[str] = set()
    for op in ops:
        if op["op_id"] in fresh and op["op_id"] not in applied:
            writer.apply(op)
            applied.add(op["op_id"])
            result.accepted.append(op["op_id"])
    writer.finish()
    result.server_seq = writer.seq
    return result


def pull(session: Session, tech: Tech, since: int, limit: int) -> tuple[list[SrvOp], bool]:
    query = select(SrvOp).where(SrvOp.seq > since)
    if not tech.is_admin:
        query = query.where(col(SrvOp.scope).in_(sorted(tech.scopes | {""})))
    rows = list(session.exec(query.order_by(col(SrvOp.seq)).limit(limit + 1)).all())
    return rows[:limit], len(rows) > limit


def current_seq(session: Session) -> int:
    counter = session.get(SrvCounter, "seq")
    return counter.value if counter else 0


def grant_lease(session: Session, client_id: str, size: int, now_iso: str) -> SrvLease:
    session.execute(text("UPDATE srv_counter SET value = value WHERE name = 'number'"))
    counter = session.get(SrvCounter, "number")
    assert counter is not None
    lease = SrvLease(start=counter.value, end=counter.value + size, client_id=client_id,
                     granted_at=now_iso)
    counter.value += size
    session.add(counter)
    session.add(lease)
    return lease
