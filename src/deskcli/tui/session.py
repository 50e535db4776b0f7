"""One technician's interactive session over a desk: what the TUI asks of the store.

The TUI reads and writes from worker threads so the screen never waits on SQLite. All of
those calls go through ``DeskSession.run`` (or the helpers here, which use it), which holds
a lock: the store is one connection, and two threads must never interleave transactions
on it. Nothing here imports Textual, so it is tested like any other service.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from deskcli.domain.communication import is_silent
from deskcli.domain.enums import Status
from deskcli.domain.errors import DeskError
from deskcli.domain.tags import parse_tags
from deskcli.domain.timefmt import from_iso, to_iso
from deskcli.services.desk import Desk
from deskcli.services.drafts import DraftStore
from deskcli.services.kb import Hit, KbService, RepeatMemo
from deskcli.services.tickets import TicketDetail
from deskcli.storage.mail import MailLedger
from deskcli.storage.queue_ids import QueueIds
from deskcli.storage.queue_pages import Key as QueueKey
from deskcli.storage.queue_pages import QueuePages
from deskcli.storage.rows import QUEUE_AT, TicketRow
from deskcli.storage.store import Row

if TYPE_CHECKING:
    from deskcli.services.bulk import BulkService

P = ParamSpec("P")
#: Fetches in a row that must fail before the status bar names the mailbox: one failed
#: pass (a server restart) is not worth a technician's attention.
MAIL_FAILURES_SHOWN = 3
T = TypeVar("T")


#: Position of each field in a queue row tuple (``QueueRow`` field order).
Q = QUEUE_AT

#: Timeline events read when a ticket opens, and per "earlier events" after that: a ticket
#: with a thousand events opens as fast as one with ten.
TIMELINE_PAGE = 50
#: The console's queue rows carry one more field right after the queue columns: the
#: ticket's tags, as one space-separated string ("" for none), read with the page
#: (``queue_page``); the paging key stays at the end of the row.
TAGS_AT = len(Q)

#: The open statuses, named explicitly: ``status IN (...)`` lets SQLite use its status
#: index and read only the open tickets, where "not resolved or closed" scans every row
#: (30 ms against 0.6 ms on 100,000 tickets).
OPEN_STATUSES = tuple(s.value for s in Status if s.is_open)


@dataclass(frozen=True)
class QueueFilters:
    """What the queue shows; empty means everything open."""

    statuses: tuple[str, ...] = ()
    priorities: tuple[str, ...] = ()
    assignee: str | None = None
    client: str | None = None
    search: str = ""
    mine: bool = False
    #: Tickets carrying every one of these tags (``TicketService.queue``).
    tags: tuple[str, ...] = ()

    def to_store(self, tech: str) -> dict[str, Any]:
        """The store's queue filters (tags are not among them: ``DeskSession`` reads
        tagged tickets through the ticket service)."""
        statuses = list(self.statuses or OPEN_STATUSES)
        if not self.statuses and re.fullmatch(r"#\d+", self.search.strip()):
            # "#4521" names a ticket: find it resolved or closed too, not only open ones.
            statuses = [s.value for s in Status]
        return {
            "statuses": statuses,
            "priorities": list(self.priorities),
            "assignee": tech if self.mine else self.assignee,
            "client": self.client,
            "search": self.search.strip() or None,
        }

    def describe(self, tech: str) -> str:
        """One line naming the active filters, for the queue's title."""
        parts = []
        if self.statuses:
            parts.append("status " + ", ".join(self.statuses))
        if self.priorities:
            parts.append(", ".join(self.priorities))
        if self.mine:
            parts.append(f"mine ({tech})")
        elif self.assignee:
            parts.append(f"owner {self.assignee}")
        if self.client:
            parts.append(f"client {self.client}")
        if self.tags:
            parts.append("tag " + " ".join(self.tags))
        if self.search.strip():
            parts.append(f"matching “{self.search.strip()}”")
        return " · ".join(parts)

    @property
    def narrowed(self) -> bool:
        return self != QueueFilters()


@dataclass(frozen=True)
class Alerts:
    """The status bar's counts: SLA clocks in trouble and changes not yet synced."""

    breached: int
    at_risk: int
    unsent: int
    #: Intake mailboxes whose last fetches all failed ("support" …), for a short warning.
    mail_failing: tuple[str, ...] = ()
    #: Open P1s on a desk with no pager whose page was not recorded by hand: nobody was
    #: woken, so the status bar says so until a pager is set up or the page is recorded.
    unpaged: tuple[str, ...] = ()


