"""Who may touch which record, and who wrote it: the team server's scope and identity rules.

The server authorises every op against what it already holds, never against what the op
claims (issue 14):

* A record's client (its *scope*) is the one the server stored when the record was first
  created. A ``create`` for an id the server already holds is a duplicate: it is recorded
  for the audit trail but shown to nobody and merged into nothing; where it differs, the
  server sends its own values back so the store that sent it converges.
* Moving a ticket or an article to another client is a ``set client_id`` that only a
  technician of both clients (or an admin) may push. The server then writes a removal for
  the technicians who lose sight of the record and a full copy (record, field versions,
  children in order) for those who gain it, each addressed to exactly that audience.
* References stay inside one client: a ticket's caller, a link's article and every
  ``client_id`` must name records the readers of the row also hold.
* Identity comes from the token: each local store (the push's ``client_id``) belongs to the
  technician whose token first used it, author fields are filled in from the token, and
  ticket numbers are kept only from the pushing store's own leases, which are capped and
  rate-limited.

Kept apart from ``feed.py`` so the rules read in one place; ``FeedWriter`` calls in here.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Integer, bindparam, func, text, union_all
from sqlalchemy import insert as sa_insert
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from deskcli.domain.ids import stable_id
from deskcli.domain.timefmt import to_iso
from deskcli.server.models import (
    SrvAudience,
    SrvEntity,
    SrvLease,
    SrvNumber,
    SrvOp,
    SrvStore,
)
from deskcli.sync.protocol import AUTHOR_FIELDS, ENTITY_TABLES

if TYPE_CHECKING:
    from deskcli.server.feed import FeedWriter, Tech

#: Every entity a record of ``srv_entity`` and ``srv_field`` can have (only ops' entities,
#: all of them the protocol's, are ever written there). Named wherever records are looked
#: up by id, so the lookup uses the tables' (entity, entity_id, …) keys: by id alone it
#: scanned both tables on every push (28-35 ms at 200,000 records).
ENTITY_KINDS = tuple(sorted(ENTITY_TABLES))
#: The ``scope`` of feed rows no scope reveals: duplicates (nobody) and the rows of a scope
#: change, whose readers ``srv_audience`` names.
NOBODY = "~"
#: Ticket fields only the server writes (numbers come from leases or the server's counter).
SERVER_ONLY_FIELDS = frozenset({"number", "provisional"})
#: Entities whose own ``client_id`` is their scope (the others take their parent's).
SCOPED_BY_CLIENT = frozenset({"ticket", "kb_article"})
#: Local stores (laptops, profiles) one technician may register.
MAX_STORES_PER_TECH = 20
#: Ticket numbers a store may hold leased but unused at any time.
MAX_OPEN_NUMBERS = 1000
#: Lease requests one store may make in an hour.
LEASES_PER_HOUR = 30


class OutOfScope(ValueError):
    """The op names a client the technician does not work for (403, not 422)."""


@dataclass
class ScopeState:
    """What one push learnt about scopes while it was checked and applied."""

    #: Ticket id -> (caller id, client scope, last op id) as the batch leaves it: checked
    #: once the whole batch is read, since a move sends ``client_id`` before ``caller_id``.
    tickets: dict[str, tuple[Any, str, str]] = field(default_factory=dict)
    #: Op ids that were duplicate creates (reported as duplicates, applied to nothing).
    duplicates: set[str] = field(default_factory=set)
    audience: list[dict[str, Any]] = field(default_factory=list)
    #: (parent id, new scope) of every moved record, to re-scope its children.
    moved: list[tuple[str, str]] = field(default_factory=list)


def _refuse(status: int, message: str) -> Exception:
    from deskcli.server.feed import OpProblem

    return OpProblem(status, message, [])


# --- identity ----------------------------------------------------------------------------


def fill_authors(op: dict[str, Any], handle: str) -> dict[str, Any]:
    """The op with every author field set to the pushing technician's handle: who wrote a
    note is what the token says, not what the laptop typed."""
    value = op.get("value")
    if op["kind"] in ("create", "append") and isinstance(value, dict):
        names = [k for k in AUTHOR_FIELDS if k in value and (k != "verified_by" or value[k])]
        if names and any(value[k] != handle for k in names):
            return {**op, "value": {**value, **dict.fromkeys(names, handle)}}
    elif op["kind"] == "set" and op.get("field") in AUTHOR_FIELDS and value \
            and value != handle:
        return {**op, "value": handle}
    return op


def bind_store(session: Session, tech: Tech, store_id: str, now_iso: str) -> None:
    """Register ``store_id`` to the technician on first use; refuse it to anyone else.

    Call with the feed or number counter locked, so two first pushes cannot race."""
    row = session.get(SrvStore, store_id)
    if row is None:
        count = session.exec(select(func.count()).select_from(SrvStore).where(
            SrvStore.handle == tech.handle)).one()
        if count >= MAX_STORES_PER_TECH:
            raise _refuse(403, f"technician {tech.handle} already syncs from {count} stores, "
                          f"the most one technician may; an admin can revoke and re-add "
                          "the technician to start again")
        session.add(SrvStore(store_id=store_id, handle=tech.handle, registered_at=now_iso))
        session.flush()
    elif row.handle != tech.handle:
        raise _refuse(403, f"store {store_id} is registered to another technician: a store "
                      "syncs only with the token of the technician who first synced it "
                      "(use a fresh profile, DESKCLI_HOME, for another technician)")


def check_lease(session: Session, store_id: str, size: int, now: datetime) -> None:
    """Refuse (429) a lease beyond the store's hourly rate or its cap of unused numbers."""
    since = to_iso(now - timedelta(hours=1))
    recent = session.exec(select(func.count()).select_from(SrvLease).where(
        SrvLease.client_id == store_id, col(SrvLease.granted_at) >= since)).one()
    if recent >= LEASES_PER_HOUR:
        raise _refuse(429, f"store {store_id} asked for {recent} blocks of ticket numbers in "
                      f"the last hour, the most allowed ({LEASES_PER_HOUR}); try again later")
    leased = session.exec(select(func.coalesce(func.sum(SrvLease.end - SrvLease.start), 0))
                          .where(SrvLease.client_id == store_id)).one()
    lease = SrvLease.__table__  # type: ignore[attr-defined]
    number = SrvNumber.__table__  # type: ignore[attr-defined]
    used = session.execute(sa_select(func.count()).select_from(number.join(
        lease, (number.c.number >= lease.c.start) & (number.c.number < lease.c.end))).where(
        lease.c.client_id == store_id)).scalar_one()
    unused = int(leased) - int(used)
    if unused + size > MAX_OPEN_NUMBERS:
        raise _refuse(429, f"store {store_id} already holds {unused} unused ticket numbers; "
                      f"a store may hold at most {MAX_OPEN_NUMBERS}: use those first")


