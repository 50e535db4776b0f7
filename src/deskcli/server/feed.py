"""Applying pushed ops to the server's change feed, and reading the feed back.

A push is applied in one transaction that locks the sequence counter row before it writes,
so pushes from several server processes are serialised, sequence numbers are assigned in
commit order with no gaps a puller could skip, and a retried push finds its ops already
recorded (``op_id`` is unique) and applies nothing twice.

The lock is held only for the writing. A push is first worked out without it (``prepare``:
every read, check and merge decision, with sequence numbers counted from 0), against the
feed as it stood at a known sequence number. Then one statement locks the counter and
reserves the push's numbers (``UPDATE ... RETURNING``); if any push committed in between
touched a record, op id or scope this one read, the work is thrown away and done again
the old way, the lock taken first (``push_locked``). Otherwise the numbers are shifted into
place and the rows written in one statement per table. What a push decides never rests on
a read that another push changed, and the counter's lock, which every push waits for, is
held for a handful of statements instead of the whole push. The server writes the
prepared pushes that arrive together in one transaction (``server/group.py``), with the
same check between each of them.

Every op is checked before any is applied. Ops for a customer the technician does not
work for, or naming an unknown field or ticket, fail the whole request (403/422) and name
the offending op ids, so the client can set exactly those aside for the technician and
send the rest: nothing is applied from a bad request, and no queue stalls behind one bad op.
"""

from __future__ import annotations

import functools
import json
import secrets
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, insert, text
from sqlalchemy import select as sa_select
from sqlalchemy.sql.expression import Executable
from sqlmodel import Session, SQLModel, col, select

from deskcli.domain import hlc as hlc_mod
from deskcli.server import scope as scope_rules
from deskcli.server.local_tables import LOCAL_METADATA
from deskcli.server.models import (
    SrvCounter,
    SrvEntity,
    SrvField,
    SrvLease,
    SrvMeta,
    SrvNumber,
    SrvOp,
)
from deskcli.sync.protocol import (
    APPEND_ONLY,
    DERIVED_FIELDS,
    ENTITY_TABLES,
    FREE_TEXT_FIELDS,
    IMMUTABLE_FIELDS,
    MUTABLE,
    SERVER_ORIGIN,
)

SERVER_NODE = SERVER_ORIGIN
ENTITY_KINDS = scope_rules.ENTITY_KINDS
#: Entities whose own ``client_id`` decides who may see them (no client: everyone).
SCOPED_BY_CLIENT = frozenset({"ticket", "kb_article"})


def _parent_of(entity: str, value: Any) -> tuple[str, str]:
    """The record an appended row belongs to, whose scope it takes: an article's version
    belongs to the article; everything else (a KB link included) to its ticket."""
    if entity == "kb_version":
        return "kb_article", str(value.get("article_id"))
    return "ticket", str(value.get("ticket_id"))


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
    table = LOCAL_METADATA.tables[ENTITY_TABLES[entity]]
    return frozenset(c.name for c in table.columns)


COLUMNS = {entity: _columns(entity) for entity in ENTITY_TABLES}


@dataclass
class FieldVersion:
    """One field's current value (JSON) and the stamp, feed position and author of the op
    that set it; ``"*"`` as the field name holds the create that made the whole row."""

    value: str
    hlc: str
    seq: int
    origin: str
    tech: str


def _chunks(items: Sequence[Any], size: int = 500) -> Iterator[Sequence[Any]]:
    for index in range(0, len(items), size):
        yield items[index:index + size]


