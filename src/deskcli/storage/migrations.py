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

V4_KB = """
CREATE TABLE kb_articles (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    body TEXT NOT NULL DEFAULT '',
    tags TEXT NOT NULL DEFAULT '',
    error_codes TEXT NOT NULL DEFAULT '',
    products TEXT NOT NULL DEFAULT '',
    client_id TEXT REFERENCES clients(id),
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    revised_at TEXT NOT NULL,
    revised_by TEXT NOT NULL
);
CREATE INDEX kb_articles_by_updated ON kb_articles(revised_at);
CREATE TABLE kb_versions (
    id TEXT PRIMARY KEY,
    article_id TEXT NOT NULL REFERENCES kb_articles(id),
    at TEXT NOT NULL,
    author TEXT NOT NULL,
    changed TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    tags TEXT NOT NULL,
    error_codes TEXT NOT NULL,
    products TEXT NOT NULL,
    client_id TEXT
);
CREATE INDEX kb_versions_by_article ON kb_versions(article_id, at);
CREATE TABLE kb_links (
    id TEXT PRIMARY KEY,
    article_id TEXT NOT NULL REFERENCES kb_articles(id),
    ticket_id TEXT NOT NULL REFERENCES tickets(id),
    at TEXT NOT NULL,
    author TEXT NOT NULL
);
CREATE INDEX kb_links_by_article ON kb_links(article_id, at);
CREATE INDEX kb_links_by_ticket ON kb_links(ticket_id, at);
CREATE TABLE kb_docs (
    doc INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    ref_id TEXT NOT NULL UNIQUE,
    client_id TEXT,
    tags TEXT NOT NULL DEFAULT '',
    at TEXT NOT NULL
);
CREATE VIRTUAL TABLE kb_fts USING fts5(
    title, codes, body, tokenize = 'unicode61 remove_diacritics 2'
);
-- A document's number (kb_docs.doc = kb_fts.rowid) says what it is and how recent it is,
-- so ranking never has to look a row up in kb_docs: tickets are positive, articles
-- negative, and the magnitude is the document's time in seconds * 1048576 (2^20) plus a
-- counter for documents of the same second. See KnowledgeBase.search (storage/kb.py).
CREATE TRIGGER kb_article_indexed AFTER INSERT ON kb_articles BEGIN
    INSERT INTO kb_docs(doc, kind, ref_id, client_id, tags, at)
        SELECT (SELECT coalesce(min(doc) - 1, -s.base) FROM kb_docs
                WHERE doc BETWEEN -s.base - 1048575 AND -s.base),
               'article', new.id, new.client_id, new.tags, new.revised_at
        FROM (SELECT CAST(strftime('%s', new.revised_at) AS INTEGER) * 1048576 AS base) s;
    INSERT INTO kb_fts(rowid, title, codes, body)
        VALUES ((SELECT doc FROM kb_docs WHERE ref_id = new.id), new.title,
                new.error_codes, new.body || char(10) || new.tags || char(10) || new.products);
END;
CREATE TRIGGER kb_article_reindexed AFTER UPDATE ON kb_articles BEGIN
    DELETE FROM kb_fts WHERE rowid = (SELECT doc FROM kb_docs WHERE ref_id = old.id);
    DELETE FROM kb_docs WHERE ref_id = old.id;
    INSERT INTO kb_docs(doc, kind, ref_id, client_id, tags, at)
        SELECT (SELECT coalesce(min(doc) - 1, -s.base) FROM kb_docs
                WHERE doc BETWEEN -s.base - 1048575 AND -s.base),
               'article', new.id, new.client_id, new.tags, new.revised_at
        FROM (SELECT CAST(strftime('%s', new.revised_at) AS INTEGER) * 1048576 AS base) s;
    INSERT INTO kb_fts(rowid, title, codes, body)
        VALUES ((SELECT doc FROM kb_docs WHERE ref_id = new.id), new.title,
                new.error_codes, new.body || char(10) || new.tags || char(10) || new.products);
END;
CREATE TRIGGER kb_article_unindexed AFTER DELETE ON kb_articles BEGIN
    DELETE FROM kb_fts WHERE rowid = (SELECT doc FROM kb_docs WHERE ref_id = old.id);
    DELETE FROM kb_docs WHERE ref_id = old.id;
END;
CREATE TRIGGER kb_ticket_indexed AFTER INSERT ON tickets
WHEN new.status IN ('resolved', 'closed') BEGIN
    INSERT INTO kb_docs(doc, kind, ref_id, client_id, tags, at)
        SELECT (SELECT coalesce(max(doc) + 1, s.base) FROM kb_docs
                WHERE doc BETWEEN s.base AND s.base + 1048575),
               'ticket', new.id, new.client_id, lower(coalesce(new.category, '')), s.at
        FROM (SELECT coalesce(new.resolved_at, new.closed_at, new.created_at) AS at,
                     CAST(strftime('%s', coalesce(new.resolved_at, new.closed_at,
                                                  new.created_at)) AS INTEGER)
                     * 1048576 AS base) s;
    INSERT INTO kb_fts(rowid, title, codes, body)
        VALUES ((SELECT doc FROM kb_docs WHERE ref_id = new.id), new.summary,
                coalesce(new.error_text, '') || char(10) || coalesce(new.event_ids, ''),
                coalesce(new.verbatim, '') || char(10) || coalesce(new.root_cause, '')
                || char(10) || coalesce(new.resolution, ''));
END;
CREATE TRIGGER kb_ticket_reindexed AFTER UPDATE OF status, summary, error_text, event_ids,
    verbatim, root_cause, resolution, client_id, category, resolved_at ON tickets
WHEN old.status IN ('resolved', 'closed') OR new.status IN ('resolved', 'closed') BEGIN
    DELETE FROM kb_fts WHERE rowid = (SELECT doc FROM kb_docs WHERE ref_id = old.id);
    DELETE FROM kb_docs WHERE ref_id = old.id;
    INSERT INTO kb_docs(doc, kind, ref_id, client_id, tags, at)
        SELECT (SELECT coalesce(max(doc) + 1, s.base) FROM kb_docs
                WHERE doc BETWEEN s.base AND s.base + 1048575),
               'ticket', new.id, new.client_id, lower(coalesce(new.category, '')), s.at
        FROM (SELECT coalesce(new.resolved_at, new.closed_at, new.created_at) AS at,
                     CAST(strftime('%s', coalesce(new.resolved_at, new.closed_at,
                                                  new.created_at)) AS INTEGER)
                     * 1048576 AS base) s
        WHERE new.status IN ('resolved', 'closed');
    INSERT INTO kb_fts(rowid, title, codes, body)
        SELECT doc, new.summary,
               coalesce(new.error_text, '') || char(10) || coalesce(new.event_ids, ''),
               coalesce(new.verbatim, '') || char(10) || coalesce(new.root_cause, '')
               || char(10) || coalesce(new.resolution, '')
        FROM kb_docs WHERE ref_id = new.id;
END;
CREATE TRIGGER kb_ticket_unindexed AFTER DELETE ON tickets BEGIN
    DELETE FROM kb_fts WHERE rowid = (SELECT doc FROM kb_docs WHERE ref_id = old.id);
    DELETE FROM kb_docs WHERE ref_id = old.id;
END;
INSERT INTO kb_docs(doc, kind, ref_id, client_id, tags, at)
    SELECT CAST(strftime('%s', at) AS INTEGER) * 1048576
           + row_number() OVER (PARTITION BY at ORDER BY id) - 1,
           'ticket', id, client_id, tags, at
    FROM (SELECT id, client_id, lower(coalesce(category, '')) AS tags,
                 coalesce(resolved_at, closed_at, created_at) AS at
          FROM tickets WHERE status IN ('resolved', 'closed'));
INSERT INTO kb_fts(rowid, title, codes, body)
    SELECT d.doc, t.summary,
           coalesce(t.error_text, '') || char(10) || coalesce(t.event_ids, ''),
           coalesce(t.verbatim, '') || char(10) || coalesce(t.root_cause, '')
           || char(10) || coalesce(t.resolution, '')
    FROM kb_docs d JOIN tickets t ON t.id = d.ref_id;
"""

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