def lock_numbers(session: Session) -> None:
    session.execute(text("UPDATE srv_counter SET value = value WHERE name = 'number'"))


def may_see_ticket(session: Session, tech: Tech, ticket_id: str) -> bool:
    """Whether the ticket exists on the server in a scope the technician sees."""
    row = session.get(SrvEntity, ("ticket", ticket_id))
    return row is not None and tech.may_see(row.scope)


# --- checking a push -------------------------------------------------------------------


def value_ids(op: dict[str, Any]) -> set[str]:
    """The records an op's value refers to (client, caller, article, linked tickets),
    whose scopes the checks read."""
    value, name = op.get("value"), op.get("field")
    ids: set[str] = set()
    if isinstance(value, dict):
        ids.update(str(value[k]) for k in ("client_id", "caller_id", "article_id",
                                           "parent_id", "merged_into")
                   if isinstance(value.get(k), str))
    elif op["kind"] == "set" and name in ("client_id", "caller_id", "parent_id",
                                          "merged_into") and isinstance(value, str):
        ids.add(value)
    return ids


def preload(writer: FeedWriter, ops: list[dict[str, Any]]) -> None:
    """Load the scopes of every record the batch refers to (clients, callers, articles,
    and the callers of tickets it moves), on top of ``FeedWriter.preload``."""
    ids: set[str] = set()
    for op in ops:
        ids |= value_ids(op)
        if op["kind"] == "set" and op.get("field") == "client_id" and op["entity"] == "ticket":
            current = writer.field_version("ticket", op["entity_id"], "caller_id")
            caller = json.loads(current.value) if current else None
            if isinstance(caller, str):
                ids.add(caller)
    # Not again what was read already: found, or looked for with the push's other reads
    # (``FeedWriter.read_ahead``) and not there.
    ids -= {entity_id for (_entity, entity_id) in writer.scopes}
    ids -= writer.scopes_read
    if ids:
        _load_scopes(writer, ids)


