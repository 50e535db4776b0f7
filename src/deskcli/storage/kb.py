"""The knowledge base: full-text search over articles and resolved tickets (FTS5, kept
in step by triggers, see migration 4), articles, their versions and links.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .rows import Row

if TYPE_CHECKING:
    from .store import Store


class KnowledgeBase:
    """Search and reads of the knowledge base."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.db = store.db


    #: bm25 weights of the index columns (title, codes, body): a hit in an error code or a
    #: title says far more than one word somewhere in a long body.
    WEIGHTS = (8.0, 6.0, 1.0)
    #: An article is a fix someone wrote up to be followed; a ticket is one occurrence.
    #: At a similar text score the article comes first.
    ARTICLE_BOOST = 1.5
    #: Index documents per second of time: a document's number is its time in seconds
    #: times this, plus a counter (negative for articles); migration 4 assigns them.
    DOC_SLOTS = 1 << 20

    def search(self, match: str, *, kind: str | None = None, client_id: str | None = None,
                  tag: str | None = None, since: str | None = None,
                  exclude: str | None = None, articles_for: str | None = None,
                  limit: int = 20) -> list[Row]:
        """Articles and resolved tickets matching an FTS5 expression, best first.

        Ranked by bm25 (lower is better); at an equal score the more recent one comes
        first, so last month's fix is read before last year's. ``client_id`` keeps that
        client's tickets and articles plus the articles written for every client.
        ``articles_for`` (a client id, or ``""`` for none) keeps every ticket but only the
        articles that serve that client: a search from a ticket offers no runbook it may
        not use. The snippet marks matches with \\x02 ... \\x03 for the front end to style.

        Two steps, because a common word matches thousands of documents: first rank
        every match using the index alone (a document's number says whether it is an
        article and how recent it is, see migration 4), then join and build snippets for
        the ``limit`` winners only. Only a client or tag filter looks up each match.
        """
        where = ["kb_fts MATCH ?"]
        params: list[Any] = [match]
        join = ""
        if kind == "article":
            where.append("kb_fts.rowid < 0")
        elif kind == "ticket":
            where.append("kb_fts.rowid > 0")
        if since:
            where.append(f"abs(kb_fts.rowid) >= CAST(strftime('%s', ?) AS INTEGER) "
                         f"* {self.DOC_SLOTS}")
            params.append(since)
        if exclude:
            where.append("kb_fts.rowid IS NOT (SELECT doc FROM kb_docs WHERE ref_id = ?)")
            params.append(exclude)
        if articles_for is not None:
            # CASE is lazy: only article matches (few) look their client up.
            where.append("CASE WHEN kb_fts.rowid > 0 THEN 1 ELSE coalesce((SELECT "
                         "a.client_id FROM kb_docs a WHERE a.doc = kb_fts.rowid), '') "
                         "IN ('', ?) END")
            params.append(articles_for)
        if client_id or tag:
            join = " JOIN kb_docs d ON d.doc = kb_fts.rowid"
        if client_id:
            where.append("(d.client_id = ? OR (d.kind = 'article' AND d.client_id IS NULL))")
            params.append(client_id)
        if tag:
            where.append("(',' || d.tags || ',') LIKE ?")
            params.append(f"%,{tag.lower()},%")
        weights = ", ".join(str(w) for w in self.WEIGHTS)
        ranked = self.db.execute(
            f"SELECT kb_fts.rowid AS doc, round(bm25(kb_fts, {weights}) * (CASE WHEN "
            f"kb_fts.rowid < 0 THEN {self.ARTICLE_BOOST} ELSE 1.0 END), 6) AS score "
            f"FROM kb_fts{join} WHERE {' AND '.join(where)} "
            "ORDER BY score, abs(kb_fts.rowid) DESC LIMIT ?", (*params, limit)).fetchall()
        if not ranked:
            return []
        docs = [row["doc"] for row in ranked]
        found = {row["doc"]: row for row in self.db.execute(
            "SELECT d.doc, d.kind, d.ref_id, d.client_id, d.at, "
            "snippet(kb_fts, -1, char(2), char(3), '…', 14) AS snippet, "
            "kb_fts.title AS title, t.number, t.provisional, t.resolution, k.name AS client "
            "FROM kb_fts JOIN kb_docs d ON d.doc = kb_fts.rowid "
            "LEFT JOIN tickets t ON d.kind = 'ticket' AND t.id = d.ref_id "
            "LEFT JOIN clients k ON k.id = d.client_id "
            # '+': one pass over the matches checking membership, not one FTS5 seek per
            # winner (each seek walks every phrase's list again: several times slower).
            f"WHERE kb_fts MATCH ? AND +kb_fts.rowid IN ({', '.join('?' for _ in docs)})",
            (match, *docs))}
        return [{**found[row["doc"]], "score": row["score"]} for row in ranked
                if row["doc"] in found]

    def count(self, match: str, *, kind: str | None = None,
                 exclude: str | None = None) -> int:
        sql = "SELECT count(*) AS n FROM kb_fts WHERE kb_fts MATCH ?"
        params: list[Any] = [match]
        if kind == "article":
            sql += " AND kb_fts.rowid < 0"
        elif kind == "ticket":
            sql += " AND kb_fts.rowid > 0"
        if exclude:
            sql += " AND kb_fts.rowid IS NOT (SELECT doc FROM kb_docs WHERE ref_id = ?)"
            params.append(exclude)
        return int(self.db.execute(sql, params).fetchone()["n"])

    #: The trigger that indexes a ticket written resolved or closed, one row at a time.
    TICKET_TRIGGER = "kb_ticket_indexed"

    def index_tickets_after(self, rowid: int) -> int:
        """Index the resolved and closed tickets after ``rowid`` that the per-row trigger
        (``TICKET_TRIGGER``) did not see, in two statements; how many were indexed.

        For a bulk load that held the trigger back (``BulkWriter.tickets_indexed_together``):
        the trigger's statement in the full-text table writes its pending terms out as a
        segment of its own for every ticket, and the index then spends its time merging
        them; one statement for a whole batch writes a few large segments instead."""
        self.store.require_tx()
        return index_tickets_after(self.db, rowid)

    def changes_seen(self) -> tuple[int, int]:
        """A value that moves whenever the store may have changed: a commit by another
        connection (``PRAGMA data_version``) or any row written through this one
        (``total_changes``). Equal twice, nothing was written in between."""
        version = self.db.execute("PRAGMA data_version").fetchone()["data_version"]
        return int(version), self.db.total_changes

    def has_doc(self, ref_id: str) -> bool:
        """Whether the index holds a document for this article or ticket."""
        return self.db.execute("SELECT 1 FROM kb_docs WHERE ref_id = ?",
                               (ref_id,)).fetchone() is not None

    def index_row(self, ref_id: str) -> Row | None:
        """What the index holds for one article or ticket (tests and repair checks)."""
        found: Row | None = self.db.execute(
            "SELECT d.*, f.title, f.codes, f.body FROM kb_docs d "
            "JOIN kb_fts f ON f.rowid = d.doc WHERE d.ref_id = ?", (ref_id,)).fetchone()
        return found

    _ARTICLE_SELECT = ("SELECT a.*, k.name AS client_name FROM kb_articles a "
                       "LEFT JOIN clients k ON k.id = a.client_id ")

    def article(self, article_id: str) -> Row | None:
        found: Row | None = self.db.execute(self._ARTICLE_SELECT + "WHERE a.id = ?",
                                             (article_id,)).fetchone()
        return found

    def articles_matching(self, fragment: str, limit: int = 5) -> list[Row]:
        """Articles whose id starts or ends with ``fragment`` (dashes ignored)."""
        compact = fragment.replace("-", "")
        return list(self.db.execute(
            self._ARTICLE_SELECT + "WHERE replace(a.id, '-', '') LIKE ? "
            "OR replace(a.id, '-', '') LIKE ? ORDER BY a.created_at LIMIT ?",
            (f"{compact}%", f"%{compact}", limit)))

    def articles(self) -> list[Row]:
        return list(self.db.execute(self._ARTICLE_SELECT + "ORDER BY a.created_at, a.id"))

    def versions(self, article_id: str) -> list[Row]:
        return list(self.db.execute(
            "SELECT * FROM kb_versions WHERE article_id = ? ORDER BY at, rowid",
            (article_id,)))

    def links_of_article(self, article_id: str) -> list[Row]:
        return list(self.db.execute(
            "SELECT l.*, t.number, t.provisional, t.summary FROM kb_links l "
            "JOIN tickets t ON t.id = l.ticket_id WHERE l.article_id = ? "
            "ORDER BY l.at, l.rowid", (article_id,)))

    def links_of_ticket(self, ticket_id: str) -> list[Row]:
        return list(self.db.execute(
            "SELECT l.*, a.title FROM kb_links l JOIN kb_articles a ON a.id = l.article_id "
            "WHERE l.ticket_id = ? ORDER BY l.at, l.rowid", (ticket_id,)))


