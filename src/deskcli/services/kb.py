"""The knowledge base: articles, their history, ticket links, and one search over articles
and resolved tickets.

Every write (article, version, link, the ticket's timeline event) commits together with
its sync ops; the full-text index follows in the same transaction through the triggers
migration 4 installed, so there is no code path here that could forget to re-index.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from deskcli.domain import kb
from deskcli.domain.errors import InvalidInput, NotFound, Refused
from deskcli.domain.kb import ArticleDraft
from deskcli.domain.numbering import display_ref
from deskcli.domain.patterns import lazy
from deskcli.domain.timefmt import to_iso
from deskcli.domain.values import Value
from deskcli.storage.store import Row, Store

if TYPE_CHECKING:
    from deskcli.services.desk import Desk
    from deskcli.services.tickets import TicketService

HIT_START, HIT_END = "\x02", "\x03"
_HEADING = lazy(r"(^|\s)#+ ")


def one_line(snippet: str) -> str:
    """A snippet on one line without the ``## `` of Markdown headings: a result list
    shows words, and a stray ``##`` reads like part of an error code."""
    return _HEADING.sub(r"\1", snippet.replace("\n", " "))


class Hit(NamedTuple):
    """One search result: an article (``ref`` is its handle) or a ticket (its number)."""

    kind: str
    ref: str
    ref_id: str
    title: str
    score: float
    snippet: str
    at: str
    client: str | None
    resolution: str | None = None

    def plain_snippet(self, start: str = "**", end: str = "**") -> str:
        return one_line(self.snippet).replace(HIT_START, start).replace(HIT_END, end)

    def as_row(self) -> dict[str, Any]:
        return {"kind": self.kind, "ref": self.ref, "title": self.title,
                "score": round(self.score, 2), "snippet": self.plain_snippet(),
                "at": self.at, "client": self.client or ""}


class ArticleDetail(NamedTuple):
    article: Row
    versions: list[Row]
    links: list[Row]

    @property
    def handle(self) -> str:
        return kb.short_handle(self.article["id"])

    def draft(self) -> ArticleDraft:
        return to_draft(self.article)


class Repeat(Value):
    """A ticket's error seen on resolved tickets before: how often, and the latest fix.

    A ``Value`` rather than a ``NamedTuple``, whose ``count`` would be tuple's method."""

    _fields = ("count", "codes", "latest_ref", "latest_title", "latest_fix")

    count: int
    codes: list[str]
    latest_ref: str
    latest_title: str
    latest_fix: str | None

    def __init__(self, count: int, codes: list[str], latest_ref: str, latest_title: str,
                 latest_fix: str | None) -> None:
        self._set(count=count, codes=codes, latest_ref=latest_ref, latest_title=latest_title,
                  latest_fix=latest_fix)


class RepeatMemo:
    """What ``seen_before`` found per search expression, kept until the store changes.

    Ranking every resolved ticket that shows an error code is the costly part of opening
    a ticket in a large store (about 20 ms at 100,000 tickets, growing with them), and
    tickets with the same codes get the same answer: a console keeps one of these, so
    the next ticket with that code, or the same one opened again, does not rank them
    again. Any write to the store (``KnowledgeBase.changes_seen``) empties it."""

    def __init__(self) -> None:
        self.seen: tuple[int, int] | None = None
        self.found: dict[str, tuple[int, list[Row]]] = {}


class ImportResult(NamedTuple):
    path: Path
    handle: str
    created: bool
    changed: bool


class Skipped(NamedTuple):
    """A file ``kb import`` left alone, and why."""

    path: Path
    reason: str


class ImportReport(NamedTuple):
    imported: list[ImportResult]
    skipped: list[Skipped]


#: File endings ``kb import`` reads as Markdown (compared in lower case: ``.MD`` too).
MARKDOWN_SUFFIXES = (".md", ".markdown")


def to_draft(article: Mapping[str, Any]) -> ArticleDraft:
    return ArticleDraft(
        title=article["title"], body=article["body"],
        tags=[t for t in article["tags"].split(",") if t],
        error_codes=[c for c in article["error_codes"].split(",") if c],
        products=[p for p in article["products"].split(",") if p],
        client=article.get("client_name"), id=article["id"])