V7_QUARANTINE = """
CREATE TABLE sync_quarantine (
    op_id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    entity TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    field TEXT,
    value TEXT NOT NULL,
    hlc TEXT NOT NULL,
    tech TEXT NOT NULL,
    reason TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'held',
    quarantined_at TEXT NOT NULL
);
CREATE INDEX sync_quarantine_by_state ON sync_quarantine(state, seq);
"""

V8_MAIL_INTAKE = """
CREATE TABLE mail_messages (
    key TEXT PRIMARY KEY,
    mailbox TEXT NOT NULL,
    folder TEXT NOT NULL,
    uidvalidity INTEGER NOT NULL,
    uid INTEGER NOT NULL,
    sender TEXT,
    outcome TEXT NOT NULL,
    ticket_id TEXT REFERENCES tickets(id),
    reason TEXT,
    at TEXT NOT NULL
);
CREATE INDEX mail_messages_by_uid ON mail_messages(mailbox, folder, uidvalidity, uid);
CREATE INDEX mail_messages_by_sender ON mail_messages(sender, at);
CREATE INDEX mail_messages_by_ticket ON mail_messages(ticket_id);
CREATE TABLE mailbox_state (
    mailbox TEXT PRIMARY KEY,
    last_attempt_at TEXT,
    last_success_at TEXT,
    last_error TEXT,
    failures INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until TEXT
);
CREATE INDEX events_by_mail_key ON events(json_extract(detail, '$.mail_key'))
    WHERE kind IN ('email_received', 'caller_reply', 'internal_note');
"""

