"""Every query a command or screen runs is served by an index where one can serve it.

A benchmark whose floor reruns deskcli's own SQL cannot see a bad plan (``status NOT IN``
scanned a million tickets and nobody noticed). This test drives the real services on a
seeded store, records every statement SQLite runs (``set_trace_callback``, so a query
added later is covered without editing a list here) and asks SQLite for each plan. A full
scan of ``tickets`` or ``events``, or a temporary B-tree sort in a statement that reads
them, fails the test unless it is in ``EXPECTED`` with the reason it is the work asked
for. The store is queried as shipped: deskcli does not run ``ANALYZE``, so the planner
has no statistics here either.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from deskcli.domain import metrics
from deskcli.domain.enums import Status
from deskcli.domain.intake import NewTicket
from deskcli.services import demo
from deskcli.services import metrics as metrics_service
from deskcli.services.desk import Desk
from deskcli.services.kb import KbService
from deskcli.storage import queue_pages
from deskcli.storage.outbound import OutboundQueue
from deskcli.storage.queue_pages import WALK_ABOVE, QueuePages, key_of
from helpers import FakeClock, SeqIds, make_desk

#: Tables big enough (one row per ticket, or many per ticket) that a scan or a sort over
#: them costs seconds at a million tickets.
BIG = ("tickets", "events")

#: Plans that scan or sort a big table on purpose: (pattern of the statement, which plan
#: line, why). Keep each reason true; delete the entry when the query stops needing it.
EXPECTED: tuple[tuple[str, str, str], ...] = (
    (r"^SELECT t\.id, t\.number, .* ORDER BY CASE WHEN t\.priority = 'P1'", "TEMP B-TREE",
     "the queue's order (sla.queue_rank) is a CASE no index holds; the sort covers only "
     "the rows the filter's index found (a few hundred open tickets)"),
    (r"^SELECT t\.id, t\.number, .* LEFT JOIN clients k ON k\.id = t\.client_id "
     r"ORDER BY CASE", "SCAN",
     "queue --all lists every ticket: reading them all is the work asked for"),
    (r"^SELECT count\(\*\) AS n FROM tickets( t)?$", "SCAN",
     "counting every ticket (the CLI's total, the unfiltered history view) reads the "
     "smallest index whole (SQLite keeps no row count)"),
    (r"FROM tickets t INDEXED BY tickets_queue_key (?!LEFT JOIN callers c ON c\.id = "
     r"t\.caller_id LEFT JOIN clients k ON k\.id = t\.client_id WHERE \(t\.summary LIKE)",
     "SCAN t USING",
     "a long list with no filter of its own (the history view, or one status) walks the "
     "queue key's index in order and stops after a page; a jump to the middle skips "
     "index entries only, never a ticket row or a sort"),
    (r"INDEXED BY tickets_queue_\w+ .*WHERE .*\(t\.summary LIKE ('[^']*'|\?) OR EXISTS",
     "SCAN t USING",
     "a text search's page near an end of a long list walks the queue key in order and "
     "checks each row's own text, stopping after a page (the matches are dense there)"),
    (r"\(t\.summary LIKE ('[^']*'|\?) OR t\.caller_id IN", "SCAN t",
     "a term shorter than three characters (or only wildcards between them) has no "
     "trigram to look up: its summaries are matched by LIKE on every ticket"),
    (r"^SELECT count\(\*\) FROM \(SELECT rowid FROM ticket_text WHERE ticket_text MATCH .* "
     r"UNION SELECT", "TEMP B-TREE",
     "a search's count with a caller, client or number matching too counts each ticket "
     "once: the union of the rowids each index found"),
    (r"^SELECT t\.id, CASE WHEN t\.number IS NOT NULL", "SCAN",
     "a report's window covering the whole store reads every ticket once, streamed"),
    (r"^SELECT t\.number, t\.provisional FROM tickets t WHERE t\.priority = 'P1' AND "
     r"t\.status IN", "TEMP B-TREE",
     "open P1s without a page, oldest first: the status index finds the open tickets and "
     "only the P1s among them (a handful) are sorted"),
)


@dataclass
class Statement:
    sql: str
    plan: list[str]


def _big_aliases(sql: str) -> set[str]:
    """``tickets`` and ``events`` and the aliases the statement gives them."""
    names = set(BIG)
    for _table, alias in re.findall(r"\b(tickets|events)\s+(?:AS\s+)?([a-z]\w*)", sql,
                                   re.IGNORECASE):
        if alias.upper() not in {"WHERE", "ON", "JOIN", "LEFT", "ORDER", "GROUP", "SET",
                                 "LIMIT", "USING", "INNER"}:
            names.add(alias)
    return names


def problems(statement: Statement) -> list[str]:
    """The plan lines that scan or sort a big table."""
    aliases = _big_aliases(statement.sql)
    reads_big = any(re.search(rf"\b{table}\b", statement.sql) for table in BIG)
    found = []
    for line in statement.plan:
        scan = re.match(r"SCAN (\w+)", line)
        if scan and scan.group(1) in aliases:
            found.append(line)
        elif "TEMP B-TREE" in line and reads_big:
            found.append(line)
    return found


def expected(statement: Statement, line: str) -> bool:
    one_line = " ".join(statement.sql.split())
    return any(re.search(pattern, one_line) and marker in line
               for pattern, marker, _why in EXPECTED)


@contextmanager
def recorded(desk: Desk) -> Iterator[list[str]]:
    seen: list[str] = []
    desk.store.db.set_trace_callback(seen.append)
    try:
        yield seen
    finally:
        desk.store.db.set_trace_callback(None)


def _drive(desk: Desk) -> None:
    """What the commands and screens do, through the same services they call."""
    tickets = desk.tickets
    first = next(iter(tickets.queue()))
    ref = f"#{first[1]}"
    # deskcli queue, with each filter, and the console's queue pages and counts
    for filters in ({}, {"open_only": False}, {"priorities": ["P1", "P2"]},
                    {"types": ["incident"]}, {"assignee": "dana"}, {"client": "Acme"},
                    {"search": "mail"}, {"search": "#12"},
                    {"due_before": "2026-11-25T00:00:00Z"},
                    {"due_after": "2026-11-25T00:00:00Z"},
                    {"risk_before": "2026-11-25T00:00:00Z"},
                    {"statuses": ["resolved", "closed"], "limit": 50, "offset": 0}):
        list(tickets.queue(**filters))
    desk.store.queue.count(statuses=["new", "in_progress"], due_before="2026-11-25T00:00:00Z")
    _history_pages(desk)
    # deskcli show, note, new, log-time, status changes
    tickets.detail(ref)
    tickets.add_note(ref, "Checked the mail flow.", internal=True)
    tickets.log_time(ref, "15m")
    created = tickets.create(NewTicket(summary="Printer on fire", client="Acme",
                                       caller="Ann Lee"))
    tickets.detail(f"#{created['number']}")
    # deskcli new --from (the batched path)
    tickets.create_many([NewTicket(summary="Bulk one", client="Acme", caller="Ann Lee",
                                   email="ann@acme.example"),
                         NewTicket(summary="Bulk two", caller="Someone New")])
    tickets.unpaged_p1s()
    # deskcli kb search
    kb = KbService.for_desk(desk)
    kb.search("outlook")
    kb.search("mail", client="Acme", since="90d")
    # deskcli report and the dashboard
    window = metrics.parse_window("365d", None, desk.now())
    metrics_service.build_report(desk.store, desk.config.sla, window)
    # sync state (status bar) and the outbound sender's claim
    desk.store.sync.outbox_count()
    desk.store.sync.pending_ops(500)
    with desk.store.transaction():
        OutboundQueue(desk.store).claim("2026-11-24T09:00:00Z", "2026-11-24T09:05:00Z",
                                        "plans", ["email", "pager"])
    _run_short_commands(desk, ref)


def _history_pages(desk: Desk) -> None:
    """The console's history view (every status) with each of its filters: the count,
    the first page, the next and previous pages by key, the End key and a jump to the
    middle, read the way a long list (a million tickets) is read."""
    every = [s.value for s in Status]
    pages = QueuePages(desk.store)
    for statuses, extra in (
            (every, {}), (every, {"assignee": "DANA"}), (every, {"client": "acme"}),
            (every, {"priorities": ["P1"]}), (every, {"priorities": ["P1", "P2"]}),
            (every, {"priorities": ["P4", "P2", "P3"]}),
            (every, {"assignee": "dana", "priorities": ["P2"]}),
            (every, {"client": "acme", "priorities": ["P1", "P3"]}),
            (every, {"search": "printer"}), (every, {"search": "Ann"}),
            (every, {"search": "#12"}), (every, {"search": "pri%er"}),
            (every, {"search": "printer", "priorities": ["P1", "P2"]}),
            (["closed"], {"search": "mail"}), (["closed"], {}),
            (["closed"], {"search": "printer", "assignee": "dana", "priorities": ["P3"]}),
            (every, {"search": "Acme", "client": "acme"}),
            (["resolved"], {"search": "VPN", "priorities": ["P1", "P2"]}),
            (["closed"], {"priorities": ["P1", "P2"]}), (["resolved"], {"client": "acme"}),
            (["closed"], {"assignee": "dana", "client": "acme", "priorities": ["P3"]})):
        filters: dict[str, Any] = {"statuses": statuses, **extra}
        desk.store.queue.count(**filters)
        long = WALK_ABOVE * 10  # the plan a long list gets, whatever this store holds
        first = pages.page(0, 100, total=long, **filters)
        pages.page(long // 2, 100, total=long, **filters)
        last = pages.page(long - 100, 100, total=long, **filters)
        if "search" in filters:  # a jump deep into a long search: the text index
            rows_read = queue_pages.ROWS_READ_FOR_TEXT
            queue_pages.ROWS_READ_FOR_TEXT = 0
            try:
                pages.page(long // 2, 100, total=long, **filters)
                pages.page(long - 100, 100, total=long, **filters)
            finally:
                queue_pages.ROWS_READ_FOR_TEXT = rows_read
        if first:
            pages.page(100, 100, total=long, after=key_of(first[-1]), **filters)
        if last:
            pages.page(long - 200, 100, total=long, before=key_of(last[0]), **filters)


class _Lent:
    """The recorded desk, lent to one CLI command: its ``close`` leaves the desk open."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    def __getattr__(self, name: str) -> object:
        return getattr(self.desk, name)

    def close(self) -> None:
        pass