class KbService:
    def __init__(self, store: Store, tickets: Callable[[], TicketService], *, actor: str,
                 now: Callable[[], datetime], new_id: Callable[[], str]) -> None:
        self.store = store
        self._tickets_of = tickets
        self.actor = actor
        self._now = now
        self._new_id = new_id

    @property
    def tickets(self) -> TicketService:
        """The ticket service, built on first use: a search needs neither it nor the
        checklists it reads, and ``deskcli kb search`` is a short command."""
        return self._tickets_of()

    @classmethod
    def for_desk(cls, desk: Desk) -> KbService:
        """The KB service of an open ``Desk``, sharing its store, clock, ids and actor."""
        return cls(desk.store, lambda: desk.tickets, actor=desk.actor, now=desk.now,
                   new_id=desk.new_id)

    # --- finding articles -----------------------------------------------------------

    def find(self, handle: str) -> Row:
        """An article by its handle, any unambiguous start or end of its id, or the id."""
        cleaned = kb.check_handle(handle)
        exact = self.store.kb.article(cleaned)
        if exact is not None:
            return exact
        found = self.store.kb.articles_matching(cleaned)
        if not found:
            raise NotFound(f"no article {handle!r} in this store (see 'deskcli kb search')")
        if len(found) > 1:
            choices = ", ".join(f"{kb.short_handle(r['id'])} ({r['title'][:30]})"
                                for r in found[:3])
            raise InvalidInput(f"article id {handle!r} is ambiguous: it fits {choices}; "
                               "type more of it")
        return found[0]

    def detail(self, handle: str) -> ArticleDetail:
        article = self.find(handle)
        return ArticleDetail(article, self.store.kb.versions(article["id"]),
                             self.store.kb.links_of_article(article["id"]))

    # --- writing ----------------------------------------------------------------------

    def _client_id(self, name: str | None) -> str | None:
        if not name:
            return None
        row = self.store.contacts.client_by_name(name)
        if row is None:
            known = ", ".join(r["name"] for r in self.store.contacts.clients()[:8]) or "none yet"
            raise InvalidInput(f"no client named {name!r} in this store (known: {known}); "
                               "leave the client out for an article that serves every client")
        return str(row["id"])

    def _columns(self, draft: ArticleDraft) -> dict[str, Any]:
        checked = draft.checked()
        return {"title": checked.title, "body": checked.body,
                "tags": ",".join(checked.tags), "error_codes": ",".join(checked.error_codes),
                "products": ",".join(checked.products),
                "client_id": self._client_id(checked.client)}

    def _version(self, article_id: str, columns: Mapping[str, Any], changed: Sequence[str],
                 at: str) -> None:
        self.store.insert("kb_versions", {
            "id": self._new_id(), "article_id": article_id, "at": at, "author": self.actor,
            "changed": ",".join(changed), **{k: columns[k] for k in kb.ARTICLE_FIELDS}})

    def add(self, draft: ArticleDraft) -> Row:
        """A new article and its first version, in one transaction."""
        columns = self._columns(draft)
        at = to_iso(self._now())
        article_id = self._new_id()
        with self.store.transaction():
            self._insert(article_id, columns, at)
        return self.find(article_id)

    def _insert(self, article_id: str, columns: Mapping[str, Any], at: str) -> None:
        self.store.insert("kb_articles", {"id": article_id, **columns, "created_at": at,
                                          "created_by": self.actor, "revised_at": at,
                                          "revised_by": self.actor})
        self._version(article_id, columns, ["created"], at)

    def edit(self, handle: str, draft: ArticleDraft) -> tuple[Row, list[str]]:
        """Save ``draft`` over an article; a new version only if something changed."""
        article = self.find(handle)
        columns = self._columns(draft)
        with self.store.transaction():
            changed = self._update(article, columns, to_iso(self._now()))
        return self.find(article["id"]), changed

    def _update(self, article: Row, columns: Mapping[str, Any], at: str) -> list[str]:
        changed = kb.changed_fields(article, columns)
        if changed:
            updates = {k: columns[k] for k in changed}
            updates.update({"revised_at": at, "revised_by": self.actor})
            self.store.update_row("kb_articles", article["id"], updates, at)
            self._version(article["id"], {**article, **columns}, changed, at)
        return changed

    def link(self, ticket_ref: str, handle: str) -> tuple[Row, bool]:
        """Record that a ticket used an article; linking twice writes nothing new."""
        ticket = self.tickets.find(ticket_ref)
        article = self.find(handle)
        if article["client_id"] and article["client_id"] != ticket["client_id"]:
            raise Refused(f"article {kb.short_handle(article['id'])} is written for "
                          f"{article['client_name']} only; ticket {ticket_ref} is for "
                          f"{ticket.get('client_name') or 'no client'}")
        if any(link["article_id"] == article["id"]
               for link in self.store.kb.links_of_ticket(ticket["id"])):
            return article, False
        at = to_iso(self._now())
        short = kb.short_handle(article["id"])
        with self.store.transaction():
            self.store.insert("kb_links", {"id": self._new_id(), "article_id": article["id"],
                                           "ticket_id": ticket["id"], "at": at,
                                           "author": self.actor})
            self.tickets.record_event(ticket["id"], at, "kb_linked",
                                      f"Used KB article {short}: {article['title']}",
                                      {"article_id": article["id"]})
        return article, True

    def links_of_ticket(self, ticket_ref: str) -> list[Row]:
        return self.store.kb.links_of_ticket(self.tickets.find(ticket_ref)["id"])

    # --- searching --------------------------------------------------------------------

    def search(self, query: str, *, client: str | None = None, tag: str | None = None,
               since: str | None = None, kind: str | None = None,
               articles_for: str | None = None, limit: int = 20) -> list[Hit]:
        """Every word must match; if none does, the best matches of any word.

        ``since`` is an age (``90d``); ``client`` a client's name; ``kind`` ``article`` or
        ``ticket``; ``articles_for`` the client id of the ticket being worked (``""``
        when it has none): past tickets of every client still show, articles only if
        they serve it. Bad filters raise ``InvalidInput`` before anything is searched.
        """
        if kind not in (None, "article", "ticket"):
            raise InvalidInput(f"kind {kind!r} not known: use article or ticket")
        if limit < 1:
            raise InvalidInput("the limit must be 1 or more")
        since_iso = to_iso(self._now() - kb.parse_age(since)) if since else None
        client_id = self._client_id(client) if client else None
        tag_name = kb.normalise_tags(tag) if tag else None
        rows: list[Row] = []
        for any_word in (False, True):
            match = kb.match_expression(query, any_word=any_word)
            if match is None:
                return []
            rows = self.store.kb.search(match, kind=kind, client_id=client_id, tag=tag_name,
                                        since=since_iso, articles_for=articles_for,
                                        limit=limit)
            if rows or len(kb.query_terms(query)) < 2:
                break
        return [self._hit(r) for r in rows]

    @staticmethod
    def _hit(row: Row) -> Hit:
        if row["kind"] == "article":
            ref = kb.short_handle(row["ref_id"])
        else:
            ref = display_ref(row["number"], row["provisional"])
        return Hit(kind=row["kind"], ref=ref, ref_id=row["ref_id"], title=row["title"],
                   score=-float(row["score"]), snippet=row["snippet"] or "", at=row["at"],
                   client=row["client"], resolution=row["resolution"])

    def seen_before(self, ticket: Mapping[str, Any],
                    memo: RepeatMemo | None = None) -> Repeat | None:
        """Resolved tickets showing the same error codes as ``ticket`` (any of them).

        With ``memo``, an answer found earlier for the same codes is reused while the
        store has not changed (see ``RepeatMemo``)."""
        codes = kb.extract_codes(ticket.get("error_text"), ticket.get("event_ids"))
        if not codes:
            return None
        # Each code as the query language reads it bare: "Event ID 1000" becomes one
        # phrase by itself (quoting it again split it into "event" OR "id" OR ...).
        match = kb.match_expression(" ".join(codes), any_word=True)
        if match is None:
            return None
        count, best = self._repeats(match, ticket["id"], memo)
        if not count:
            return None
        latest = max(best, key=lambda r: r["at"])
        return Repeat(count=count, codes=codes,
                      latest_ref=display_ref(latest["number"], latest["provisional"]),
                      latest_title=latest["title"], latest_fix=latest["resolution"])

    def _repeats(self, match: str, ticket_id: str,
                 memo: RepeatMemo | None) -> tuple[int, list[Row]]:
        """How many resolved tickets match, and the best 50, leaving out ``ticket_id``.

        Leaving it out changes nothing when the index holds no document for it (an open
        ticket never resolved): only then is the answer shared through ``memo``."""
        knowledge = self.store.kb
        if memo is None or knowledge.has_doc(ticket_id):
            return self._ranked(match, exclude=ticket_id)
        seen = knowledge.changes_seen()
        if seen != memo.seen:
            memo.seen = seen
            memo.found.clear()
        found = memo.found.get(match)
        if found is None:
            found = memo.found[match] = self._ranked(match, exclude=None)
        return found

    def _ranked(self, match: str, *, exclude: str | None) -> tuple[int, list[Row]]:
        """How many resolved tickets match (but ``exclude``), and the best 50 of them."""
        count = self.store.kb.count(match, kind="ticket", exclude=exclude)
        best = (self.store.kb.search(match, kind="ticket", exclude=exclude, limit=50)
                if count else [])
        return count, best

    def draft_for_ticket(self, ticket_ref: str) -> tuple[ArticleDraft, Row | None]:
        """What the closure step offers: the linked article to edit, else a new draft."""
        ticket = self.tickets.find(ticket_ref)
        links = self.store.kb.links_of_ticket(ticket["id"])
        if links:
            article = self.store.kb.article(links[-1]["article_id"])
            if article is not None:
                return to_draft(article), article
        return kb.draft_from_ticket(ticket), None

    def save_for_ticket(self, ticket_ref: str, draft: ArticleDraft,
                        article_id: str | None) -> tuple[Row, bool]:
        """Save the closure step's article (new or edited) and link it to the ticket."""
        if article_id:
            article, changed = self.edit(article_id, draft)
            created = False
        else:
            article, created, changed = self.add(draft), True, ["created"]
        self.link(ticket_ref, article["id"])
        return article, bool(created or changed)

    # --- Markdown import and export -------------------------------------------------------

    @staticmethod
    def scan(folder: Path) -> tuple[list[Path], list[Skipped]]:
        """The Markdown files under ``folder`` (``.md``, ``.markdown``, any letter case),
        and every other file with the reason it is not imported, so nothing is left out
        without a word."""
        files: list[Path] = []
        skipped: list[Skipped] = []
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder)
            if any(part.startswith(".") for part in relative.parts):
                if path.is_file():
                    skipped.append(Skipped(path, "hidden (its name or a folder's starts "
                                                 "with '.')"))
                continue
            if not path.is_file():
                if not path.is_dir():
                    skipped.append(Skipped(path, "not a regular file"))
                continue
            if path.suffix.lower() in MARKDOWN_SUFFIXES:
                files.append(path)
            else:
                skipped.append(Skipped(path, "not a Markdown file (.md or .markdown)"))
        return files, skipped

    def import_dir(self, folder: Path) -> ImportReport:
        """Every Markdown file under ``folder``, all or nothing.

        All files are read and checked first; the first problem (file, line, what is
        wrong) is raised before anything is written. A file whose ``id`` names an article
        here updates it (a new version if changed); any other file creates an article.
        The report lists every file that was not imported and why.
        """
        if not folder.is_dir():
            raise InvalidInput(f"{folder} is not a folder of Markdown files")
        files, skipped = self.scan(folder)
        if not files:
            others = f" ({len(skipped)} other file(s) skipped)" if skipped else ""
            raise InvalidInput(f"no Markdown files (.md, .markdown) in {folder}{others}")
        planned: list[tuple[Path, ArticleDraft, dict[str, Any], Row | None]] = []
        ids: set[str] = set()
        for path in files:
            try:
                text = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                raise InvalidInput(f"{path}, line 1: not UTF-8 text") from None
            from deskcli.domain import kb_markdown

            draft = kb_markdown.parse(text, str(path))
            try:
                columns = self._columns(draft)
            except InvalidInput as error:
                raise InvalidInput(f"{path}: {error.message}") from None
            existing = self.store.kb.article(draft.id) if draft.id else None
            if draft.id and draft.id in ids:
                raise InvalidInput(f"{path}: id {draft.id} appears in two files")
            if draft.id:
                ids.add(draft.id)
            planned.append((path, draft, columns, existing))
        results: list[ImportResult] = []
        at = to_iso(self._now())
        with self.store.transaction():
            for path, draft, columns, existing in planned:
                if existing is not None:
                    changed = self._update(existing, columns, at)
                    results.append(ImportResult(path, kb.short_handle(existing["id"]), False,
                                                bool(changed)))
                else:
                    article_id = draft.id if draft.id and _is_uuid(draft.id) \
                        else self._new_id()
                    self._insert(article_id, columns, at)
                    results.append(ImportResult(path, kb.short_handle(article_id), True, True))
        return ImportReport(results, skipped)

    def export_dir(self, folder: Path) -> list[Path]:
        """One Markdown file per article, front matter included, so import restores it."""
        if folder.exists() and not folder.is_dir():
            raise InvalidInput(f"{folder} exists and is not a folder")
        folder.mkdir(parents=True, exist_ok=True)
        from deskcli.domain import kb_markdown

        written: list[Path] = []
        for article in self.store.kb.articles():
            draft = to_draft(article)
            path = folder / kb_markdown.file_name(draft, kb.short_handle(article["id"]))
            path.write_text(kb_markdown.render(draft), encoding="utf-8")
            written.append(path)
        return written


def _is_uuid(text: str) -> bool:
    import uuid

    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