def _load_scopes(writer: FeedWriter, ids: set[str]) -> None:
    writer.looked_up |= ids
    chunk = sorted(ids)
    for start in range(0, len(chunk), 500):
        for row in writer.s.exec(select(SrvEntity).where(
                col(SrvEntity.entity).in_(ENTITY_KINDS),  # by key, not a scan
                col(SrvEntity.entity_id).in_(chunk[start:start + 500]))):
            writer.scopes[(row.entity, row.entity_id)] = row.scope


def _known(writer: FeedWriter, entity: str, entity_id: Any, what: str) -> str:
    """The scope of a referenced record the technician may see; ValueError otherwise (the
    same words whether it does not exist or belongs to a client they do not see)."""
    scope = writer.scopes.get((entity, str(entity_id)))
    if entity == "client" and scope is not None and not writer.tech.may_see(scope):
        # A client's id comes from its name, so saying it exists gives nothing away.
        raise OutOfScope(f"client {entity_id} is not one this technician works for")
    if not isinstance(entity_id, str) or scope is None or not writer.tech.may_see(scope):
        raise ValueError(f"no {what} {entity_id} on the server")
    return scope


def check_op(writer: FeedWriter, op: dict[str, Any], scope: str) -> None:
    """Scope rules beyond ``FeedWriter._scope_of``; raises ValueError (422) naming what is
    wrong. Runs in op order, before ``check`` records the op's effect on scopes."""
    entity, kind, value, name = op["entity"], op["kind"], op["value"], op.get("field")
    key = (entity, op["entity_id"])
    if kind == "create" and key in writer.scopes:
        return  # a duplicate: applied to nothing, so it refers to nothing
    if entity == "client" and kind == "create" \
            and op["entity_id"] != stable_id("client", str(value.get("name") or "")):
        raise ValueError("a client's id is derived from its name (as every store does); "
                         f"{op['entity_id']} is not the id of {value.get('name')!r}")
    if kind == "set" and entity == "ticket" and name in SERVER_ONLY_FIELDS:
        raise ValueError(f"ticket field {name!r} is set by the team server only")
    if kind == "set" and name == "client_id" and entity not in SCOPED_BY_CLIENT:
        raise ValueError(f"a {entity} cannot move to another client; create a new one there")
    target = scope
    if kind == "create" and entity in ("ticket", "kb_article", "caller") or \
            kind == "set" and name == "client_id":
        client = value.get("client_id") if kind == "create" else value
        if client is not None:
            target = _known(writer, "client", client, "client")
    if entity == "ticket" and (kind == "create" or name in ("caller_id", "client_id")):
        ticket_id = op["entity_id"]
        if kind == "create":
            caller = value.get("caller_id")
        elif name == "caller_id":
            caller = value
        elif ticket_id in writer.rules.tickets:
            caller = writer.rules.tickets[ticket_id][0]
        else:
            current = writer.field_version("ticket", ticket_id, "caller_id")
            caller = json.loads(current.value) if current else None
        if caller is not None and name != "client_id":
            _known(writer, "caller", caller, "caller")
        writer.rules.tickets[ticket_id] = (caller, target, op["op_id"])
    if entity == "ticket" and kind in ("create", "set"):
        for link in ("parent_id", "merged_into"):
            other = value.get(link) if kind == "create" else value if name == link else None
            if other is not None and _known(writer, "ticket", other, "ticket") != scope:
                raise ValueError(f"ticket {other} belongs to another client than ticket "
                                 f"{op['entity_id']}: {link} stays within one client")
    if entity == "kb_link" and kind == "append":
        article_scope = _known(writer, "kb_article", value.get("article_id"), "article")
        if article_scope not in ("", scope):
            raise ValueError(f"article {value.get('article_id')} belongs to another client "
                             "than the ticket that links to it")


def check_batch(writer: FeedWriter) -> list[tuple[str, str]]:
    """(op id, problem) for each ticket the batch leaves with a caller of another client:
    the ticket's readers would not hold the caller it points at."""
    problems = []
    for ticket_id, (caller, scope, op_id) in sorted(writer.rules.tickets.items()):
        if caller is None:
            continue
        caller_scope = writer.scopes.get(("caller", str(caller)))
        if caller_scope is None or not writer.tech.may_see(caller_scope):
            problems.append((op_id, f"no caller {caller} on the server"))
        elif caller_scope not in ("", scope):
            problems.append((op_id, f"caller {caller} belongs to another client than ticket "
                             f"{ticket_id}; a ticket that moves needs a caller of its new "
                             "client"))
    return problems