class FeedWriter:
    """One push, inside one transaction on ``session``.

    Everything a batch touches (entity scopes, field versions, leases, numbers) is read in
    a few ``IN (...)`` queries up front and written back in bulk at the end: per-op round
    trips through the ORM would make a push of 10,000 ops many times slower.
    """

    def __init__(self, session: Session, tech: Tech, origin: str, now_iso: str,
                 now_ms: int, new_id: Callable[[], str],
                 max_ahead_ms: int = hlc_mod.MAX_AHEAD_MS) -> None:
        self.s = session
        self.max_ahead_ms = max_ahead_ms
        self.tech = tech
        self.origin = origin
        self.now_iso = now_iso
        self.now_ms = now_ms
        self.new_id = new_id
        self.seq = 0
        self.server_hlc: hlc_mod.Hlc | None = None
        self.scopes: dict[tuple[str, str], str] = {}
        self.new_entities: dict[tuple[str, str], dict[str, Any]] = {}
        self.fields: dict[tuple[str, str, str], FieldVersion] = {}
        self.dirty_fields: set[tuple[str, str, str]] = set()
        self.op_rows: list[dict[str, Any]] = []
        #: The op ids of the request, duplicates included.
        self.pushed_op_ids: set[str] = set()
        #: The pushing store's leases, as (start, end): numbers start <= n < end.
        self.leases: list[tuple[int, int]] = []
        self.taken_numbers: set[int] = set()
        self.new_numbers: list[dict[str, Any]] = []
        self.next_number: int | None = None
        self.rules = scope_rules.ScopeState()
        #: Every record id this push read the server's state of (scopes, field versions):
        #: a prepared push is redone under the lock if another push changed one of them.
        self.looked_up: set[str] = set()
        #: Record ids whose scopes were looked for (found or not) by ``read_ahead``.
        self.scopes_read: set[str] = set()
        #: Whether ``read_ahead`` has loaded what ``preload`` would.
        self.preloaded = False
        #: The feed's sequence number the push was prepared against (``read_ahead``), and
        #: whether the counter was already moved for it (``reserve``).
        self.prepared_at: int | None = None
        #: Where a prepared push's rows are numbered from (``shift``): 0 until reserved.
        self.base = 0
        self.counter_written = False
        #: Every row already written (PostgreSQL's one-statement write of a prepared push).
        self.written = False

    # --- locking, preloading and counters --------------------------------------------

    def lock(self) -> None:
        """Take the feed's write lock before reading anything the push depends on."""
        self.s.execute(text("UPDATE srv_counter SET value = value WHERE name = 'seq'"))
        counter = self.s.get(SrvCounter, "seq")
        assert counter is not None
        self.seq = counter.value
        meta = self.s.get(SrvMeta, "hlc")
        # A clock pushed far ahead by a stamp from before stamps were bounded restarts.
        self.server_hlc = hlc_mod.bounded(hlc_mod.Hlc.decode(meta.value) if meta else None,
                                          self.now_ms, self.max_ahead_ms)

    def read_ahead(self, ops: Sequence[dict[str, Any]]) -> tuple[str | None, set[str]]:
        """Everything a prepared push depends on, in one statement (one round trip, one
        snapshot of the database): the counter (the point the push is prepared against;
        sequence numbers then count from 0 until ``reserve``) and the clock, which of the
        op ids the feed holds already, and what ``preload`` and ``scope.preload`` read
        (scopes, field versions, the store's leases, taken ticket numbers), for every op
        of the push.
        Returns the handle the store is registered to (None: not yet) and the op ids
        already in the feed. Under load each round trip waited for a core: the separate
        queries were most of a small push's time on PostgreSQL."""
        ids, field_ids, numbers = _wanted(ops)
        for op in ops:
            ids |= scope_rules.value_ids(op)
        self.looked_up |= ids | field_ids
        self.scopes_read = ids
        postgres = self.s.get_bind().dialect.name == "postgresql"

        def listed(values: Any) -> Any:
            return list(values) if postgres else json.dumps(list(values))

        rows = self.s.execute(_read_ahead_statement(postgres), {
            "store": self.origin, "kinds": listed(ENTITY_KINDS),
            "op_ids": listed(sorted({op["op_id"] for op in ops})),
            "ids": listed(sorted(ids)), "field_ids": listed(sorted(field_ids)),
            "numbers": listed(sorted({int(n) for n in numbers}))}).all()
        handle: str | None = None
        seen: set[str] = set()
        for tag, a, b, c, d, e, f, g, n, m in rows:
            if tag == "F":
                self.fields[(a, b, c)] = FieldVersion(d, e, int(n), f, g)
            elif tag == "E":
                self.scopes[(a, b)] = c
            elif tag == "O":
                seen.add(a)
            elif tag == "N":
                self.taken_numbers.add(int(n))
            elif tag == "L":
                self.leases.append((int(n), int(m)))
            else:  # "S", exactly one row
                self.prepared_at = int(n or 0)
                self.server_hlc = hlc_mod.bounded(hlc_mod.Hlc.decode(a) if a else None,
                                                  self.now_ms, self.max_ahead_ms)
                handle = None if b is None else str(b)
        self.seq = 0
        self.preloaded = True
        return handle, seen

    def reserve(self) -> bool:
        """Lock the counter and take this prepared push's sequence numbers in one
        statement; shift the push's rows onto them. False (the caller rolls back, which
        undoes anything written) if a push committed since ``read_ahead`` touched what this
        one read. On PostgreSQL the check and every write of the push are then one more
        statement (``write_all_postgres``): the lock is held for two round trips and the
        commit, however loaded the machine."""
        assert self.prepared_at is not None
        count = len(self.op_rows)
        top = int(self.s.execute(text(
            "UPDATE srv_counter SET value = value + :n WHERE name = 'seq' RETURNING value"),
            {"n": count}).scalar_one())
        base = top - count
        postgres = self.s.get_bind().dialect.name == "postgresql"
        if not postgres and base != self.prepared_at \
                and self.touches(self.between(self.prepared_at, base)):
            return False
        self.shift(base)
        self.counter_written = True
        if postgres:
            if self.touches(self.write_all_postgres(self.prepared_at, base)):
                return False
            self.written = True
        return True

    def shift(self, base: int) -> None:
        """Number this prepared push's rows (counted from 1 when prepared) on from
        ``base``; called again, it moves them from where the last call put them."""
        delta, self.base = base - self.base, base
        for row in self.op_rows:
            row["seq"] += delta
        for key in self.dirty_fields:  # set by this push: numbered from 0 until now
            version = self.fields[key]
            self.fields[key] = FieldVersion(version.value, version.hlc, version.seq + delta,
                                            version.origin, version.tech)
        self.seq = base + len(self.op_rows)

    #: Rows committed between a push's snapshot and its lock that are checked one by one;
    #: more than this and the push is simply redone under the lock.
    BETWEEN_LIMIT = 2000

    def between(self, after: int, upto: int) -> Sequence[Any]:
        """The feed rows in (after, upto] (at most ``BETWEEN_LIMIT`` + 1 of them), as
        ``(seq, entity, entity_id, op_id, scope)``."""
        return self.s.execute(text(
            "SELECT seq, entity, entity_id, op_id, scope FROM srv_op WHERE seq > :after "
            "AND seq <= :upto LIMIT :limit"),
            {"after": after, "upto": upto, "limit": self.BETWEEN_LIMIT + 1}).all()

    def touches(self, rows: Sequence[Any]) -> bool:
        """Whether feed rows ``(seq, entity, entity_id, op_id, scope)`` that other pushes
        wrote after this push's snapshot concern what it read or wrote: one of its
        records, one of its op ids, a scope change, or a retraction. Rows at or before the
        snapshot were read already and are skipped."""
        if len(rows) > self.BETWEEN_LIMIT:
            return True
        after = self.prepared_at or 0
        op_ids = {row["op_id"] for row in self.op_rows} | self.pushed_op_ids
        return any(seq > after and (entity_id in self.looked_up or op_id in op_ids
                                    or scope == scope_rules.NOBODY or entity == "op")
                   for seq, entity, entity_id, op_id, scope in rows)

    def write_all_postgres(self, after: int, base: int) -> Sequence[Any]:
        """Every row of the push (feed, records, field versions, numbers, the clock) in
        one statement of data-modifying CTEs fed by arrays, returning the feed rows other
        pushes committed between the snapshot and the lock (``between``): a statement
        started after the lock was granted sees every one of them, and none of its own
        rows."""
        ops, entities = self.op_rows, list(self.new_entities.values())
        fields = [(k, self.fields[k]) for k in sorted(self.dirty_fields)]
        params: dict[str, Any] = {
            "after": after, "upto": base, "limit": self.BETWEEN_LIMIT + 1,
            "clock": self.server_hlc.encode() if self.server_hlc else None,
            "ceiling": f"{self.now_ms + self.max_ahead_ms + 1:015d}",
            **{f"o_{c}": [r[c] if c != "field" else r.get("field") for r in ops]
               for c in _OP_COLUMNS},
            **{f"e_{c}": [r[c] for r in entities] for c in ("entity", "entity_id", "scope",
                                                           "ticket_id")},
            "f_entity": [k[0] for k, _ in fields], "f_entity_id": [k[1] for k, _ in fields],
            "f_field": [k[2] for k, _ in fields], "f_value": [v.value for _, v in fields],
            "f_hlc": [v.hlc for _, v in fields], "f_seq": [v.seq for _, v in fields],
            "f_origin": [v.origin for _, v in fields], "f_tech": [v.tech for _, v in fields],
            "n_number": [r["number"] for r in self.new_numbers],
            "n_ticket_id": [r["ticket_id"] for r in self.new_numbers],
        }
        return self.s.execute(_WRITE_ALL_POSTGRES, params).all()

    def preload(self, ops: Sequence[dict[str, Any]]) -> None:
        """Load the scopes, field versions, leases and taken numbers the ops depend on, a
        query per table (the locked path; a prepared push reads them with everything else
        in one statement, ``read_ahead``)."""
        if self.preloaded:
            return
        ids, field_ids, numbers = _wanted(ops)
        self.looked_up |= ids | field_ids
        # Plain rows, not ORM objects: building an object per row cost more than the read.
        entities = SrvEntity.__table__  # type: ignore[attr-defined]
        fields = SrvField.__table__  # type: ignore[attr-defined]
        for chunk in _chunks(sorted(ids)):
            for entity, entity_id, scope in self.s.execute(
                    sa_select(entities.c.entity, entities.c.entity_id, entities.c.scope)
                    .where(entities.c.entity.in_(ENTITY_KINDS),
                           entities.c.entity_id.in_(chunk))):
                self.scopes[(entity, entity_id)] = scope
        for chunk in _chunks(sorted(field_ids)):
            for entity, entity_id, name, *version in self.s.execute(
                    sa_select(fields.c.entity, fields.c.entity_id, fields.c.field,
                              fields.c.value, fields.c.hlc, fields.c.seq, fields.c.origin,
                              fields.c.tech).where(fields.c.entity.in_(ENTITY_KINDS),
                                                   fields.c.entity_id.in_(chunk))):
                self.fields[(entity, entity_id, name)] = FieldVersion(*version)
        self.leases = [(lease.start, lease.end) for lease in self.s.exec(select(SrvLease).where(
            SrvLease.client_id == self.origin)).all()]
        for chunk in _chunks(numbers):
            self.taken_numbers.update(self.s.exec(select(SrvNumber.number).where(
                col(SrvNumber.number).in_(chunk))).all())

    def _next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def next_stamp(self) -> str:
        """A fresh server HLC stamp, later than every stamp this push has seen."""
        self.server_hlc = hlc_mod.tick(self.server_hlc, self.now_ms, SERVER_NODE)
        return self.server_hlc.encode()

    def _observe(self, stamp: str) -> None:
        try:
            remote = hlc_mod.parse(stamp)
        except ValueError:
            return
        self.server_hlc = hlc_mod.receive(self.server_hlc, remote, self.now_ms, SERVER_NODE,
                                          self.max_ahead_ms)

    def finish(self) -> None:
        """Write the batch: feed rows, entities, field versions, numbers, counters."""
        if self.written:
            return
        if self.op_rows:
            self.s.execute(insert(SrvOp.__table__), self.op_rows)  # type: ignore[attr-defined]
        if self.new_entities:
            _upsert(self.s, SrvEntity, list(self.new_entities.values()),
                    ["entity", "entity_id"], ["scope", "ticket_id"])
        if self.dirty_fields:
            rows = [{"entity": k[0], "entity_id": k[1], "field": k[2], "value": f.value,
                     "hlc": f.hlc, "seq": f.seq, "origin": f.origin, "tech": f.tech}
                    for k in sorted(self.dirty_fields) for f in [self.fields[k]]]
            _upsert(self.s, SrvField, rows, ["entity", "entity_id", "field"],
                    ["value", "hlc", "seq", "origin", "tech"])
        if self.new_numbers:
            self.s.execute(insert(SrvNumber.__table__),  # type: ignore[attr-defined]
                           self.new_numbers)
        if self.next_number is not None:
            self.s.execute(text("UPDATE srv_counter SET value = :v WHERE name = 'number'"),
                           {"v": self.next_number})
        if not self.counter_written:
            self.s.execute(text("UPDATE srv_counter SET value = :v WHERE name = 'seq'"),
                           {"v": self.seq})
        if self.server_hlc is not None:
            # Never backwards: a prepared push read the clock before the lock, and a push
            # that committed since may have moved it further.
            self.s.execute(_later_clock(self.s.get_bind().dialect.name),
                           {"v": self.server_hlc.encode(),
                            "ceiling": f"{self.now_ms + self.max_ahead_ms + 1:015d}"})
        scope_rules.finish(self)

    # --- checking -------------------------------------------------------------------------

    def _known_scope(self, entity: str, entity_id: str) -> str | None:
        return self.scopes.get((entity, entity_id))

    def _scope_of(self, op: dict[str, Any]) -> str:
        """Which customer an op belongs to; raises ValueError naming what is wrong."""
        entity, kind, value = op["entity"], op["kind"], op["value"]
        if entity in MUTABLE and kind == "create":
            if not isinstance(value, dict) or value.get("id") != op["entity_id"]:
                raise ValueError("a create op's value must be the row, with the same id")
            unknown = set(value) - COLUMNS[entity]
            if unknown:
                raise ValueError(f"unknown {entity} field {sorted(unknown)[0]!r}")
            stored = self._known_scope(entity, op["entity_id"])
            if stored is not None:  # a duplicate: the scope is what the server holds
                return stored
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
            parent, parent_id = _parent_of(entity, value)
            scope = self._known_scope(parent, parent_id)
            if scope is None:
                raise ValueError(f"no {parent.replace('_', ' ')} {parent_id} on the server")
            return scope
        raise ValueError(f"op kind {kind!r} does not apply to {entity}")

    def check(self, ops: Sequence[dict[str, Any]], fresh: set[str]) -> None:
        invalid: list[str] = []
        forbidden: list[str] = []
        first_problem = ""
        saved = dict(self.scopes)
        for op in ops:
            if op["op_id"] not in fresh:
                continue
            try:
                scope = self._scope_of(op)
                scope_rules.check_op(self, op, scope)
            except scope_rules.OutOfScope:
                forbidden.append(op["op_id"])
                continue
            except ValueError as error:
                invalid.append(op["op_id"])
                first_problem = first_problem or str(error)
                continue
            new_scope = scope
            if op["kind"] == "set" and op["entity"] in SCOPED_BY_CLIENT \
                    and op["field"] == "client_id":
                new_scope = str(op["value"] or "")
            if not (self.tech.may_see(scope) and self.tech.may_see(new_scope)):
                forbidden.append(op["op_id"])
                continue
            key = (op["entity"], op["entity_id"])
            if op["kind"] == "create" and key not in self.scopes:
                self.scopes[key] = new_scope
            elif op["kind"] == "set" and new_scope != scope:
                self.scopes[key] = new_scope
            elif op["kind"] == "append":
                self.scopes[key] = scope
        for op_id, problem in scope_rules.check_batch(self):
            if op_id not in forbidden and op_id not in invalid:
                invalid.append(op_id)
                first_problem = first_problem or problem
        self.scopes = saved  # applying recomputes them in order
        if forbidden:
            raise OpProblem(403, f"{len(forbidden)} change(s) concern a client that technician "
                            f"{self.tech.handle} does not work for; nothing was applied",
                            forbidden)
        if invalid:
            raise OpProblem(422, f"{len(invalid)} change(s) cannot be applied "
                            f"({first_problem}); nothing was applied", invalid)

    # --- applying ------------------------------------------------------------------------

    def record_op(self, op: dict[str, Any], scope: str, *, origin: str | None = None,
                  tech: str | None = None) -> int:
        """Append ``op`` to the feed at the next position, visible to ``scope``; returns
        its position. Origin and author default to this push's client and technician;
        ops the server makes itself pass ``SERVER_NODE`` for both."""
        seq = self._next_seq()
        self.op_rows.append({
            "seq": seq, "op_id": op["op_id"], "origin": origin or self.origin,
            "tech": tech or self.tech.handle, "entity": op["entity"],
            "entity_id": op["entity_id"], "kind": op["kind"], "field": op.get("field"),
            "value": json.dumps(op["value"], ensure_ascii=False, sort_keys=True),
            "hlc": op["hlc"], "base_seq": op.get("base_seq"), "scope": scope,
            "status": "applied", "received_at": self.now_iso})
        return seq

    def _entity(self, entity: str, entity_id: str, scope: str,
                ticket_id: str | None = None) -> None:
        self.scopes[(entity, entity_id)] = scope
        self.new_entities[(entity, entity_id)] = {"entity": entity, "entity_id": entity_id,
                                                  "scope": scope, "ticket_id": ticket_id}

    def server_op(self, entity: str, entity_id: str, kind: str, field_name: str | None,
                  value: Any, scope: str) -> tuple[int, str]:
        """An op the server makes itself (a renumbering, a restored field, a conflict
        flag): stamped now, recorded, and applied to the field versions for a ``set``.
        Returns its feed position and stamp."""
        stamp = self.next_stamp()
        op = {"op_id": self.new_id(), "entity": entity, "entity_id": entity_id,
              "kind": kind, "field": field_name, "value": value, "hlc": stamp}
        seq = self.record_op(op, scope, origin=SERVER_NODE, tech=SERVER_NODE)
        if kind == "set" and field_name:
            self._set_field(entity, entity_id, field_name, value, stamp, seq, SERVER_NODE,
                            SERVER_NODE)
        return seq, stamp

    def _set_field(self, entity: str, entity_id: str, name: str, value: Any, stamp: str,
                   seq: int, origin: str, tech: str) -> None:
        key = (entity, entity_id, name)
        self.fields[key] = FieldVersion(json.dumps(value, ensure_ascii=False, sort_keys=True),
                                  stamp, seq, origin, tech)
        self.dirty_fields.add(key)

    def field_version(self, entity: str, entity_id: str, name: str) -> FieldVersion | None:
        """The field's version, else the version of the create that made the row."""
        own = self.fields.get((entity, entity_id, name))
        if own is not None:
            return own
        whole = self.fields.get((entity, entity_id, "*"))
        if whole is None:
            return None
        value = json.loads(whole.value).get(name)
        return FieldVersion(json.dumps(value), whole.hlc, whole.seq, whole.origin, whole.tech)

    def _number_ticket(self, op: dict[str, Any]) -> int | None:
        """Keep a number the client took from its own lease; otherwise assign one."""
        value = op["value"]
        number = value.get("number")
        if (isinstance(number, int) and number not in self.taken_numbers
                and any(start <= number < end for start, end in self.leases)):
            self.taken_numbers.add(number)
            self.new_numbers.append({"number": number, "ticket_id": op["entity_id"]})
            return None
        if self.next_number is None:
            self.s.execute(text("UPDATE srv_counter SET value = value WHERE name = 'number'"))
            counter = self.s.get(SrvCounter, "number")
            assert counter is not None
            self.next_number = counter.value
        assigned = self.next_number
        self.next_number += 1
        self.taken_numbers.add(assigned)
        self.new_numbers.append({"number": assigned, "ticket_id": op["entity_id"]})
        return assigned

    def apply(self, op: dict[str, Any]) -> None:
        self._observe(op["hlc"])
        op = scope_rules.fill_authors(op, self.tech.handle)
        entity, entity_id, kind = op["entity"], op["entity_id"], op["kind"]
        if kind == "create":
            existing = self._known_scope(entity, entity_id)
            if existing is not None:  # never a merge (two offline machines added one client)
                scope_rules.duplicate_create(self, op, existing)
                return
            scope = entity_id if entity == "client" else str(op["value"].get("client_id") or "")
            renumbered = self._number_ticket(op) if entity == "ticket" else None
            if renumbered is not None:
                op = {**op, "value": {**op["value"], "number": renumbered, "provisional": None}}
            seq = self.record_op(op, scope)
            self._entity(entity, entity_id, scope)
            self._set_field(entity, entity_id, "*", op["value"], op["hlc"], seq,
                            self.origin, self.tech.handle)
            if renumbered is not None:
                # The creating machine skips its own create when it pulls, so tell it.
                self.server_op("ticket", entity_id, "set", "number", renumbered, scope)
                self.server_op("ticket", entity_id, "set", "provisional", None, scope)
                was = op["value"].get("provisional") or op["value"].get("number")
                note = {"id": self.new_id(), "ticket_id": entity_id, "at": self.now_iso,
                        "actor": "sync", "kind": "renumbered",
                        "summary": f"Numbered #{renumbered} by the team server"
                                   + (f" (was {was})" if was and was != renumbered else ""),
                        "detail": json.dumps({"number": renumbered, "was": was})}
                self.server_op("event", note["id"], "append", None, note, scope)
                self._entity("event", note["id"], scope, entity_id)
            return
        if kind == "append":
            if self._known_scope(entity, entity_id) is not None:  # rows are appended once
                scope_rules.duplicate_create(self, op, "")
                return
            ticket_id = _parent_of(entity, op["value"])[1]  # an article, for its versions
            scope = self._known_scope(*_parent_of(entity, op["value"])) or ""
            self.record_op(op, scope)
            self._entity(entity, entity_id, scope, ticket_id)
            return
        scope = self._known_scope(entity, entity_id) or ""
        if entity in SCOPED_BY_CLIENT and op["field"] == "client_id":
            # A move is read by the new client's technicians; the old ones get a removal.
            seq = self.record_op(op, str(op["value"] or ""))
            self._apply_set(op, seq, scope)
            new_scope = scope_rules.new_scope_after(self, op)
            self.op_rows[-1]["scope"] = new_scope
            if new_scope != scope:
                self._entity(entity, entity_id, new_scope)
                scope_rules.moved(self, entity, entity_id, scope, new_scope)
            return
        seq = self.record_op(op, scope)
        self._apply_set(op, seq, scope)

    def _apply_set(self, op: dict[str, Any], seq: int, scope: str) -> None:
        entity, entity_id, name = op["entity"], op["entity_id"], op["field"]
        previous = self.field_version(entity, entity_id, name)
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
                         previous: FieldVersion, op_won: bool, scope: str) -> None:
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
        self.server_op("event", event["id"], "append", None, event, scope)
        self._entity("event", event["id"], scope, ticket_id)
        if free_text:
            self.server_op("ticket", ticket_id, "set", "flagged",
                           f"two versions of the {label}: settle it from the timeline", scope)


