"""An admin's view of the change feed, and retracting an op from it.

The feed is append-only: an op is never edited or deleted. Retracting one appends a new
op (entity ``op``, kind ``retract``) that every store of the op's client applies: a store
that had set the row aside drops it from its quarantine, and a retracted note, event or
other appended record is removed. The retracted op is marked so stores that pull the
feed from the start never receive it. When the retracted op set a field and still held
it, the server also sends the value that wins without it, so every store returns to it.
A retracted ``create`` is only withheld from stores that have not pulled it yet: stores
that applied it keep the record, because other records may already refer to it.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, col, select

from deskcli.domain.errors import InvalidInput, NotFound
from deskcli.server.feed import SERVER_NODE, FeedWriter, Tech
from deskcli.server.models import SrvField, SrvOp

RETRACTION = "op"


def list_ops(session: Session, *, op_id: str | None = None, entity_id: str | None = None,
             tech: str | None = None, since: int = 0, limit: int = 50) -> list[SrvOp]:
    """Feed rows, oldest first, narrowed by op, record, technician or sequence."""
    query = select(SrvOp).where(col(SrvOp.seq) > since)
    if op_id:
        query = query.where(SrvOp.op_id == op_id)
    if entity_id:
        query = query.where(SrvOp.entity_id == entity_id)
    if tech:
        query = query.where(SrvOp.tech == tech)
    return list(session.exec(query.order_by(col(SrvOp.seq)).limit(limit)).all())


def retract(session: Session, op_id: str, *, reason: str, by: str, now_iso: str,
            now_ms: int, new_id: Callable[[], str] | None = None) -> SrvOp:
    """Withdraw ``op_id`` from the feed; returns the retraction op. The caller commits."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput("say why the op is retracted (--reason): it is kept with the "
                           "retraction in the feed", field="reason")
    writer = FeedWriter(session, Tech(by, True, frozenset()), SERVER_NODE, now_iso, now_ms,
                        new_id or (lambda: secrets.token_hex(16)))
    writer.lock()
    target = session.exec(select(SrvOp).where(SrvOp.op_id == op_id)).first()
    if target is None:
        raise NotFound(f"no op {op_id!r} in the feed; 'deskcli server ops' lists them")
    if target.entity == RETRACTION:
        raise InvalidInput(f"op {op_id} is itself a retraction and cannot be retracted")
    if target.status == "retracted":
        raise InvalidInput(f"op {op_id} was already retracted")
    session.execute(text("UPDATE srv_op SET status = 'retracted' WHERE op_id = :op"),
                    {"op": op_id})
    retraction: dict[str, Any] = {
        "op_id": writer.new_id(), "entity": RETRACTION, "entity_id": op_id,
        "kind": "retract", "field": None, "hlc": writer.next_stamp(),
        "value": {"entity": target.entity, "entity_id": target.entity_id,
                  "kind": target.kind, "field": target.field, "reason": reason[:500],
                  "by": by}}
    writer.record_op(retraction, target.scope, origin=SERVER_NODE, tech=SERVER_NODE)
    if target.kind == "set" and target.field:
        _restore_field(session, writer, target)
    writer.finish()
    return SrvOp(seq=writer.seq, op_id=retraction["op_id"], origin=SERVER_NODE,
                 tech=SERVER_NODE, entity=RETRACTION, entity_id=op_id, kind="retract",
                 value=json.dumps(retraction["value"]), hlc=retraction["hlc"],
                 scope=target.scope, received_at=now_iso)


def _restore_field(session: Session, writer: FeedWriter, target: SrvOp) -> None:
    """If the retracted op's value still wins, send the value that wins without it."""
    current = session.get(SrvField, (target.entity, target.entity_id, target.field))
    if current is None or current.seq != target.seq:
        return  # a later change already replaced it everywhere
    others = session.exec(select(SrvOp).where(
        SrvOp.entity == target.entity, SrvOp.entity_id == target.entity_id,
        SrvOp.field == target.field, SrvOp.kind == "set", SrvOp.status == "applied",
        SrvOp.op_id != target.op_id).order_by(col(SrvOp.hlc).desc())).first()
    if others is not None:
        value = json.loads(others.value)
    else:
        create = session.exec(select(SrvOp).where(
            SrvOp.entity == target.entity, SrvOp.entity_id == target.entity_id,
            SrvOp.kind == "create", SrvOp.status == "applied")).first()
        row = json.loads(create.value) if create is not None else {}
        value = row.get(target.field) if isinstance(row, dict) else None
    writer.server_op(target.entity, target.entity_id, "set", target.field, value,
                     target.scope)
