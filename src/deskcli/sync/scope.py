"""Removing a record this store may no longer hold (issue 14, finding 3).

When a ticket or an article moves to a client the technician does not work for, the server
sends a ``remove`` change for it. The store deletes the record and everything that hangs
off it, inside the pull's transaction, so what it holds stays what the technician may see.
Unsent local changes to it stay in the outbox: the server refuses them and the technician
sees why (``deskcli sync`` lists rejected changes).
"""

from __future__ import annotations

from deskcli.storage.store import Store

#: Local tables whose rows belong to one ticket (``ticket_id``), children first.
TICKET_CHILDREN = ("events", "notes", "time_entries", "step_records", "attachments",
                   "csat_responses", "kb_links", "outbound")


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
        store.delete_remote(child, column, entity_id)
    store.delete_remote(table, "id", entity_id)
    store.delete_remote("field_versions", "entity_id", entity_id)
    return True