def _upsert(session: Session, model: type[SQLModel], rows: list[dict[str, Any]],
            keys: list[str], updates: list[str]) -> None:
    """INSERT ... ON CONFLICT DO UPDATE, in the dialect of the server's database."""
    statement = _upsert_statement(session.get_bind().dialect.name, model, tuple(keys),
                                  tuple(updates))
    # A list of parameter sets: one statement compiled once, run as executemany.
    session.execute(statement, rows)


@functools.lru_cache(maxsize=32)
def _upsert_statement(dialect: str, model: type[SQLModel], keys: tuple[str, ...],
                      updates: tuple[str, ...]) -> Executable:
    """Built once per table: making ``excluded`` builds column proxies for every column,
    which cost more than a small push's own statements."""
    table = model.__table__  # type: ignore[attr-defined]
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgres_insert

        on_postgres = postgres_insert(table)
        return on_postgres.on_conflict_do_update(
            index_elements=list(keys),
            set_={name: on_postgres.excluded[name] for name in updates})
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    on_sqlite = sqlite_insert(table)
    return on_sqlite.on_conflict_do_update(
        index_elements=list(keys), set_={name: on_sqlite.excluded[name] for name in updates})


#: The feed's columns, in the order ``_WRITE_ALL_POSTGRES`` takes them.
_OP_COLUMNS = ("seq", "op_id", "origin", "tech", "entity", "entity_id", "kind", "field",
               "value", "hlc", "base_seq", "scope", "status", "received_at")