#: The queue's order as one index (``storage/queue_pages.py``, whose ``INDEX_SQL`` is this
#: statement; a test keeps the two equal): each page of the console's queue, the history
#: of a million tickets included, is then a few index seeks instead of a sort of every row.
V11_QUEUE_KEY = """
CREATE INDEX IF NOT EXISTS tickets_queue_key ON tickets((CASE WHEN priority = 'P1' AND \
first_response_at IS NULL AND status IN ('new', 'open', 'in-progress', 'pending-caller', \
'pending-third-party', 'escalated') THEN 0 WHEN urgency_due IS NULL THEN 2 ELSE 1 END), \
coalesce(urgency_due, ''), priority, coalesce(number, 0), status);
"""

V9_WORKLOAD = """
CREATE INDEX IF NOT EXISTS tickets_by_assignee_status ON tickets(assignee, status);
"""

V10_TAGS = """
CREATE TABLE tag_changes (
    id TEXT PRIMARY KEY,
    ticket_id TEXT NOT NULL REFERENCES tickets(id),
    tag TEXT NOT NULL,
    action TEXT NOT NULL,
    removes TEXT,
    at TEXT NOT NULL,
    author TEXT NOT NULL
);
CREATE INDEX tag_changes_by_ticket ON tag_changes(ticket_id, tag);
CREATE TABLE ticket_tags (
    tag TEXT NOT NULL,
    ticket_id TEXT NOT NULL REFERENCES tickets(id),
    PRIMARY KEY (tag, ticket_id)
) WITHOUT ROWID;
CREATE INDEX ticket_tags_by_ticket ON ticket_tags(ticket_id, tag);
CREATE TRIGGER tag_changes_added AFTER INSERT ON tag_changes BEGIN
    DELETE FROM ticket_tags WHERE tag = NEW.tag AND ticket_id = NEW.ticket_id;
    INSERT INTO ticket_tags(tag, ticket_id) SELECT NEW.tag, NEW.ticket_id WHERE EXISTS (
        SELECT 1 FROM tag_changes a WHERE a.ticket_id = NEW.ticket_id AND a.tag = NEW.tag
        AND a.action = 'add' AND NOT EXISTS (
            SELECT 1 FROM tag_changes r WHERE r.ticket_id = a.ticket_id AND r.tag = a.tag
            AND r.action = 'remove' AND r.removes = a.id));
END;
CREATE TRIGGER tag_changes_deleted AFTER DELETE ON tag_changes BEGIN
    DELETE FROM ticket_tags WHERE tag = OLD.tag AND ticket_id = OLD.ticket_id;
    INSERT INTO ticket_tags(tag, ticket_id) SELECT OLD.tag, OLD.ticket_id WHERE EXISTS (
        SELECT 1 FROM tag_changes a WHERE a.ticket_id = OLD.ticket_id AND a.tag = OLD.tag
        AND a.action = 'add' AND NOT EXISTS (
            SELECT 1 FROM tag_changes r WHERE r.ticket_id = a.ticket_id AND r.tag = a.tag
            AND r.action = 'remove' AND r.removes = a.id));
END;
"""

