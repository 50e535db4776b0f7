"""The sync wire protocol, shared by the client and the server.

Plain constants and functions only (no pydantic, no HTTP), so the client's code path
stays light and both sides agree on the rules by importing the same module.

Push: ``POST /v1/push`` ``{"protocol", "client_id", "ops": [op, ...]}``; an op is
``{"op_id", "entity", "entity_id", "kind", "field", "value", "hlc", "base_seq"}``.
The reply lists ``accepted``, ``duplicates`` and ``rejected`` op ids and the server's
sequence number; with ``?since=N`` (clients since issue 20) it also carries ``changes``,
the first pull page after N read once the push committed, so a round needs no separate
pull request (an older server ignores the parameter; an older client gets null).
Pull: ``GET /v1/changes?since=N&limit=M`` returns the changes after
sequence N, in order, with ``next``, ``has_more`` and the server ``epoch``. Pulled changes
may also be of kind ``remove`` (written by the server only): the record moved to a client
this technician does not work for, and the store deletes it with its children.
"""

from __future__ import annotations

from deskcli.storage.store import APPEND_ONLY as STORE_APPEND_ONLY
from deskcli.storage.store import DERIVED_TICKET_COLUMNS, TABLE_ENTITY

PROTOCOL_VERSION = 1
MAX_OPS_PER_PUSH = 1000
MAX_BODY_BYTES = 32 * 1024 * 1024
MAX_VALUE_BYTES = 16 * 1024 * 1024
PULL_PAGE = 5000
DEFAULT_LEASE = 100
#: Ask for a new block of ticket numbers when fewer than this remain.
LEASE_LOW_WATER = 20

#: Wire entity name -> local/server table, as the store names them when it records ops.
ENTITY_TABLES: dict[str, str] = {entity: table for table, entity in TABLE_ENTITY.items()}
#: Entities that are only ever appended: ids are unique, they never conflict.
APPEND_ONLY = frozenset(TABLE_ENTITY[table] for table in STORE_APPEND_ONLY)
#: Entities whose fields are last-writer-wins.
MUTABLE = frozenset(ENTITY_TABLES) - APPEND_ONLY
OP_KINDS = frozenset({"create", "set", "append"})

#: Fields a technician types prose into: a concurrent edit keeps both texts.
FREE_TEXT_FIELDS = frozenset({
    "summary", "verbatim", "error_text", "doing", "root_cause", "resolution",
    "verification_detail", "event_ids",
})
#: Fields that may never change through a ``set`` op.
IMMUTABLE_FIELDS = frozenset({"id", "created_at", "created_by", "checklist"})
#: The origin of feed rows the server writes itself (renumbering, corrections after a
#: duplicate create, removals and copies when a record changes client).
SERVER_ORIGIN = "server"
#: Columns every replica computes for itself; never sent.
DERIVED_FIELDS = DERIVED_TICKET_COLUMNS
#: Value fields naming who did something: the server sets them to the pushing technician's
#: handle, and a store that joins a team writes its unsent changes with that handle too.
AUTHOR_FIELDS = frozenset({"author", "actor", "created_by", "revised_by", "verified_by"})