_OP_TYPES = ("integer", "text", "text", "text", "text", "text", "text", "text", "text",
             "text", "integer", "text", "text", "text")


def _unnest(prefix: str, columns: Sequence[str], types: Sequence[str]) -> str:
    return "SELECT * FROM unnest(" + ", ".join(
        f"CAST(:{prefix}_{c} AS {t}[])" for c, t in zip(columns, types, strict=True)) + ")"


_WRITE_ALL_POSTGRES = text(
    "WITH feed AS (INSERT INTO srv_op (" + ", ".join(_OP_COLUMNS) + ") "
    # Nothing here may fail on a row another push committed meanwhile (its op ids, its
    # ticket numbers): the check below finds those and the push is redone under the lock.
    + _unnest("o", _OP_COLUMNS, _OP_TYPES) + " ON CONFLICT DO NOTHING), "
    "records AS (INSERT INTO srv_entity (entity, entity_id, scope, ticket_id) "
    + _unnest("e", ("entity", "entity_id", "scope", "ticket_id"), ("text",) * 4)
    + " ON CONFLICT (entity, entity_id) DO UPDATE SET scope = excluded.scope, "
    "ticket_id = excluded.ticket_id), "
    "versions AS (INSERT INTO srv_field (entity, entity_id, field, value, hlc, seq, origin, "
    "tech) " + _unnest("f", ("entity", "entity_id", "field", "value", "hlc", "seq", "origin",
                             "tech"), ("text",) * 5 + ("integer", "text", "text"))
    + " ON CONFLICT (entity, entity_id, field) DO UPDATE SET value = excluded.value, "
    "hlc = excluded.hlc, seq = excluded.seq, origin = excluded.origin, tech = excluded.tech), "
    "numbers AS (INSERT INTO srv_number (number, ticket_id) "
    + _unnest("n", ("number", "ticket_id"), ("integer", "text")) + " ON CONFLICT DO NOTHING), "
    "clock AS (INSERT INTO srv_meta (key, value) SELECT 'hlc', CAST(:clock AS text) "
    "WHERE CAST(:clock AS text) IS NOT NULL ON CONFLICT (key) DO UPDATE SET value = CASE "
    'WHEN excluded.value COLLATE "C" > srv_meta.value COLLATE "C" '
    'OR srv_meta.value COLLATE "C" >= CAST(:ceiling AS text) COLLATE "C" '
    "THEN excluded.value ELSE srv_meta.value END) "
    "SELECT seq, entity, entity_id, op_id, scope FROM srv_op WHERE seq > :after "
    "AND seq <= :upto LIMIT :limit")


