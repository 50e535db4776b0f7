"""The local store's tables, declared as SQLModel classes for the team server's side.

The local store creates its tables with the SQL migrations in ``storage/migrations.py``
and never imports SQLAlchemy (CLI start-up cannot pay for it). The server needs the same
schema to know which columns each synced entity has (``server/feed.py``), so it is
declared a second time here, next to the server, on purpose.
``tests/sync/test_local_tables.py`` builds a store with the migrations and a database
from these classes and compares them, so the two declarations cannot drift apart.

These tables live in their own metadata (``LOCAL_METADATA``), apart from the server's
own tables in ``server/models.py``: the server database never creates them, and the
server's schema revisions (``server/migrations``) never see them.
"""

from __future__ import annotations

from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

_REGISTRY = registry()
LOCAL_METADATA = _REGISTRY.metadata


class LocalTable(SQLModel, registry=_REGISTRY):
    """Base of the local tables: keeps them out of ``SQLModel.metadata``."""


class Meta(LocalTable, table=True):
    __tablename__ = "meta"
    key: str = Field(primary_key=True)
    value: str


class Client(LocalTable, table=True):
    __tablename__ = "clients"
    id: str = Field(primary_key=True)
    name: str = Field(unique=True)
    contract_tier: str = "standard"
    created_at: str


class Caller(LocalTable, table=True):
    __tablename__ = "callers"
    id: str = Field(primary_key=True)
    name: str
    email: str | None = None
    phone: str | None = None
    client_id: str | None = Field(default=None, foreign_key="clients.id")
    vip: int = 0
    created_at: str


class NumberLease(LocalTable, table=True):
    __tablename__ = "number_leases"
    start: int = Field(primary_key=True)
    end: int
    next: int
    authority: str
    granted_at: str


class Ticket(LocalTable, table=True):
    __tablename__ = "tickets"
    id: str = Field(primary_key=True)
    number: int | None = Field(default=None, unique=True)
    provisional: str | None = Field(default=None, unique=True)
    checklist: str
    type: str
    status: str
    priority: str
    impact: str | None = None
    urgency: str | None = None
    summary: str
    caller_id: str | None = Field(default=None, foreign_key="callers.id")
    verification: str | None = None
    verification_detail: str | None = None
    verified_at: str | None = None
    verified_by: str | None = None
    verbatim: str | None = None
    error_text: str | None = None
    event_ids: str | None = None
    doing: str | None = None
    reproducible: str | None = None
    users_affected: int | None = None
    client_id: str | None = Field(default=None, foreign_key="clients.id")
    asset: str | None = None
    category: str | None = None
    channel: str
    assignee: str | None = None
    queue: str | None = None
    root_cause: str | None = None
    resolution: str | None = None
    resolution_category: str | None = None
    created_at: str
    created_by: str
    updated_at: str
    first_response_at: str | None = None
    last_contact_at: str | None = None
    resolved_at: str | None = None
    closed_at: str | None = None
    response_due: str
    response_risk_at: str
    resolve_due: str
    resolve_risk_at: str
    sla_paused_since: str | None = None
    sla_paused_seconds: int = 0
    urgency_due: str | None = None
    flagged: str | None = None
    parent_id: str | None = None
    merged_into: str | None = None


class Event(LocalTable, table=True):
    __tablename__ = "events"
    id: str = Field(primary_key=True)
    ticket_id: str = Field(foreign_key="tickets.id")
    at: str
    actor: str
    kind: str
    summary: str
    detail: str | None = None


class Note(LocalTable, table=True):
    __tablename__ = "notes"
    id: str = Field(primary_key=True)
    ticket_id: str = Field(foreign_key="tickets.id")
    at: str
    author: str
    body: str
    internal: int


class TimeEntry(LocalTable, table=True):
    __tablename__ = "time_entries"
    id: str = Field(primary_key=True)
    ticket_id: str = Field(foreign_key="tickets.id")
    at: str
    author: str
    minutes: int
    note: str | None = None


class StepRecord(LocalTable, table=True):
    __tablename__ = "step_records"
    id: str = Field(primary_key=True)
    ticket_id: str = Field(foreign_key="tickets.id")
    checklist: str
    step: str
    at: str
    actor: str
    data: str


class OutboxOp(LocalTable, table=True):
    __tablename__ = "outbox"
    seq: int | None = Field(default=None, primary_key=True)
    op_id: str = Field(unique=True)
    entity: str
    entity_id: str
    kind: str
    field: str | None = None
    value: str | None = None
    hlc: str
    base_seq: int | None = None
    created_at: str
    state: str = "pending"
    acked_seq: int | None = None


class FieldVersion(LocalTable, table=True):
    """The HLC stamp of the value each field holds; ``*`` covers a whole created row."""

    __tablename__ = "field_versions"
    entity: str = Field(primary_key=True)
    entity_id: str = Field(primary_key=True)
    field: str = Field(primary_key=True)
    hlc: str


