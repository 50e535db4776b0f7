"""The team server's tables.

The server keeps the *change feed* (every accepted op with its sequence number), the
current value and version of every mutable field (for last-writer-wins and conflict
records), which client each entity belongs to (for authorisation), ticket numbers and
number leases, and technicians with their token hashes. It does not need the ticket
tables themselves: clients materialise them from the feed.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel


class SrvMeta(SQLModel, table=True):
    __tablename__ = "srv_meta"
    key: str = Field(primary_key=True)
    value: str


class SrvCounter(SQLModel, table=True):
    """Locked and bumped inside the committing transaction: sequences without gaps."""

    __tablename__ = "srv_counter"
    name: str = Field(primary_key=True)
    value: int


class SrvTech(SQLModel, table=True):
    __tablename__ = "srv_tech"
    handle: str = Field(primary_key=True)
    name: str
    tier: int = 1
    is_admin: bool = False
    token_hash: str = Field(index=True)
    revoked: bool = False
    created_at: str


class SrvTechClient(SQLModel, table=True):
    """The clients (MSP customers) a technician works for; none for an admin."""

    __tablename__ = "srv_tech_client"
    handle: str = Field(primary_key=True, foreign_key="srv_tech.handle")
    client_id: str = Field(primary_key=True)
    client_name: str


class SrvOp(SQLModel, table=True):
    """The change feed: clients pull everything after their cursor, in ``seq`` order."""

    __tablename__ = "srv_op"
    __table_args__ = (Index("srv_op_by_scope_seq", "scope", "seq"),)
    seq: int = Field(primary_key=True)
    op_id: str = Field(unique=True)
    origin: str
    tech: str
    entity: str
    entity_id: str
    kind: str
    field: str | None = None
    value: str = Field(sa_column=Column(Text, nullable=False))
    hlc: str
    base_seq: int | None = None
    #: The client (customer) id the change belongs to; '' for unscoped records.
    scope: str = ""
    status: str = "applied"
    received_at: str


class SrvRejected(SQLModel, table=True):
    """Ops refused for good: remembered so a retried push gets the same answer."""

    __tablename__ = "srv_rejected"
    op_id: str = Field(primary_key=True)
    reason: str
    rejected_at: str


class SrvEntity(SQLModel, table=True):
    __tablename__ = "srv_entity"
    entity: str = Field(primary_key=True)
    entity_id: str = Field(primary_key=True)
    scope: str = ""
    ticket_id: str | None = None


class SrvField(SQLModel, table=True):
    """The winning value of each mutable field, with its stamp and the seq it came in at."""

    __tablename__ = "srv_field"
    entity: str = Field(primary_key=True)
    entity_id: str = Field(primary_key=True)
    field: str = Field(primary_key=True)
    value: str = Field(sa_column=Column(Text, nullable=False))
    hlc: str
    seq: int
    origin: str
    tech: str


class SrvLease(SQLModel, table=True):
    __tablename__ = "srv_lease"
    start: int = Field(primary_key=True)
    end: int
    client_id: str = Field(index=True)
    granted_at: str


class SrvNumber(SQLModel, table=True):
    __tablename__ = "srv_number"
    number: int = Field(primary_key=True)
    ticket_id: str = Field(unique=True)


class SrvPresence(SQLModel, table=True):
    """Who has which ticket open right now (collision detection)."""

    __tablename__ = "srv_presence"
    ticket_id: str = Field(primary_key=True)
    tech: str = Field(primary_key=True)
    seen_at: str


class SrvStore(SQLModel, table=True):
    """Which technician's token registered each local store (the push's ``client_id``):
    a push or lease for a store is accepted only with the token that registered it."""

    __tablename__ = "srv_store"
    store_id: str = Field(primary_key=True)
    handle: str = Field(index=True)
    registered_at: str


class SrvAudience(SQLModel, table=True):
    """Who sees a feed row written for a scope change (its ``scope`` is then ``~``): the
    technicians who see ``source`` but not ``target``. A removal goes to those who lose
    sight of a record; the record's copy to those who gain it."""

    __tablename__ = "srv_audience"
    seq: int = Field(primary_key=True)
    source: str = Field(index=True)
    target: str
class SrvIntakeClaim(SQLModel, table=True):
    """Which ``deskcli serve`` process fetches the support mailboxes, until when (a lease:
    a process that died loses it when it runs out)."""

    __tablename__ = "srv_intake_claim"
    name: str = Field(primary_key=True)
    owner: str
    until: str


class SrvTechRoster(SQLModel, table=True):
    """A technician's groups and shift, for assignment rules (round-robin, least-loaded).

    A table of its own rather than columns on ``srv_tech``, so a database created before
    it gains it by ``create_all`` without altering an existing table. ``groups`` is a JSON
    list of group names; ``shift`` the calendar's JSON (``BusinessCalendar.to_mapping``),
    null for a technician always available."""

    __tablename__ = "srv_tech_roster"
    handle: str = Field(primary_key=True, foreign_key="srv_tech.handle")
    groups: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    shift: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
