"""Removing a record this store may no longer hold (issue 14, finding 3).

When a ticket or an article moves to a client the technician does not work for, the server
sends a ``remove`` change for it. The store deletes the record and everything that hangs
off it, inside the pull's transaction, so what it holds stays what the technician may see.
Unsent local changes to it stay in the outbox: the server refuses them and the technician
sees why (``deskcli sync`` lists rejected changes).
"""

from __future__ import annotations

import json

from deskcli.storage.store import Store
from deskcli.sync.protocol import AUTHOR_FIELDS, ENTITY_TABLES

#: Local tables whose rows belong to one ticket (``ticket_id``), children first.
TICKET_CHILDREN = ("events", "notes", "time_entries", "step_records", "attachments",
                   "csat_responses", "kb_links", "outbound", "tag_changes")


def remove_record(store: Store, entity: str, entity_id: str) -> bool:
    """Delete a ticket or an article and its children; False if it was not here."""
    if entity == "ticket":
        table, children = "tickets", [(t, "ticket_id") for t in TICKET_CHILDREN]
    elif entity == "kb_article":
        table, children = "kb_articles", [("kb_links", "article_id"),
                                          ("kb_versions", "article_id")]
    else:
        return False
    if store.row(table, entity_id) is None:
        return False
    for child, column in children:
        store.sync.delete_remote(child, column, entity_id)
    store.sync.delete_remote(table, "id", entity_id)
    store.sync.delete_remote("field_versions", "entity_id", entity_id)
    return True


def adopt_handle(store: Store, handle: str) -> int:
    """Write the technician's team handle as the author of every change not yet sent.

    The server fills authors in from the token, so work done before joining (under the
    local login name) would otherwise read differently on this laptop than on everyone
    else's. Returns how many changes were rewritten; runs inside the caller's transaction.
    """
    rewritten = 0
    for op in store.sync.pending_ops(1_000_000):
        value = json.loads(op["value"]) if op["value"] is not None else None
        table = ENTITY_TABLES.get(op["entity"])
        if table is None:
            continue
        if op["kind"] in ("create", "append") and isinstance(value, dict):
            changes = {k: handle for k in AUTHOR_FIELDS
                       if value.get(k) and value[k] != handle}
            if changes:
                store.sync.rewrite_pending_value(op["op_id"], {**value, **changes})
                store.sync.update_remote(table, op["entity_id"], changes)
                rewritten += 1
        elif op["kind"] == "set" and op["field"] in AUTHOR_FIELDS and value \
                and value != handle:
            store.sync.rewrite_pending_value(op["op_id"], handle)
            store.sync.update_remote(table, op["entity_id"], {op["field"]: handle})
            rewritten += 1
    return rewritten
