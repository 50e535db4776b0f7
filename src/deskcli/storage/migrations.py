"""Schema versions, applied in order; ``PRAGMA user_version`` records the last one applied.

Never edit a released migration: add the next one. A database written by an older deskcli
opens and upgrades in place, inside one transaction per step, so a crash mid-upgrade
leaves the previous version intact.
"""

from __future__ import annotations

V1_CORE = """
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE clients (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    contract_tier TEXT NOT NULL DEFAULT 'standard',
    created_at TEXT NOT NULL
);
CREATE TABLE callers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT,
    phone TEXT,
    client_id TEXT REFERENCES clients(id),
    vip INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE INDEX callers_by_name ON callers(name COLLATE NOCASE);
CREATE INDEX callers_by_email ON callers(email);
CREATE TABLE number_leases (
    start INTEGER PRIMARY KEY,
    "end" INTEGER NOT NULL,
    next INTEGER NOT NULL,
    authority TEXT NOT NULL,
    granted_at TEXT NOT NULL
);
CREATE TABLE tickets (
    id TEXT PRIMARY KEY,
    number INTEGER UNIQUE,
    provisional TEXT UNIQUE,
    checklist TEXT NOT NULL,
    type TEXT NOT NULL,
    status TEXT NOT NULL,
    priority TEXT NOT NULL,
    impact TEXT,
    urgency TEXT,
    summary TEXT NOT NULL,
    caller_id TEXT REFERENCES callers(id),
    verification TEXT,
    verification_detail TEXT,
    verified_at TEXT,
    verified_by TEXT,
    verbatim TEXT,
    error_text TEXT,
    event_ids TEXT,
    doing TEXT,
    reproducible TEXT,
    users_affected INTEGER,
    client_id TEXT REFERENCES clients(id),
    asset TEXT,
    category TEXT,
    channel TEXT NOT NULL,
    assignee TEXT,
    queue TEXT,
    root_cause TEXT,
    resolution TEXT,
    resolution_category TEXT,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    first_response_at TEXT,
    last_contact_at TEXT,
    resolved_at TEXT,
    closed_at TEXT,
    response_due TEXT NOT NULL,
    response_risk_at TEXT NOT NULL,
    resolve_due TEXT NOT NULL,
    resolve_risk_at TEXT NOT NULL,
    sla_paused_since TEXT,
    sla_paused_seconds INTEGER NOT NULL DEFAULT 0,
    urgency_due TEXT
);
CREATE INDEX tickets_by_urgency ON tickets(urgency_due, priority, number);
CREATE INDEX tickets_by_status ON tickets(status);
CREATE INDEX tickets_by_assignee ON tickets(assignee);
CREATE INDEX tickets_by_client ON tickets(client_id);
CREATE INDEX tickets_by_created ON tickets(created_at);
CREATE TABLE events (
    id TEXT PRIMARY KEY,
    ticket_id TEXT NOT NULL REFERENCES tickets(id),
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    summary TEXT NOT NULL,
    detail TEXT
);
CREATE INDEX events_by_ticket ON events(ticket_id, at);
CREATE TABLE notes (
    id TEXT PRIMARY KEY,
    ticket_id TEXT NOT NULL REFERENCES tickets(id),
    at TEXT NOT NULL,
    author TEXT NOT NULL,
    body TEXT NOT NULL,
    internal INTEGER NOT NULL
);
CREATE INDEX notes_by_ticket ON notes(ticket_id, at);
CREATE TABLE time_entries (
    id TEXT PRIMARY KEY,
    ticket_id TEXT NOT NULL REFERENCES tickets(id),
    at TEXT NOT NULL,
    author TEXT NOT NULL,
    minutes INTEGER NOT NULL CHECK (minutes > 0),
    note TEXT
);
CREATE INDEX time_entries_by_ticket ON time_entries(ticket_id);
CREATE TABLE step_records (
    id TEXT PRIMARY KEY,
    ticket_id TEXT NOT NULL REFERENCES tickets(id),
    checklist TEXT NOT NULL,
    step TEXT NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX step_records_by_ticket ON step_records(ticket_id, step);
CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    op_id TEXT NOT NULL UNIQUE,
    entity TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    field TEXT,
    value TEXT,
    hlc TEXT NOT NULL,
    base_seq INTEGER,
    created_at TEXT NOT NULL
);
"""

V2_ATTACHMENTS = """
CREATE TABLE blobs (
    sha256 TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    data BLOB NOT NULL
);
CREATE TABLE attachments (
    id TEXT PRIMARY KEY,
    ticket_id TEXT NOT NULL REFERENCES tickets(id),
    at TEXT NOT NULL,
    author TEXT NOT NULL,
    filename TEXT NOT NULL,
    sha256 TEXT NOT NULL REFERENCES blobs(sha256),
    size INTEGER NOT NULL
);
CREATE INDEX attachments_by_ticket ON attachments(ticket_id);
"""

V3_SYNC = """
ALTER TABLE tickets ADD COLUMN flagged TEXT;
ALTER TABLE outbox ADD COLUMN state TEXT NOT NULL DEFAULT 'pending';
ALTER TABLE outbox ADD COLUMN acked_seq INTEGER;
CREATE INDEX outbox_by_state ON outbox(state, seq);
CREATE TABLE field_versions (
    entity TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    field TEXT NOT NULL,
    hlc TEXT NOT NULL,
    PRIMARY KEY (entity, entity_id, field)
);
CREATE TABLE sync_rejections (
    op_id TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    rejected_at TEXT NOT NULL
);
"""

# Version 4 is the knowledge base (issue 6); it joins this file when that branch merges.
V5_CSAT = """
CREATE TABLE csat_responses (
    id TEXT PRIMARY KEY,
    ticket_id TEXT NOT NULL REFERENCES tickets(id),
    at TEXT NOT NULL,
    author TEXT NOT NULL,
    score INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
    comment TEXT
);
CREATE INDEX csat_responses_by_ticket ON csat_responses(ticket_id, at);
CREATE INDEX csat_responses_by_at ON csat_responses(at)
"""

V6_OUTBOUND = """
CREATE TABLE outbound (
    id TEXT PRIMARY KEY,
    ticket_id TEXT NOT NULL REFERENCES tickets(id),
    purpose TEXT NOT NULL,
    channel TEXT NOT NULL,
    idem_key TEXT NOT NULL UNIQUE,
    recipient TEXT,
    payload TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued',
    attempts INTEGER NOT NULL DEFAULT 0,
    not_before TEXT NOT NULL,
    lease_owner TEXT,
    lease_until TEXT,
    last_error TEXT,
    created_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE INDEX outbound_by_due ON outbound(state, not_before);
CREATE INDEX outbound_by_ticket ON outbound(ticket_id, purpose);
"""

#: (version, description, script). Version N's script upgrades N-1 to N.
MIGRATIONS: list[tuple[int, str, str]] = [
    (1, "tickets, callers, clients, timeline and outbox", V1_CORE),
    (2, "attachments stored by content hash", V2_ATTACHMENTS),
    (3, "sync: field versions, acknowledged ops, rejections, conflict flag", V3_SYNC),
    (5, "satisfaction survey answers", V5_CSAT),
    (6, "outbound messages: pages, chat posts and caller email, queued durably", V6_OUTBOUND),
]

LATEST = MIGRATIONS[-1][0]