V12_RULE_FIRINGS = """
CREATE TABLE rule_firings (
    id TEXT PRIMARY KEY,
    rule TEXT NOT NULL,
    ticket_id TEXT NOT NULL REFERENCES tickets(id),
    episode INTEGER NOT NULL,
    event TEXT NOT NULL,
    at TEXT NOT NULL,
    anchors TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    outcome TEXT NOT NULL
);
CREATE UNIQUE INDEX rule_firings_by_episode ON rule_firings(rule, ticket_id, episode);
CREATE INDEX rule_firings_active ON rule_firings(rule, active, ticket_id);
CREATE INDEX rule_firings_by_ticket ON rule_firings(ticket_id);
CREATE INDEX events_by_kind_at ON events(kind, at);
"""

V13_LINKS = """
ALTER TABLE tickets ADD COLUMN parent_id TEXT;
ALTER TABLE tickets ADD COLUMN merged_into TEXT;
CREATE INDEX tickets_by_parent ON tickets(parent_id, created_at, id) WHERE parent_id IS NOT NULL;
CREATE INDEX tickets_by_merged_into ON tickets(merged_into, created_at, id)
    WHERE merged_into IS NOT NULL;
"""

#: The queue key behind each filter the history view offers (``storage/queue_pages.py``,
#: ``FILTER_INDEXES``, whose statements these are; a test keeps them equal): a filtered
#: page, its count and a jump to its middle read only the matching tickets' index entries,
#: in order. The assignee filter matches regardless of case, so its index does too.
V14_FILTERED_QUEUE_KEYS = """
CREATE INDEX IF NOT EXISTS tickets_queue_key_by_assignee ON tickets(assignee COLLATE NOCASE, \
(CASE WHEN priority = 'P1' AND \
first_response_at IS NULL AND status IN ('new', 'open', 'in-progress', 'pending-caller', \
'pending-third-party', 'escalated') THEN 0 WHEN urgency_due IS NULL THEN 2 ELSE 1 END), \
coalesce(urgency_due, ''), priority, coalesce(number, 0), status);
CREATE INDEX IF NOT EXISTS tickets_queue_key_by_client ON tickets(client_id, \
(CASE WHEN priority = 'P1' AND \
first_response_at IS NULL AND status IN ('new', 'open', 'in-progress', 'pending-caller', \
'pending-third-party', 'escalated') THEN 0 WHEN urgency_due IS NULL THEN 2 ELSE 1 END), \
coalesce(urgency_due, ''), priority, coalesce(number, 0), status);
CREATE INDEX IF NOT EXISTS tickets_queue_key_by_priority ON tickets(priority, \
(CASE WHEN priority = 'P1' AND \
first_response_at IS NULL AND status IN ('new', 'open', 'in-progress', 'pending-caller', \
'pending-third-party', 'escalated') THEN 0 WHEN urgency_due IS NULL THEN 2 ELSE 1 END), \
coalesce(urgency_due, ''), coalesce(number, 0), status);
"""