# --- applying --------------------------------------------------------------------------


def current_row(writer: FeedWriter, entity: str, entity_id: str) -> dict[str, Any]:
    """The record as the server holds it: its create with every later field on top."""
    whole = writer.fields.get((entity, entity_id, "*"))
    row: dict[str, Any] = json.loads(whole.value) if whole else {}
    for (e, i, name), version in writer.fields.items():
        if e == entity and i == entity_id and name != "*":
            row[name] = json.loads(version.value)
    return row


def duplicate_create(writer: FeedWriter, op: dict[str, Any], scope: str) -> None:
    """A create (or append) for an id the server holds: kept for the record, shown to
    nobody, merged into nothing. Fields of a record it has differently are sent back as the
    server's values (fresh stamps), so the store that sent it ends up with the same record
    as everyone else; an appended row is never changed, so nothing is sent for one."""
    writer.rules.duplicates.add(op["op_id"])
    writer.record_op(op, NOBODY)
    writer.op_rows[-1]["status"] = "duplicate"
    current = current_row(writer, op["entity"], op["entity_id"])
    for name, value in sorted(op["value"].items()):
        if name != "id" and name in current and current[name] != value:
            writer.server_op(op["entity"], op["entity_id"], "set", name, current[name], scope)


def new_scope_after(writer: FeedWriter, op: dict[str, Any]) -> str:
    """The record's scope once the op (a ``set client_id``) is applied."""
    current = writer.field_version(op["entity"], op["entity_id"], "client_id")
    return str((json.loads(current.value) if current else None) or "")


def _send(writer: FeedWriter, entity: str, entity_id: str, kind: str, name: str | None,
          value: Any, stamp: str, source: str, target: str) -> None:
    from deskcli.server.feed import SERVER_NODE

    op = {"op_id": writer.new_id(), "entity": entity, "entity_id": entity_id, "kind": kind,
          "field": name, "value": value, "hlc": stamp}
    seq = writer.record_op(op, NOBODY, origin=SERVER_NODE, tech=SERVER_NODE)
    writer.rules.audience.append({"seq": seq, "source": source, "target": target})


def moved(writer: FeedWriter, entity: str, entity_id: str, old: str, new: str) -> None:
    """A record changed client: a removal for those who saw it and no longer do, then the
    whole record, its field versions and its children, in order, for those who now do."""
    _send(writer, entity, entity_id, "remove", None, {"client_id": new or None},
          writer.next_stamp(), old, new)
    def readable(name: str, value: Any) -> Any:
        # The caller changes after the move (same push): until then, none for new readers.
        if name == "caller_id" and value is not None and writer.scopes.get(
                ("caller", str(value))) not in ("", new):
            return None
        return value

    whole = writer.fields.get((entity, entity_id, "*"))
    if whole is not None:
        row = current_row(writer, entity, entity_id)
        _send(writer, entity, entity_id, "create", None,
              {k: readable(k, v) for k, v in row.items()}, whole.hlc, new, old)
    versions = sorted(((v.seq, name, v) for (e, i, name), v in writer.fields.items()
                       if e == entity and i == entity_id and name != "*"),
                      key=lambda item: (item[0], item[1]))
    for _seq, name, version in versions:
        _send(writer, entity, entity_id, "set", name, readable(name, json.loads(version.value)),
              version.hlc, new, old)
    for child in _children(writer, entity, entity_id, new):
        _send(writer, child["entity"], child["entity_id"], "append", None, child["value"],
              child["hlc"], new, old)
    writer.rules.moved.append((entity_id, new))


def _parent_id(entity: str, value: Any) -> str | None:
    if not isinstance(value, dict):
        return None
    key = "article_id" if entity == "kb_version" else "ticket_id"
    return str(value.get(key)) if value.get(key) else None