def _run_short_commands(desk: Desk, ref: str) -> None:
    """``queue``, ``show``, ``note``, ``new`` and ``kb search`` as a technician types
    them, through the CLI's fast path (issue 20): whatever those commands come to run,
    directly or through a service, is recorded too."""
    from deskcli.cli import launch, session

    lines = (
        ["queue"], ["queue", "--all", "-n", "5"], ["queue", "--tag", "outage"],
        ["queue", "--tag", "outage", "--tag", "vip", "--all"], ["queue", "--mine"],
        ["queue", "--at-risk"], ["queue", "--breached"], ["queue", "--at-risk", "--breached"],
        ["queue", "--client", "Acme", "--format", "json"], ["queue", "--format", "ids"],
        ["queue", "--status", "pending-caller", "--priority", "P1,P2", "--type", "incident"],
        ["show", ref], ["show", ref, "--format", "json"],
        ["note", ref, "Checked the relay.", "--internal"], ["note", ref, "Back to you soon."],
        ["new", "--summary", "Scanner jams", "--caller", "Ann Lee", "--email",
         "ann@example.com", "--client", "Acme", "--priority", "P2"],
        ["kb", "search", "outlook"], ["kb", "search", "0x800CCC0E", "--kind", "ticket"],
    )
    lent = _Lent(desk)
    original = session.desk_factory
    session.desk_factory = lambda: lent  # type: ignore[assignment,return-value]
    try:
        for line in lines:
            assert launch.fast(line) == 0, line
    finally:
        session.desk_factory = original