def _later_clock(dialect: str) -> Any:
    """Store the server clock's stamp unless a later one is stored. A stored stamp further
    ahead than clocks may drift (``:ceiling``, as ``hlc.bounded`` decides) is replaced: a
    clock once pushed that far restarts. Stamps sort as text, byte by byte: PostgreSQL is
    told to compare them so, whatever the database's collation."""
    c = ' COLLATE "C"' if dialect == "postgresql" else ""
    return text(
        "INSERT INTO srv_meta (key, value) VALUES ('hlc', :v) ON CONFLICT (key) DO UPDATE "
        f"SET value = CASE WHEN excluded.value{c} > srv_meta.value{c} "
        f"OR srv_meta.value{c} >= :ceiling{c} THEN excluded.value ELSE srv_meta.value END")


def _wanted(ops: Sequence[dict[str, Any]]) -> tuple[set[str], set[str], list[int]]:
    """The record ids whose scopes ``ops`` depend on (their own and their parents'), the
    records whose field versions they depend on, and the ticket numbers they claim."""
    ids: set[str] = set()
    field_ids: set[str] = set()
    numbers: list[int] = []
    for op in ops:
        ids.add(op["entity_id"])
        value = op.get("value")
        if isinstance(value, dict):
            ids.update(str(value[key]) for key in ("ticket_id", "article_id")
                       if value.get(key))
        if op["kind"] in ("set", "create"):
            field_ids.add(op["entity_id"])
        if op["entity"] == "ticket" and op["kind"] == "create" and isinstance(value, dict) \
                and isinstance(value.get("number"), int):
            numbers.append(value["number"])
    return ids, field_ids, numbers




