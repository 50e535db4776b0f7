"""One outbox row for the sync ops of one new ticket, as bulk creation writes them, and
how it is unpacked into the ops it holds.

Bulk creation (``storage/batch.py``) writes four ops per imported ticket: the ticket's
``create`` and the ``append`` of its "opened" event, its step record and the step's
event. As four outbox rows they were half the bytes of an import and four rows (and
four entries in each of the outbox's two indexes) per ticket. Here they are one row,
``kind = 'bundle'``, that holds each op whole: its own op id, entity, kind, clock stamp,
value and time.

A bundle is local to this store: it never reaches the server. Before anything needs the
ops one by one (a push, acknowledgements and rejections by op id, recognising this
store's own ops in the feed, amending unsent ops when joining a team), ``unpack`` turns
each bundle back into exactly the rows the ops would have had as separate rows, in the
same order, in one transaction (``SyncState.unpack_bundles``). The pushed ops, their
ids, stamps and values are the same as those of a ticket created one at a time
(``tests/services/test_batch_create.py``), so the server and other clients read
nothing new. Reading the outbox (``SyncState.outbox``) shows the unpacked ops without
writing. The trade: the import writes 13,380 outbox rows for 10,000 tickets instead of
43,380; the first push then spends about 0.5 s of CPU per 10,000 tickets unpacking,
more than the import saved (benchmarks/README.md), where the server's part of the push
takes seconds. A store that never syncs never pays it.

``field`` holds the number of ops in the row, so the count of unsent changes is read
from an index (``outbox_bundles``) without opening the rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .encoding import encode_json

#: The outbox ``kind`` of a bundle row (local only; never an op kind on the wire).
BUNDLE = "bundle"
#: The layout of the value, so a later layout can be told apart.
_LAYOUT = 1


class OpBundle:
    """The ops of one new ticket, collected in order and packed into one outbox row."""

    def __init__(self, ticket_id: str, created_at: str) -> None:
        self.ticket_id = ticket_id
        self.created_at = created_at
        #: (op id, entity, kind, stamp, value, created_at) per op, in order.
        self.ops: list[tuple[str, str, str, str, Mapping[str, Any], str]] = []

    def add(self, op_id: str, entity: str, kind: str, stamp: str, value: Mapping[str, Any],
            created_at: str) -> None:
        self.ops.append((op_id, entity, kind, stamp, value, created_at))

    def row(self, base_seq: int | None,
            encode: Callable[[Any], str] = encode_json) -> tuple[Any, ...]:
        """The outbox row (``_OUTBOX_COLUMNS`` of ``storage/batch.py``) holding the ops;
        ``encode`` gives ``encode_json``'s text (``storage/encoding.py``)."""
        first_id, _entity, _kind, first_stamp, _value, _at = self.ops[0]
        return (first_id, "ticket", self.ticket_id, BUNDLE, str(len(self.ops)),
                self.pack(encode), first_stamp, base_seq, self.created_at)

    def pack(self, encode: Callable[[Any], str] = encode_json) -> str:
        """``{"f": layout, "o": ops}``, each op ``[op_id, entity, kind, stamp, value,
        created_at]``: one encoder call for the ticket's ops. (Leaving out what the ops
        repeat, the ticket's id, the time, the actor and the stamps' common part, saved
        about 350 bytes a ticket and cost five times the encoding in Python: more than
        the bytes cost SQLite to write.)"""
        return encode({"f": _LAYOUT, "o": self.ops})


def unpack(row: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """The outbox rows a bundle row stands for, in order: ``(op_id, entity, entity_id,
    kind, field, value, hlc, base_seq, created_at, state, acked_seq)`` (``UNPACKED``),
    each value encoded as a separate op's value is."""
    data = json.loads(row["value"])
    if not isinstance(data, dict) or data.get("f") != _LAYOUT:
        raise ValueError(f"outbox row {row['op_id']} is a bundle of an unknown layout")
    return [(op_id, entity, str(value["id"]), kind, None, encode_json(value), stamp,
             row["base_seq"], created_at, row["state"], row["acked_seq"])
            for op_id, entity, kind, stamp, value, created_at in data["o"]]


#: The columns of ``unpack``'s rows (every outbox column but ``seq``).
UNPACKED = ("op_id", "entity", "entity_id", "kind", "field", "value", "hlc", "base_seq",
            "created_at", "state", "acked_seq")


def as_rows(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Outbox rows as ``SELECT *`` gives them, each bundle shown as the ops it holds
    (sharing the bundle's ``seq``): for reading, nothing is written."""
    out: list[dict[str, Any]] = []
    for row in rows:
        if row["kind"] != BUNDLE:
            out.append(dict(row))
            continue
        out.extend({"seq": row["seq"], **dict(zip(UNPACKED, op, strict=True))}
                   for op in unpack(row))
    return out