@dataclass(frozen=True)
class TicketView:
    """A ticket as the ticket screen shows it: detail plus what was typed into each step."""

    detail: TicketDetail
    step_values: Mapping[str, Mapping[str, Any]]
    silent: bool
    minutes_logged: int
    #: Page state, email channel, repeat callers: a dict because a header-only reload
    #: (``TicketScreen``) refreshes it in place.
    extra: dict[str, Any] = field(default_factory=dict)
    #: Its parent and children, read with it so the screen shows them in its first paint.
    family: Family | None = None

    @property
    def ticket(self) -> TicketRow:
        return self.detail.ticket


@dataclass(frozen=True)
class Family:
    """A ticket's parent and children (``deskcli link``), for the ticket screen."""

    ticket: TicketRow
    parent: TicketRow | None
    #: Linked under the ticket, oldest first (merged duplicates are not children).
    children: list[Row]

    @property
    def open_children(self) -> list[Row]:
        return [c for c in self.children if Status(c["status"]).is_open]


@dataclass(frozen=True)
class NotifyState:
    """What the background sender last did, for the status bar and alerts."""

    sent: int = 0
    #: Undelivered P1 pages that already failed: ``#4521 via pd: reason`` each.
    failing_pages: tuple[str, ...] = ()
    #: A problem that stops sending altogether (a missing secret).
    problem: str = ""

    def alert(self) -> str:
        """The persistent status-bar line (short); empty when there is nothing to shout
        about. ``detail()`` has the reasons."""
        if self.failing_pages:
            first = self.failing_pages[0].split(": ", 1)[0]
            more = len(self.failing_pages) - 1
            return f"P1 PAGE NOT SENT: {first}" + (f" (+{more} more)" if more else "")
        return "notifications stopped (see deskcli notify status)" if self.problem else ""

    def detail(self) -> str:
        """The alert with its reasons, for the notification that pops up."""
        lines = [f"P1 page not sent: {line}" for line in self.failing_pages]
        if self.problem:
            lines.append(self.problem)
        return "\n".join(lines)


@dataclass(frozen=True)
class SyncState:
    """What the status bar says about the team server."""

    #: "local" (never joined a team), "online" or "offline".
    mode: str
    unsent: int = 0
    last_sync: str | None = None
    message: str = ""
    #: Tickets changed by other technicians in this round.
    changed: frozenset[str] = frozenset()

    def describe(self) -> str:
        if self.mode == "local":
            return "local only"
        when = f" · synced {self.last_sync[11:16]}" if self.last_sync else ""
        if self.mode == "online":
            return f"online · {self.unsent} unsent{when}"
        return f"offline · {self.unsent} unsent (kept; retrying){when}"