@functools.lru_cache(maxsize=2)
def _read_ahead_statement(postgres: bool) -> Any:
    """``FeedWriter.read_ahead``'s statement: one tagged row shape for every read (tag,
    seven text columns, two integers), lists passed as one parameter each (PostgreSQL
    arrays, SQLite JSON arrays), so the text is the same for any push and built once."""
    def among(column: str, name: str, kind: str = "text") -> str:
        if postgres:
            return f"{column} = ANY(CAST(:{name} AS {kind}[]))"
        return f"{column} IN (SELECT value FROM json_each(:{name}))"

    t, n = "CAST(NULL AS text)", "CAST(NULL AS integer)"
    return text(
        "SELECT 'S' AS tag, (SELECT value FROM srv_meta WHERE key = 'hlc') AS a, "
        "(SELECT handle FROM srv_store WHERE store_id = :store) AS b, "
        f"{t} AS c, {t} AS d, {t} AS e, {t} AS f, {t} AS g, "
        "(SELECT value FROM srv_counter WHERE name = 'seq') AS n, "
        f"{n} AS m "
        f"UNION ALL SELECT 'O', op_id, {t}, {t}, {t}, {t}, {t}, {t}, {n}, {n} FROM srv_op "
        f"WHERE {among('op_id', 'op_ids')} "
        f"UNION ALL SELECT 'E', entity, entity_id, scope, {t}, {t}, {t}, {t}, {n}, {n} "
        f"FROM srv_entity WHERE {among('entity', 'kinds')} AND {among('entity_id', 'ids')} "
        "UNION ALL SELECT 'F', entity, entity_id, field, value, hlc, origin, tech, seq, "
        f"{n} FROM srv_field WHERE {among('entity', 'kinds')} "
        f"AND {among('entity_id', 'field_ids')} "
        f'UNION ALL SELECT \'L\', {t}, {t}, {t}, {t}, {t}, {t}, {t}, start, "end" '
        "FROM srv_lease WHERE client_id = :store "
        f"UNION ALL SELECT 'N', {t}, {t}, {t}, {t}, {t}, {t}, {t}, number, {n} "
        f"FROM srv_number WHERE {among('number', 'numbers', 'bigint')}")