#: The queue's text search as an index (``storage/queue.py``, ``text_condition``): a
#: full-text table of every ticket's summary, cut in trigrams so a substring is found
#: without reading every ticket. It holds ``lower(summary)`` (SQLite's ``lower`` folds
#: ASCII letters only) and is case-sensitive, so a match is exactly what ``LIKE`` finds
#: (ASCII letters regardless of case, any other character as written). Kept in step by
#: triggers; its rowid is the ticket's. The search also matches the caller's name, so a
#: caller's tickets get an index of their own.
V15_TICKET_TEXT = """
CREATE VIRTUAL TABLE IF NOT EXISTS ticket_text USING fts5(
    text, tokenize = 'trigram case_sensitive 1');
DELETE FROM ticket_text;
INSERT INTO ticket_text(rowid, text) SELECT rowid, lower(summary) FROM tickets;
CREATE TRIGGER IF NOT EXISTS ticket_text_added AFTER INSERT ON tickets BEGIN
    INSERT INTO ticket_text(rowid, text) VALUES (new.rowid, lower(new.summary));
END;
CREATE TRIGGER IF NOT EXISTS ticket_text_changed AFTER UPDATE OF summary ON tickets
WHEN old.summary IS NOT new.summary BEGIN
    UPDATE ticket_text SET text = lower(new.summary) WHERE rowid = new.rowid;
END;
CREATE TRIGGER IF NOT EXISTS ticket_text_removed AFTER DELETE ON tickets BEGIN
    DELETE FROM ticket_text WHERE rowid = old.rowid;
END;
CREATE INDEX IF NOT EXISTS tickets_by_caller ON tickets(caller_id);
"""

#: A rowid of ``ticket_text_ordered`` is ``ORDERED_BLOCK`` times the priority's digit plus
#: the ticket's number: one block of rowids per priority, the numbers in order inside it.
ORDERED_BLOCK = 2 ** 50


def ordered_code(row: str) -> str:
    """The place in the queue of the ticket ``row`` (``new``, ``old``, ``t``) as a rowid of
    ``ticket_text_ordered``, or NULL when its place is not its priority then its number:
    a clock running (or an unanswered open P1, first in the queue), no number yet (or
    one outside ``1 .. ORDERED_BLOCK - 1``), a priority other than P1-P4. The queue
    orders every other ticket by priority then number (``storage/queue_pages.py``,
    ``KEY_PARTS``: the rank is 2 and the due time empty), and numbers are unique."""
    return (f"(CASE WHEN {row}.urgency_due IS NULL AND typeof({row}.number) = 'integer' "
            f"AND {row}.number BETWEEN 1 AND {ORDERED_BLOCK - 1} "
            f"AND {row}.priority IN ('P1', 'P2', 'P3', 'P4') "
            f"AND NOT ({row}.priority = 'P1' AND {row}.first_response_at IS NULL "
            f"AND {row}.status IN ('new', 'open', 'in-progress', 'pending-caller', "
            f"'pending-third-party', 'escalated')) "
            f"THEN {ORDERED_BLOCK} * CAST(substr({row}.priority, 2) AS INTEGER) "
            f"+ {row}.number END)")