class SyncRejection(LocalTable, table=True):
    __tablename__ = "sync_rejections"
    op_id: str = Field(primary_key=True)
    reason: str
    rejected_at: str


class SyncQuarantine(LocalTable, table=True):
    """Local only: a pulled feed row this store could not apply, kept with the reason so
    sync goes on without it (``deskcli sync --quarantined``)."""

    __tablename__ = "sync_quarantine"
    op_id: str = Field(primary_key=True)
    seq: int
    entity: str
    entity_id: str
    kind: str
    field: str | None = None
    value: str
    hlc: str
    tech: str
    reason: str
    state: str = "held"
    quarantined_at: str


class Blob(LocalTable, table=True):
    __tablename__ = "blobs"
    sha256: str = Field(primary_key=True)
    size: int
    data: bytes


class Attachment(LocalTable, table=True):
    __tablename__ = "attachments"
    id: str = Field(primary_key=True)
    ticket_id: str = Field(foreign_key="tickets.id")
    at: str
    author: str
    filename: str
    sha256: str = Field(foreign_key="blobs.sha256")
    size: int


class KbArticle(LocalTable, table=True):
    """A knowledge-base article's current fields (last-writer-wins, like a ticket's)."""

    __tablename__ = "kb_articles"
    id: str = Field(primary_key=True)
    title: str
    body: str = ""
    tags: str = ""
    error_codes: str = ""
    products: str = ""
    client_id: str | None = Field(default=None, foreign_key="clients.id")
    created_at: str
    created_by: str
    revised_at: str
    revised_by: str


class KbVersion(LocalTable, table=True):
    """One saved version of an article: append-only history of who changed what."""

    __tablename__ = "kb_versions"
    id: str = Field(primary_key=True)
    article_id: str = Field(foreign_key="kb_articles.id")
    at: str
    author: str
    changed: str
    title: str
    body: str
    tags: str
    error_codes: str
    products: str
    client_id: str | None = None


class KbLink(LocalTable, table=True):
    """A ticket that used an article (append-only)."""

    __tablename__ = "kb_links"
    id: str = Field(primary_key=True)
    article_id: str = Field(foreign_key="kb_articles.id")
    ticket_id: str = Field(foreign_key="tickets.id")
    at: str
    author: str


class KbDoc(LocalTable, table=True):
    """Local only: what each full-text index row is (kind, id, filters); never synced."""

    __tablename__ = "kb_docs"
    doc: int | None = Field(default=None, primary_key=True)
    kind: str
    ref_id: str = Field(unique=True)
    client_id: str | None = None
    tags: str = ""
    at: str


class CsatResponse(LocalTable, table=True):
    """A caller's satisfaction survey answer: append-only, like notes."""

    __tablename__ = "csat_responses"
    id: str = Field(primary_key=True)
    ticket_id: str = Field(foreign_key="tickets.id")
    at: str
    author: str
    score: int
    comment: str | None = None


class Outbound(LocalTable, table=True):
    """A message waiting to go out, or the record of one that went (local: never synced)."""

    __tablename__ = "outbound"
    id: str = Field(primary_key=True)
    ticket_id: str = Field(foreign_key="tickets.id")
    purpose: str
    channel: str
    idem_key: str = Field(unique=True)
    recipient: str | None = None
    payload: str
    state: str = "queued"
    attempts: int = 0
    not_before: str
    lease_owner: str | None = None
    lease_until: str | None = None
    last_error: str | None = None
    created_at: str
    sent_at: str | None = None


class MailMessage(LocalTable, table=True):
    """An email the intake took in, refused or parked (local: never synced); the key is its
    Message-ID or a content hash, so it is taken in once."""

    __tablename__ = "mail_messages"
    key: str = Field(primary_key=True)
    mailbox: str
    folder: str
    uidvalidity: int
    uid: int
    sender: str | None = None
    outcome: str
    ticket_id: str | None = Field(default=None, foreign_key="tickets.id")
    reason: str | None = None
    at: str


class MailboxState(LocalTable, table=True):
    """Each intake mailbox's last fetch and the claim of the fetcher working on it."""

    __tablename__ = "mailbox_state"
    mailbox: str = Field(primary_key=True)
    last_attempt_at: str | None = None
    last_success_at: str | None = None
    last_error: str | None = None
    failures: int = 0
    lease_owner: str | None = None
    lease_until: str | None = None


class TagChange(LocalTable, table=True):
    """One tag added to or removed from a ticket (append-only; ``domain.tags``)."""

    __tablename__ = "tag_changes"
    id: str = Field(primary_key=True)
    ticket_id: str = Field(foreign_key="tickets.id")
    tag: str
    action: str
    removes: str | None = None
    at: str
    author: str


class TicketTag(LocalTable, table=True):
    """The tags on each ticket now, kept from ``tag_changes`` by triggers (local only)."""

    __tablename__ = "ticket_tags"
    tag: str = Field(primary_key=True)
    ticket_id: str = Field(primary_key=True, foreign_key="tickets.id")