def _work_out(writer: FeedWriter, ops: Sequence[dict[str, Any]],
              seen: set[str] | None = None) -> PushResult:
    """Everything a push decides: which ops are new, whether each may be applied, and the
    rows applying them writes (held in ``writer`` until ``finish``)."""
    session = writer.s
    ids = [op["op_id"] for op in ops]
    writer.pushed_op_ids = set(ids)
    if seen is None:  # not read ahead with the rest (``FeedWriter.read_ahead``)
        seen = set()
        for chunk in _chunks(ids):
            seen.update(session.exec(select(SrvOp.op_id).where(
                col(SrvOp.op_id).in_(chunk))).all())
    fresh: set[str] = set()
    result = PushResult()
    unique: list[dict[str, Any]] = []
    for op in ops:
        op_id = op["op_id"]
        if op_id in seen or op_id in fresh:
            result.duplicates.append(op_id)
        else:
            fresh.add(op_id)
            unique.append(op)
    writer.preload(unique)
    scope_rules.preload(writer, unique)
    writer.check(unique, fresh)
    for op in unique:
        writer.apply(op)
        (result.duplicates if op["op_id"] in writer.rules.duplicates
         else result.accepted).append(op["op_id"])
    return result


def push(session: Session, tech: Tech, origin: str, ops: Sequence[dict[str, Any]], *,
         now_iso: str, now_ms: int, new_id: Callable[[], str] | None = None,
         max_ahead_ms: int = hlc_mod.MAX_AHEAD_MS,
         before_write: Callable[[], None] = lambda: None) -> PushResult:
    """Apply a push in ``session``'s transaction (the caller commits): prepared without
    the feed's lock and written under it when nothing it read has changed since, else
    redone with the lock held throughout (``push_locked``). ``before_write`` runs once,
    before the first write (the SQLite server takes its in-process writer lock there)."""
    make_id = new_id or (lambda: secrets.token_hex(16))
    prepared = prepare(session, tech, origin, ops, now_iso, now_ms, make_id, max_ahead_ms)
    before_write()
    if prepared is not None:
        writer, result = prepared
        if not writer.op_rows:  # nothing new (a retried push): nothing to write or lock
            result.server_seq = writer.prepared_at or 0
            return result
        if writer.reserve():
            writer.finish()
            result.server_seq = writer.seq
            return result
        session.rollback()  # another push changed what this one read: redo it locked
    return push_locked(session, tech, origin, ops, now_iso=now_iso, now_ms=now_ms,
                       new_id=make_id, max_ahead_ms=max_ahead_ms)