def index_tickets_after(db: Any, rowid: int, *, skip_indexed: bool = False) -> int:
    """``KnowledgeBase.index_tickets_after`` on a bare connection (a bulk load's end, or
    ``Store.open`` finishing a stopped one, see ``storage/bulk_load.py``), inside the
    caller's transaction. The documents get the numbers the trigger would have given
    them, ticket by ticket in rowid order: the next free slot of their second (the
    window function sees the index as it was before the statement, so each ticket adds
    its rank among the tickets indexed).

    ``skip_indexed`` leaves out the tickets already in the index: while a load keeps the
    trigger away for several transactions, another connection may change one of its
    tickets, and the update's own trigger indexes it."""
    slots = KnowledgeBase.DOC_SLOTS
    fresh_doc = " AND NOT EXISTS (SELECT 1 FROM kb_docs k WHERE k.ref_id = t.id)"
    # The text goes in in document order (FTS5 writes out what it holds whenever a rowid
    # comes out of order). A batch's few documents are sorted; a whole load's are read
    # in document order from kb_docs (its rowid), each with its ticket found by id,
    # rather than sorting every ticket's text.
    source = ("kb_docs d CROSS JOIN tickets t ON t.id = d.ref_id" if skip_indexed
              else "tickets t JOIN kb_docs d ON d.ref_id = t.id")
    fresh_text = " AND d.doc NOT IN (SELECT rowid FROM kb_fts)"
    done = db.execute(
        "INSERT INTO kb_docs(doc, kind, ref_id, client_id, tags, at) "
        "SELECT coalesce((SELECT max(doc) + 1 FROM kb_docs "
        "                 WHERE doc BETWEEN s.base AND s.base + ?), s.base) "
        "       + row_number() OVER (PARTITION BY s.base ORDER BY s.rid) - 1, "
        "       'ticket', s.id, s.client_id, s.tags, s.at "
        "FROM (SELECT t.rowid AS rid, t.id, t.client_id, "
        "             lower(coalesce(t.category, '')) AS tags, "
        "             coalesce(t.resolved_at, t.closed_at, t.created_at) AS at, "
        "             CAST(strftime('%s', coalesce(t.resolved_at, t.closed_at, "
        "                                          t.created_at)) AS INTEGER) * ? AS base "
        "      FROM tickets t WHERE t.rowid > ? AND t.status IN ('resolved', 'closed')"
        + (fresh_doc if skip_indexed else "") + ") s",
        (slots - 1, slots, rowid)).rowcount
    db.execute(
        "INSERT INTO kb_fts(rowid, title, codes, body) "
        "SELECT d.doc, t.summary, "
        "       coalesce(t.error_text, '') || char(10) || coalesce(t.event_ids, ''), "
        "       coalesce(t.verbatim, '') || char(10) || coalesce(t.root_cause, '') "
        "       || char(10) || coalesce(t.resolution, '') "
        f"FROM {source} "
        "WHERE t.rowid > ? AND t.status IN ('resolved', 'closed')"
        + (fresh_text if skip_indexed else "") + " ORDER BY d.doc",
        (rowid,))
    return int(done)