def _children(writer: FeedWriter, entity: str, entity_id: str,
              new: str) -> list[dict[str, Any]]:
    """The appended rows of a record, oldest first, from the feed and from this batch."""
    table = SrvOp.__table__  # type: ignore[attr-defined]
    entities = SrvEntity.__table__  # type: ignore[attr-defined]
    owned = table.c.entity_id.in_(sa_select(entities.c.entity_id).where(
        entities.c.ticket_id == entity_id))
    if entity == "kb_article":  # versions stored before their parent was recorded
        owned = owned | ((table.c.entity == "kb_version")
                         & table.c.value.contains(f'"article_id": {json.dumps(entity_id)}'))
    query = sa_select(table.c.entity, table.c.entity_id, table.c.value, table.c.hlc).where(
        table.c.kind == "append", table.c.scope != NOBODY, table.c.status == "applied",
        owned).order_by(table.c.seq)
    found = [{**dict(r._mapping), "value": json.loads(r.value)}
             for r in writer.s.execute(query)]
    found += [{"entity": r["entity"], "entity_id": r["entity_id"],
               "value": json.loads(r["value"]), "hlc": r["hlc"]} for r in writer.op_rows
              if r["kind"] == "append" and r["scope"] != NOBODY]
    child_kinds = {"kb_version"} if entity == "kb_article" else None
    children, seen = [], set()
    for row in found:
        is_version = row["entity"] == "kb_version"
        if (child_kinds is not None) != is_version or row["entity_id"] in seen:
            continue
        if _parent_id(row["entity"], row["value"]) != entity_id:
            continue
        seen.add(row["entity_id"])
        children.append(row)
    articles = {str(c["value"].get("article_id")) for c in children
                if c["entity"] == "kb_link"}
    _load_scopes(writer, articles - {i for (_e, i) in writer.scopes})
    # A link to an article the new readers cannot hold stays with those who can.
    return [c for c in children if c["entity"] != "kb_link" or writer.scopes.get(
        ("kb_article", str(c["value"].get("article_id")))) in ("", new)]


def finish(writer: FeedWriter) -> None:
    """Write the audiences of this push's scope-change rows; re-scope moved children."""
    if writer.rules.audience:
        writer.s.execute(sa_insert(SrvAudience.__table__),  # type: ignore[attr-defined]
                         writer.rules.audience)
    for parent_id, scope in writer.rules.moved:
        writer.s.execute(text("UPDATE srv_entity SET scope = :scope WHERE ticket_id = :id"),
                         {"scope": scope, "id": parent_id})


@functools.lru_cache(maxsize=256)
def visible_page(columns: tuple[str, ...], is_admin: bool, scopes: tuple[str, ...]) -> Any:
    """A query for the first ``:limit`` feed rows after ``:since`` (bound when it runs)
    that a technician reading ``scopes`` (or an admin) may read, with ``columns`` of
    ``srv_op``, in sequence order. An op an admin retracted is never sent again; its
    retraction is.

    Built so that every index walk stops after ``limit`` rows: one branch per scope the
    technician reads, each in ``(scope, seq)`` index order, and one for the rows addressed
    to them by a scope change (``srv_audience``), merged and cut to ``limit``. A single
    ``scope IN (...) OR seq IN (...)`` filter made the database read and sort every
    visible row after ``since`` for each page, so catching up on a long feed cost time
    quadratic in its length. Built once per set of scopes (cached): building it cost
    more than running it for a small page.
    """
    table = SrvOp.__table__  # type: ignore[attr-defined]
    selected = [table.c[name] for name in columns]
    since, limit = bindparam("since", type_=Integer), bindparam("limit", type_=Integer)
    live = (table.c.seq > since) & (table.c.status != "retracted")
    if is_admin:
        return sa_select(*selected).where(live, table.c.scope != NOBODY).order_by(
            table.c.seq).limit(limit)
    readable = sorted({*scopes, ""})
    branches = [sa_select(*selected).where(live, table.c.scope == scope)
                .order_by(table.c.seq).limit(limit) for scope in readable]
    audience = SrvAudience.__table__  # type: ignore[attr-defined]
    # Rows of a scope change, addressed from a scope the technician reads to one they do
    # not; a row whose own scope they read is in a branch above already.
    branches.append(sa_select(*selected).select_from(
        audience.join(table, table.c.seq == audience.c.seq)).where(
        audience.c.seq > since, audience.c.source.in_(readable),
        audience.c.target.not_in(readable), table.c.status != "retracted",
        table.c.scope.not_in(readable)).order_by(audience.c.seq).limit(limit))
    # Each branch wrapped, as SQLite takes no ORDER BY or LIMIT inside a compound select.
    merged = union_all(*(branch.subquery().select() for branch in branches)).subquery()
    return sa_select(merged).order_by(merged.c.seq).limit(limit)
