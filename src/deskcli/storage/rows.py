"""The shapes of rows the store hands out, declared once each.

``Row`` is what ``sqlite3`` gives through the store's row factory: a plain dict keyed by
column name. The typed shapes below name those keys (or tuple positions) so every layer
reads the same names. They are declarations only: a ``NamedTuple`` or ``TypedDict`` class
is built once at import and costs nothing per row.

Queue rows stream as plain tuples in ``QueueRow`` field order, never as ``QueueRow``
instances: building one object per row would cost more than reading it (the queue can be
a million rows). ``QUEUE_AT`` gives each field's position; ``QueueRow._make(row)`` gives
attribute access where a handful of rows are read.
"""

from typing import Any, NamedTuple, NotRequired, TypedDict

Row = dict[str, Any]


class QueueRow(NamedTuple):
    """One queue listing row: the fields the CLI's ``queue`` and the console show."""

    id: str
    number: int | None
    provisional: str | None
    status: str
    priority: str
    type: str
    summary: str
    caller: str | None
    client: str | None
    assignee: str | None
    category: str | None
    channel: str | None
    created_at: str
    updated_at: str
    response_due: str | None
    response_risk_at: str | None
    resolve_due: str | None
    resolve_risk_at: str | None
    first_response_at: str | None
    resolved_at: str | None
    sla_paused_since: str | None
    urgency_due: str | None
    last_contact_at: str | None


#: Position of each ``QueueRow`` field in a streamed queue tuple.
QUEUE_AT: dict[str, int] = {name: index for index, name in enumerate(QueueRow._fields)}


class TicketRow(TypedDict):
    """One ticket as ``store.tickets`` reads it: every column of ``tickets`` plus its
    caller's and client's names (``Tickets.by_id``, ``by_number``, ``by_provisional``).

    Services take and return tickets as this type, so a misspelt or missing column is a
    type error rather than a ``KeyError`` at run time. ``tests/storage/test_rows.py`` holds
    it to the columns the select really returns.
    """

    id: str
    number: int | None
    provisional: str | None
    checklist: str
    type: str
    status: str
    priority: str
    impact: str | None
    urgency: str | None
    summary: str
    caller_id: str | None
    verification: str | None
    verification_detail: str | None
    verified_at: str | None
    verified_by: str | None
    verbatim: str | None
    error_text: str | None
    event_ids: str | None
    doing: str | None
    reproducible: str | None
    users_affected: int | None
    client_id: str | None
    asset: str | None
    category: str | None
    channel: str
    assignee: str | None
    queue: str | None
    root_cause: str | None
    resolution: str | None
    resolution_category: str | None
    created_at: str
    created_by: str
    updated_at: str
    first_response_at: str | None
    last_contact_at: str | None
    resolved_at: str | None
    closed_at: str | None
    response_due: str
    response_risk_at: str
    resolve_due: str
    resolve_risk_at: str
    sla_paused_since: str | None
    sla_paused_seconds: int
    urgency_due: str | None
    flagged: str | None
    parent_id: str | None
    merged_into: str | None
    caller_name: str | None
    caller_email: str | None
    caller_phone: str | None
    caller_vip: int | None
    client_name: str | None
    contract_tier: str | None
    #: Set only on the ticket a ``TicketDetail`` carries: its tags, sorted.
    tags: NotRequired[list[str]]