#: The queue's text search in the queue's own order (``storage/queue_text_jump.py``): the
#: summaries of the tickets with no clock running (nearly all of a long history: the
#: closed ones) in a second trigram index whose rowid is their place in the queue
#: (``ordered_code``), so its matches come in the queue's order. A jump into the middle
#: of a common term's matches is then a count and an ``OFFSET`` over this index, not a
#: visit to every match. The other tickets are few and read from the queue key. Kept in
#: step by triggers on every column the place depends on and on the summary. Filled in
#: rowid order: the full-text index writes out what it holds whenever a rowid comes
#: lower than the one before, and in the tickets' order that is at every other row.
V16_TICKET_TEXT_ORDERED = f"""
CREATE VIRTUAL TABLE IF NOT EXISTS ticket_text_ordered USING fts5(
    text, tokenize = 'trigram case_sensitive 1');
DELETE FROM ticket_text_ordered;
INSERT INTO ticket_text_ordered(rowid, text) SELECT code, lower(summary) FROM (
    SELECT {ordered_code("t")} AS code, t.summary FROM tickets t) WHERE code IS NOT NULL
    ORDER BY code;
CREATE TRIGGER IF NOT EXISTS ticket_text_ordered_added AFTER INSERT ON tickets
WHEN {ordered_code("new")} IS NOT NULL BEGIN
    INSERT INTO ticket_text_ordered(rowid, text)
    VALUES ({ordered_code("new")}, lower(new.summary));
END;
CREATE TRIGGER IF NOT EXISTS ticket_text_ordered_changed AFTER UPDATE OF summary, priority,
status, urgency_due, first_response_at, number ON tickets
WHEN {ordered_code("old")} IS NOT {ordered_code("new")}
OR ({ordered_code("new")} IS NOT NULL AND old.summary IS NOT new.summary) BEGIN
    DELETE FROM ticket_text_ordered WHERE rowid = {ordered_code("old")};
    INSERT INTO ticket_text_ordered(rowid, text)
    SELECT {ordered_code("new")}, lower(new.summary) WHERE {ordered_code("new")} IS NOT NULL;
END;
CREATE TRIGGER IF NOT EXISTS ticket_text_ordered_removed AFTER DELETE ON tickets
WHEN {ordered_code("old")} IS NOT NULL BEGIN
    DELETE FROM ticket_text_ordered WHERE rowid = {ordered_code("old")};
END;
"""

#: (version, description, script). Version N's script upgrades N-1 to N.
MIGRATIONS: list[tuple[int, str, str]] = [
    (1, "tickets, callers, clients, timeline and outbox", V1_CORE),
    (2, "attachments stored by content hash", V2_ATTACHMENTS),
    (3, "sync: field versions, acknowledged ops, rejections, conflict flag", V3_SYNC),
    (4, "knowledge base: articles, versions, ticket links, full-text index", V4_KB),
    (5, "satisfaction survey answers", V5_CSAT),
    (6, "outbound messages: pages, chat posts and caller email, queued durably", V6_OUTBOUND),
    (7, "sync: feed rows this store could not apply, set aside", V7_QUARANTINE),
    (8, "email intake: messages taken in (exactly once) and each mailbox's last fetch",
     V8_MAIL_INTAKE),
    (9, "assignment: open tickets per technician, counted from an index", V9_WORKLOAD),
    (10, "ticket tags: the synced add/remove records and the current set they give",
     V10_TAGS),
    (11, "the queue's order as an index: console pages by keyset", V11_QUEUE_KEY),
    (12, "rules: which rule fired on which ticket, once per condition episode",
     V12_RULE_FIRINGS),
    (13, "ticket links: a parent (an incident and its duplicates) and merged duplicates",
     V13_LINKS),
    (14, "the queue key behind each history filter: assignee, client, priority",
     V14_FILTERED_QUEUE_KEYS),
    (15, "the queue's text search as an index: summaries in trigrams, tickets by caller",
     V15_TICKET_TEXT),
    (16, "the text search in the queue's order: a jump into a common term's matches",
     V16_TICKET_TEXT_ORDERED),
]

LATEST = MIGRATIONS[-1][0]