class DeskSession:
    def __init__(self, desk: Desk, *, new_id: Callable[[], str]) -> None:
        self.desk = desk
        self.new_id = new_id
        self.drafts = DraftStore(desk.paths.data_dir / "drafts")
        self._lock = threading.Lock()
        self._sync_desk: Desk | None = None
        self._sync_client: Any = None
        self._sync_closed = False
        self._notify_desk: Desk | None = None
        self._notify_service: Any = None
        self._rules_desk: Desk | None = None
        #: "Seen before" answers shared by the tickets opened until the store changes.
        self._repeats = RepeatMemo()

    @property
    def tech(self) -> str:
        return self.desk.tickets.actor

    def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Call into the desk with the store to ourselves (see the module docstring)."""
        with self._lock:
            return fn(*args, **kwargs)

    # --- the queue ---------------------------------------------------------------------

    def _rows(self, filters: QueueFilters, **page: Any) -> Iterator[tuple[Any, ...]]:
        """Queue rows for ``filters`` (store locked by the caller)."""
        store_filters = filters.to_store(self.tech)
        if filters.tags:
            return self.desk.tickets.queue(tags=filters.tags, **page, **store_filters)
        return self.desk.store.queue.rows(**page, **store_filters)

    def queue_count(self, filters: QueueFilters) -> int:
        if filters.tags:
            return self.run(lambda: QueueIds(self.desk.store).count(
                parse_tags(filters.tags), **filters.to_store(self.tech)))
        return self.run(self.desk.store.queue.count, **filters.to_store(self.tech))

    def queue_page(self, filters: QueueFilters, offset: int, limit: int, *,
                   total: int | None = None, after: QueueKey | None = None,
                   before: QueueKey | None = None) -> list[tuple[Any, ...]]:
        """Queue rows from ``offset``, each with its tags (``TAGS_AT``) and ending with its
        key: read after the key of the row above (``after``) or before the one below
        (``before``) when the caller has a neighbouring page, so a page costs the same at
        any depth of a million rows (``storage/queue_pages.py``). ``total`` (the count)
        chooses the plan. With a tag filter the rows come by offset through the tag index
        (a tag's tickets are few) and the keys are not used."""
        def read() -> list[tuple[Any, ...]]:
            if filters.tags:
                rows = list(self._rows(filters, limit=limit, offset=offset))
            else:
                rows = QueuePages(self.desk.store).page(
                    offset, limit, total=total, after=after, before=before,
                    **filters.to_store(self.tech))
            column = Q["id"]
            tags = self.desk.tags_of_many([row[column] for row in rows])
            return [(*row[:TAGS_AT], " ".join(tags.get(row[column], ())), *row[TAGS_AT:])
                    for row in rows]
        return self.run(read)

    def queue_ids(self, filters: QueueFilters) -> list[str]:
        """The ids of every ticket ``filters`` shows, from the store (``*`` marks them
        all, including rows never loaded into the table)."""
        return self.run(lambda: QueueIds(self.desk.store).ids(
            parse_tags(filters.tags), **filters.to_store(self.tech)))

    def known_tags(self) -> list[tuple[str, int]]:
        """Tags in use, most used first, with how many tickets carry each."""
        return self.run(self.desk.tickets.known_tags)

    @property
    def bulk(self) -> BulkService:
        """Bulk previews and applies; call it inside ``run`` (it uses the store)."""
        from deskcli.services.bulk import BulkService

        return BulkService(self.desk.tickets)

    def alerts(self) -> Alerts:
        now = to_iso(self.desk.now())
        store = self.desk.store

        def read() -> Alerts:
            breached = store.queue.count(statuses=OPEN_STATUSES, due_before=now)
            risky = store.queue.count(statuses=OPEN_STATUSES, risk_before=now)
            failing = MailLedger(store).failing(MAIL_FAILURES_SHOWN)
            return Alerts(breached, max(risky - breached, 0), store.sync.outbox_count(),
                          mail_failing=failing, unpaged=tuple(self.desk.tickets.unpaged_p1s()))
        return self.run(read)

    def is_empty(self) -> bool:
        return self.run(self.desk.store.tickets.count) == 0

    def load_samples(self, count: int = 1000) -> int:
        """Fill an empty store with sample tickets; returns how many were written."""
        from deskcli.services import (
            demo,  # only on first run: keep it off the start path
            demo_kb,
        )

        result = self.run(demo.seed, self.desk.store, count=count, now=self.desk.now(),
                          policy=self.desk.config.sla, new_id=self.new_id)
        self.run(demo_kb.seed_articles, self.desk.store, now=self.desk.now(),
                 new_id=self.new_id)
        return result.tickets

    # --- one ticket --------------------------------------------------------------------

    def ticket_view(self, ref: str) -> TicketView:
        tickets = self.desk.tickets

        def read() -> TicketView:
            detail = tickets.detail(ref, timeline_limit=TIMELINE_PAGE)
            facts = tickets.facts(detail.ticket)
            ticket = detail.ticket
            last = ticket["last_contact_at"]
            silent = is_silent(
                is_open=Status(ticket["status"]).is_open,
                created_at=from_iso(ticket["created_at"]),
                last_contact_at=from_iso(last) if last else None,
                now=self.desk.now(), checkpoint=self.desk.config.checkpoint)
            extra: dict[str, Any] = {}
            if self.desk.outbound is not None:
                from deskcli.domain.notify import page_state

                extra["page"] = page_state(self.desk.outbound.queue.for_ticket(ticket["id"]))
                extra["email"] = bool(self.desk.config.notify.email and ticket["caller_email"])
            if Status(ticket["status"]).is_open:
                repeat = KbService.for_desk(self.desk).seen_before(ticket, self._repeats)
                if repeat:
                    extra["repeat"] = repeat
            return TicketView(detail, facts.steps, silent, facts.minutes_logged, extra,
                              self._family_of(ticket))
        return self.run(read)

    def earlier_events(self, ticket_id: str, event: Row) -> tuple[list[Row], bool]:
        """The timeline page before ``event``, and whether there are earlier ones still."""
        return self.run(self.desk.tickets.earlier_events, ticket_id, event, TIMELINE_PAGE)

    # --- rules ------------------------------------------------------------------------

    def rules_enabled(self) -> bool:
        """Whether this console runs time-based rules (a solo store with a rules file)."""
        return self.desk.rules is not None and bool(self.desk.rules.ruleset.for_event(
            "schedule"))

    def rules_in_force(self) -> list[dict[str, Any]]:
        """The rules in force, for the help screen (empty without a rules file)."""
        if self.desk.rules is None:
            return []
        from deskcli.domain.rules import summarise

        return [row for row in summarise(self.desk.rules.ruleset.rules) if row["enabled"]]

    def rules_once(self) -> int:
        """One pass of the time-based rules on a connection of its own (like the sender),
        so a long pass never holds the store the screens read from. Returns how many
        rules fired."""
        if not self.rules_enabled() or self._sync_closed:
            return 0
        from deskcli.services.desk import open_desk

        if self._rules_desk is None:
            self._rules_desk = open_desk(self.desk.paths, now=self.desk.now,
                                         ids=self.new_id, actor=self.tech)
        runner = self._rules_desk.rules
        if runner is None:
            return 0
        return len(runner.run_schedule())

    def family(self, ticket_id: str) -> Family:
        """The ticket with its parent and children, as they are now."""
        from deskcli.domain.numbering import TicketRef

        tickets = self.desk.tickets
        return self.run(lambda: self._family_of(tickets.find(TicketRef(ticket_id=ticket_id))))

    def _family_of(self, ticket: TicketRow) -> Family:
        parent_id = ticket["parent_id"]
        parent = self.desk.store.tickets.by_id(parent_id) if parent_id else None
        return Family(ticket, parent, self.desk.tickets.children(str(ticket["id"])))

    # --- notifications -----------------------------------------------------------------

    def notify_enabled(self) -> bool:
        return self.desk.outbound is not None

    def notify_once(self) -> NotifyState:
        """One pass of the outbound sender, on a connection of its own: a slow receiver
        never holds the store the screens read from (as with sync)."""
        if not self.notify_enabled() or self._sync_closed:
            return NotifyState()
        from deskcli.services.desk import open_desk
        from deskcli.services.notify import NotifyService

        if self._notify_service is None:
            self._notify_desk = open_desk(self.desk.paths, now=self.desk.now,
                                          ids=self.new_id, actor=self.tech)
            self._notify_service = NotifyService(self._notify_desk)
        service = self._notify_service
        try:
            report = service.send_due()
        except DeskError as error:
            pages = service.failing_pages() or [
                r for r in service.listing() if r["purpose"] == "page"]
            return NotifyState(problem=error.message, failing_pages=tuple(
                self._page_line(r, error.message) for r in pages))
        return NotifyState(len(report.sent), tuple(
            self._page_line(r, r["last_error"]) for r in report.failing_pages))

    @staticmethod
    def _page_line(row: Row, reason: object) -> str:
        from deskcli.domain.numbering import display_ref

        return f"{display_ref(row['number'], row['provisional'])} via {row['channel']}: {reason}"

    def snippet_context(self, ref: str) -> tuple[dict[str, str], dict[str, Any]]:
        """Canned responses and this ticket's placeholder values, for the reply box."""
        from deskcli.services.notify import NotifyService

        def read() -> tuple[dict[str, str], dict[str, Any]]:
            service = NotifyService(self.desk)
            return service.snippets(), service.values(self.desk.tickets.find(ref))
        return self.run(read)

    def acknowledge_page(self, ref: str) -> int:
        from deskcli.services.notify import NotifyService

        return self.run(NotifyService(self.desk).acknowledge_page, ref)

    # --- look-ups for forms ------------------------------------------------------------

    def search_callers(self, text: str) -> list[Row]:
        return self.run(self.desk.store.contacts.search_callers, text, 8)

    def client_tier(self, name: str | None) -> str | None:
        """The contract tier of a known client; ``None`` for a new or absent one."""
        if not name:
            return None
        row = self.run(self.desk.store.contacts.client_by_name, name)
        return str(row["contract_tier"]) if row else None

    def client_names(self) -> list[str]:
        return [str(row["name"]) for row in self.run(self.desk.store.contacts.clients)]

    # --- the knowledge base -------------------------------------------------------------

    @property
    def kb(self) -> KbService:
        return KbService.for_desk(self.desk)

    def search_kb(self, text: str, *, client: str | None = None,
                  articles_for: str | None = None) -> list[Hit]:
        """Articles and resolved tickets, best first (a bad filter gives no hits)."""
        try:
            return self.run(self.kb.search, text, client=client, articles_for=articles_for,
                            limit=30)
        except DeskError:
            return []

    def kb_preview(self, hit: Hit) -> str:
        """The Markdown the search screen shows beside the results for one hit."""
        def read() -> str:
            if hit.kind == "article":
                article = self.kb.find(hit.ref_id)
                meta = [f"*{article['client_name'] or 'All clients'}*"]
                if article["error_codes"]:
                    meta.append("errors: " + article["error_codes"].replace(",", ", "))
                return f"# {article['title']}\n\n{' · '.join(meta)}\n\n{article['body']}"
            ticket = self.desk.tickets.find(hit.ref)
            return (f"# {hit.ref} {ticket['summary']}\n\n*{ticket.get('client_name') or ''}"
                    f" · resolved {(ticket['resolved_at'] or '')[:10]}*\n\n"
                    f"**Error:** {ticket['error_text'] or '—'}\n\n"
                    f"**Cause:** {ticket['root_cause'] or '—'}\n\n"
                    f"**Fix:** {ticket['resolution'] or '—'}\n")
        return self.run(read)


    # --- the team server ---------------------------------------------------------------

    def _credentials(self) -> Any:
        from deskcli.sync import credentials

        store = self.desk.store
        try:
            return credentials.load(store.meta("server_url"), store.meta("server_tech"))
        except DeskError:
            return None  # no keyring: the status bar says offline, the CLI explains why

    def joined(self) -> bool:
        return self.run(self.desk.store.meta, "server_url") is not None or bool(
            os.environ.get("DESKCLI_TOKEN"))

    def _client(self) -> Any:
        """A sync client on a connection of its own, so network waits never hold the
        store the screens read from; SQLite's locking keeps the two consistent."""
        if self._sync_closed:
            return None  # the app is closing: a late presence call must not reopen it
        if self._sync_client is None:
            from deskcli.services.desk import open_desk
            from deskcli.sync.client import SyncClient

            creds = self._credentials()
            if creds is None:
                return None
            self._sync_desk = open_desk(self.desk.paths, now=self.desk.now, ids=self.new_id,
                                        actor=self.tech)
            self._sync_client = SyncClient(self._sync_desk, creds, timeout=10.0)
        return self._sync_client

    def sync_once(self) -> SyncState:
        """One background round: push, pull, and say what changed."""
        store = self.desk.store
        if not self.joined():
            return SyncState("local")
        client = self._client()
        if client is None:
            return SyncState("offline", self.run(store.sync.outbox_count),
                             self.run(store.meta, "last_sync_at"),
                             "no token: run deskcli login")
        try:
            report = client.sync()
        except DeskError as error:
            return SyncState("offline", self.run(store.sync.outbox_count),
                             self.run(store.meta, "last_sync_at"), error.message)
        return SyncState("online", report.unsent, self.run(store.meta, "last_sync_at"),
                         changed=frozenset(report.changed_tickets))

    def presence(self, ticket_id: str, *, leave: bool = False) -> list[str]:
        """Who else has this ticket open (empty when working alone or offline)."""
        if not self.joined():
            return []
        client = self._client()
        if client is None:
            return []
        try:
            return list(client.presence(ticket_id, leave=leave))
        except (DeskError, RuntimeError):  # offline, or closed under us while quitting
            return []

    def close_sync(self) -> None:
        self._sync_closed = True
        service, notify_desk = self._notify_service, self._notify_desk
        self._notify_service = self._notify_desk = None
        if service is not None:
            service.close()
        if notify_desk is not None:
            notify_desk.close()
        rules_desk, self._rules_desk = self._rules_desk, None
        if rules_desk is not None:
            rules_desk.close()
        client, desk = self._sync_client, self._sync_desk
        self._sync_client = self._sync_desk = None
        if client is not None:
            client.close()
        if desk is not None:
            desk.close()