def prepare(session: Session, tech: Tech, origin: str, ops: Sequence[dict[str, Any]],
            now_iso: str, now_ms: int, new_id: Callable[[], str],
            max_ahead_ms: int) -> tuple[FeedWriter, PushResult] | None:
    """A push worked out without the lock, or None where only the locked path may decide:
    a store's first push (registering it counts the technician's stores), a push the
    checks refuse (confirmed under the lock before the client sets ops aside for good),
    ticket numbers from the server's counter, and records changing client."""
    writer = FeedWriter(session, tech, origin, now_iso, now_ms, new_id, max_ahead_ms)
    handle, seen = writer.read_ahead(ops)
    if handle != tech.handle:  # a first push, or another's store (refused)
        return None
    try:
        result = _work_out(writer, ops, seen)
    except OpProblem:
        return None
    if writer.next_number is not None or writer.rules.audience or writer.rules.moved:
        return None
    return writer, result


def push_locked(session: Session, tech: Tech, origin: str, ops: Sequence[dict[str, Any]],
                *, now_iso: str, now_ms: int, new_id: Callable[[], str] | None = None,
                max_ahead_ms: int = hlc_mod.MAX_AHEAD_MS) -> PushResult:
    """A push with the feed locked before anything is read: every case, and the only way
    for those ``prepare`` leaves to it."""
    writer = FeedWriter(session, tech, origin, now_iso, now_ms,
                        new_id or (lambda: secrets.token_hex(16)), max_ahead_ms)
    writer.lock()
    scope_rules.bind_store(session, tech, origin, now_iso)
    result = _work_out(writer, ops)
    writer.finish()
    result.server_seq = writer.seq
    return result


#: The columns of a pulled feed row, in the order ``pull`` returns them.
PULLED = ("seq", "op_id", "origin", "tech", "entity", "entity_id", "kind", "field", "value",
          "hlc")


def pull(session: Session | Connection, tech: Tech, since: int,
         limit: int) -> tuple[list[Sequence[Any]], bool, int]:
    """Feed rows after ``since`` that ``tech`` may see, as tuples of the ``PULLED`` columns
    (no ORM objects or mappings: a page is thousands of rows, and the caller writes them
    straight out as JSON), whether more follow, and the feed's counter. One statement:
    the counter is read with the page (the same snapshot), not by a round trip of its own,
    unless the page is empty."""
    query = _page_and_counter(tech.is_admin, tuple(sorted(tech.scopes)))
    rows = session.execute(query, {"since": since, "limit": limit + 1}).all()
    if not rows:
        return [], False, current_seq(session)
    latest = int(rows[0][-1] or 0)
    return [row[:-1] for row in rows[:limit]], len(rows) > limit, latest


@functools.lru_cache(maxsize=256)
def _page_and_counter(is_admin: bool, scopes: tuple[str, ...]) -> Any:
    """``scope.visible_page`` with the feed's counter as one more column."""
    counters = SrvCounter.__table__  # type: ignore[attr-defined]
    counter = sa_select(counters.c.value).where(counters.c.name == "seq").scalar_subquery()
    return scope_rules.visible_page(PULLED, is_admin, scopes).add_columns(counter)


def current_seq(session: Session | Connection) -> int:
    value = session.execute(text("SELECT value FROM srv_counter WHERE name = 'seq'")).scalar()
    return int(value or 0)


def grant_lease(session: Session, client_id: str, size: int, now_iso: str) -> SrvLease:
    """A block of numbers for the store; the caller has bound the store to the token and
    checked its allowance (``scope.bind_store``, ``scope.check_lease``)."""
    session.execute(text("UPDATE srv_counter SET value = value WHERE name = 'number'"))
    counter = session.get(SrvCounter, "number")
    assert counter is not None
    lease = SrvLease(start=counter.value, end=counter.value + size, client_id=client_id,
                     granted_at=now_iso)
    counter.value += size
    session.add(counter)
    session.add(lease)
    return lease