@pytest.fixture(scope="module")
def statements(tmp_path_factory: pytest.TempPathFactory) -> list[Statement]:
    root: Path = tmp_path_factory.mktemp("plans")
    desk = make_desk(root, FakeClock())
    try:
        # Without ANALYZE (deskcli never runs it) the planner has no row counts, so the
        # plans do not depend on how many tickets there are; the rows are there so every
        # path (pages, drill-downs, the report's events) has something to read.
        demo.seed(desk.store, count=400, now=desk.now(), policy=desk.config.sla,
                  new_id=SeqIds())
        with recorded(desk) as seen:
            _drive(desk)
        unique: dict[str, None] = {}
        for sql in seen:
            head = sql.lstrip()[:6].upper()
            if head in ("SELECT", "UPDATE", "DELETE", "WITH R", "INSERT"):
                unique.setdefault(sql)
        return [Statement(sql, [row["detail"] for row in desk.store.db.execute(
            "EXPLAIN QUERY PLAN " + sql)]) for sql in unique]
    finally:
        desk.close()


def test_the_services_ran_the_queries_this_test_is_about(
        statements: list[Statement]) -> None:
    text = "\n".join(statement.sql for statement in statements)
    for needle in ("FROM tickets t LEFT JOIN callers", "FROM events e", "kb_fts MATCH",
                   "FROM outbound", "FROM outbox", "INSERT INTO notes",
                   "FROM ticket_tags WHERE tag = ", "SELECT ticket_id, tag FROM ticket_tags",
                   "FROM callers WHERE email IN"):
        assert needle in text


def test_no_full_scan_or_sort_of_tickets_or_events_where_an_index_can_serve(
        statements: list[Statement]) -> None:
    unexplained = []
    for statement in statements:
        for line in problems(statement):
            if not expected(statement, line):
                one_line = " ".join(statement.sql.split())
                unexplained.append(f"{line}\n    in: {one_line[:300]}")
    assert unexplained == [], "\n".join(unexplained)


@pytest.mark.parametrize(("sql", "plan", "flagged"), [
    ("SELECT * FROM tickets WHERE status NOT IN ('resolved')", ["SCAN tickets"], True),
    ("SELECT * FROM events e WHERE e.kind = 'x' ORDER BY e.at",
     ["SCAN e", "USE TEMP B-TREE FOR ORDER BY"], True),
    ("SELECT * FROM tickets t WHERE t.status IN ('new')",
     ["SEARCH t USING INDEX tickets_by_status (status=?)"], False),
    ("SELECT * FROM number_leases ORDER BY start", ["SCAN number_leases"], False),
])
def test_the_check_itself(sql: str, plan: list[str], flagged: bool) -> None:
    """The rule catches the defect the issue found (``NOT IN`` scanning every ticket)."""
    assert bool(problems(Statement(sql, plan))) is flagged
