"""Bulk actions on the batched write path write exactly what the per-ticket path writes.

``BulkService`` runs set/note/reply through ``TicketService.batched`` (writes held and
written with ``executemany``); ``BulkService(batched=False)`` is the path it had before,
one savepoint and one set of statements per ticket. The same tickets, the same action:
every table (outbox in order, field versions, clock, timeline, tags, notes, outbound
messages, rule firings) and the same ``BulkResult``, with ids and clock stamps from the
same deterministic sources, so they are compared too. Refusals part-way through a ticket
(after a field was written, with and without a listener that makes the batch flush
inside the ticket), ``keep_going`` both ways, previews and a crash while the batch is
written are covered.
"""

from __future__ import annotations

import itertools
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import pytest

from deskcli.domain.bulk import BulkAction, BulkResult, OutcomeState
from deskcli.domain.intake import NewTicket
from deskcli.services import bulk as bulk_module
from deskcli.services.bulk import BulkService, batches
from deskcli.services.desk import Desk, open_desk
from deskcli.services.listeners import mark_quiet
from deskcli.storage import batch as batch_module
from deskcli.storage.bulk import BulkWriter
from helpers import FakeClock, SeqIds, paths_under, settle_steps

#: Queued (not sent) caller email: the outbound planner listens to every change.
MAIL = """
[notify]
email = "mail"

[notify.channels.mail]
type = "smtp"
host = "127.0.0.1"
port = 2525
from = "desk@example.org"
"""

#: Event rules that run inside the bulk's transaction, before it commits.
RULES = """
[[rule]]
name = "p1 to the major queue"
on = "update"
if = { priority = "P1" }
then = { queue = "major", note = "P1: moved to the major-incident queue." }

[[rule]]
name = "reply seen"
on = "update"
if = { status = ["in-progress"] }
then = { tag = "touched" }

[[rule]]
name = "resolved P1s close"
on = "update"
if = { status = ["resolved"], priority = "P1" }
then = { close = true }

[[rule]]
name = "wrapped up"
on = "update"
if = { status = ["closed"] }
then = { tag = "wrapped" }
"""

CONFIGS = {"plain": (None, None), "mail": (MAIL, None), "rules": (MAIL, RULES)}

N = 12


def _desk(root: Path, config: str | None, rules: str | None) -> Desk:
    config_dir = root / "config"
    config_dir.mkdir(parents=True, exist_ok=True)
    if config is not None:
        (config_dir / "config.toml").write_text(config)
    if rules is not None:
        (config_dir / "rules.toml").write_text(rules)
    return open_desk(paths_under(root), now=FakeClock().now,
                     ids=SeqIds(counter=itertools.count(1)), actor="dana")


def _seed(desk: Desk) -> list[str]:
    """``N`` tickets in several states: new, in progress, tagged, closed, P2."""
    service = desk.tickets
    refs = []
    for k in range(N):
        row = service.create(NewTicket.from_mapping({
            "summary": f"Disk full on srv-{k}", "caller": f"User {k % 4}",
            "email": f"user{k % 4}@acme.example", "client": "Acme"}))
        ref = str(row["number"])
        refs.append(ref)
        if k % 5 == 1:
            service.update(ref, {"status": "in-progress"})
        elif k % 5 == 2:
            service.tag(ref, add=["outage", "vip"])
        elif k % 5 == 3:  # closed (the verbs' gates are not this test's subject)
            with desk.store.transaction():
                desk.store.update_ticket(row["id"], {
                    "status": "closed", "resolved_at": row["created_at"],
                    "closed_at": row["created_at"], "urgency_due": None},
                    row["created_at"])
        elif k % 5 == 4:
            service.update(ref, {"priority": "P2"})
    return refs


GOOD_RESOLUTION = "Cleared /var/log on the host and turned daily log rotation on; KB 4567"

#: ``_seed_lifecycle``: what ticket k is, by k % 12.
LIFECYCLE_KINDS = 12


def _seed_lifecycle(desk: Desk) -> list[str]:
    """Tickets for bulk resolve and close, by ``k % 12``: resolved with time logged and
    the checklist settled (0; 1 as a P4 with a resolution category; 11 as a P2: these
    close); in progress with time logged (2), new (9), pending the third party (10),
    pending the caller as a P1 with time logged and the checklist settled (7: these
    resolve; a rule then closes the P1); resolved without time (3), closed (4),
    resolved with the checklist unsettled (5), new and account work for an unverified
    caller (6), resolved and then made account work (8): refused. Links for resolving
    with children (refs are named newest first): k=21 over 22 (named before it: resolved
    on its own first), 19 (named after it: resolved as its child) and 16 (closed: left
    alone); k=14 over 9 (resolvable, written) and then 18 (account work: refused, so
    14 is refused after its first child was written, and 9 resolves on its own later)."""
    service = desk.tickets
    refs: list[str] = []
    for k in range(2 * LIFECYCLE_KINDS):
        kind = k % LIFECYCLE_KINDS
        row = service.create(NewTicket.from_mapping({
            "summary": f"Disk full on srv-{k}", "caller": f"User {k % 4}",
            "email": f"user{k % 4}@acme.example", "client": "Acme",
            "priority": {1: "P4", 7: "P1", 11: "P2"}.get(kind, "P3")}))
        ref = str(row["number"])
        refs.append(ref)
        if kind in (0, 1, 3, 4, 5, 8, 11):
            if kind != 5:
                settle_steps(desk, ref)
            if kind != 3:
                service.log_time(ref, "15m")
            service.resolve(ref, root_cause="log rotation was off",
                            resolution=GOOD_RESOLUTION,
                            category="incident" if kind == 1 else None)
            if kind == 4:
                service.close(ref)
            elif kind == 8:
                service.update(ref, {"category": "password"})
        elif kind == 2:
            service.update(ref, {"status": "in-progress"})
            service.log_time(ref, "5m")
        elif kind == 6:
            service.update(ref, {"category": "password"})
        elif kind == 7:
            service.update(ref, {"status": "pending-caller"})
            service.log_time(ref, "5m")
            settle_steps(desk, ref)
        elif kind == 10:
            service.update(ref, {"status": "pending-third-party"})
    for parent, child in ((21, 22), (21, 19), (21, 16), (14, 9), (14, 18)):
        service.link(refs[child], refs[parent])
    return refs


def _dump(desk: Desk) -> dict[str, Any]:
    """Every table (the full-text indexes by their content), outbox in order."""
    db = desk.store.db
    names = [r["name"] for r in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE "
        "'CREATE VIRTUAL%' AND name NOT LIKE 'sqlite_%'")]
    virtual = {r["name"] for r in db.execute(
        "SELECT name FROM sqlite_master WHERE sql LIKE 'CREATE VIRTUAL%'")}
    out: dict[str, Any] = {}
    for name in names:
        if any(name.startswith(f"{v}_") for v in virtual):
            continue  # a full-text index's own pages: compared by content below
        if name == "outbox":
            out[name] = [{k: v for k, v in r.items() if k != "seq"}
                         for r in db.execute("SELECT * FROM outbox ORDER BY seq")]
        else:
            out[name] = sorted(tuple(r.values()) for r in db.execute(f"SELECT * FROM {name}"))
    for name in virtual:
        out[name] = sorted(tuple(map(str, r.values()))
                           for r in db.execute(f"SELECT rowid, * FROM {name}"))
    out["hlc"] = desk.store.meta("hlc")
    return out


def _refs(refs: list[str]) -> list[str]:
    """Every ticket, newest first (not the order of their ids, which is the order
    SQLite changes rows in one statement), one that does not exist, and one named
    twice."""
    return [*reversed(refs), "9999", f"#{refs[0]}"]


ACTIONS = {
    "status": BulkAction.set({"status": "in-progress"}),
    # Closed tickets: the priority is written, then the move is refused (closed goes
    # to open only), so what that ticket wrote must go.
    "priority then refused status": BulkAction.set({"priority": "P1",
                                                    "status": "in-progress"}),
    # Closed tickets reopen (with the reason); the others move to open or stay.
    "reopen with a reason": BulkAction.set({"status": "open"},
                                           reason="the disk filled again"),
    "fields and tags": BulkAction.set({"assignee": "sam", "queue": "storage"},
                                      add_tags=["disk", "outage"], remove_tags=["vip"]),
    "tags only": BulkAction.set(add_tags=["outage"]),
    # Closed tickets are in the knowledge base's index, whose trigger numbers its
    # documents in the order the rows change: the batch must change them in order.
    "category": BulkAction.set({"category": "hardware"}),
    "internal note": BulkAction.note("Patched srv storage, watching it", internal=True),
    "reply": BulkAction.note("We are on it: the disk is being cleaned", internal=False),
}


#: Resolve and close (``_seed_lifecycle``): the verbs read the ticket's step records and
#: time entries, write step records, and move tickets into the knowledge base's index.
LIFECYCLE = {
    "close": BulkAction.close(),
    "close as a change": BulkAction.close(category="change"),
    "resolve": BulkAction.resolve(root_cause="log rotation was off",
                                  resolution=GOOD_RESOLUTION),
    "resolve with children": BulkAction.resolve(root_cause="log rotation was off",
                                                resolution=GOOD_RESOLUTION,
                                                category="problem", children=True),
}


def _run(tmp_path: Path, config: str, label: str, *, keep_going: bool, preview: bool,
         ) -> tuple[BulkResult, dict[str, Any]]:
    action = ACTIONS.get(label) or LIFECYCLE[label]
    seed = _seed if label in ACTIONS else _seed_lifecycle
    assert batches(action)
    got = []
    for name, batched in (("batched", True), ("per-ticket", False)):
        desk = _desk(tmp_path / name, *CONFIGS[config])
        try:
            refs = _refs(seed(desk))
            service = BulkService(desk.tickets, batched=batched)
            result = (service.preview(refs, action) if preview
                      else service.apply(refs, action, keep_going=keep_going))
            got.append((result, _dump(desk)))
        finally:
            desk.close()
    (batched_result, batched_rows), (plain_result, plain_rows) = got
    assert batched_result == plain_result
    assert batched_rows == plain_rows
    return batched_result, batched_rows


@pytest.mark.parametrize("config", sorted(CONFIGS))
@pytest.mark.parametrize("label", sorted(ACTIONS))
def test_batched_and_per_ticket_paths_write_the_same(tmp_path: Path, config: str,
                                                     label: str) -> None:
    result, _ = _run(tmp_path, config, label, keep_going=True, preview=False)
    states = {o.state for o in result.outcomes}
    assert OutcomeState.CHANGED in states
    assert result.applied


@pytest.mark.parametrize("config", sorted(CONFIGS))
@pytest.mark.parametrize("label", sorted(LIFECYCLE))
def test_resolve_and_close_write_the_same_on_both_paths(tmp_path: Path, config: str,
                                                        label: str) -> None:
    """Every ticket of ``_seed_lifecycle`` named, newest first, with a missing ref and one
    named twice; the refusals are the gates' own (not resolved, no time, steps left,
    closed, account work, a refused child)."""
    result, rows = _run(tmp_path, config, label, keep_going=True, preview=False)
    changed = {int(o.ref.lstrip("#")) - 1001 for o in result.changed}
    kinds = {k % LIFECYCLE_KINDS for k in changed}
    if label.startswith("close"):
        assert kinds == {0, 1, 11}
        reasons = " ".join(o.reason or "" for o in result.refused)
        for words in ("must be resolved", "no time is logged", "neither done nor skipped",
                      "the ticket is closed", "needs a verified caller"):
            assert words in reasons
    elif label == "resolve":
        assert changed == {2, 7, 9, 10, 14, 19, 21, 22}
    else:
        assert changed == {2, 7, 9, 10, 21, 22}
        [parent] = [o for o in result.refused if "with its children" in (o.reason or "")]
        assert parent.ref == "#1015"
    assert result.applied
    assert any("closed" in str(r) for r in rows["events"])


@pytest.mark.parametrize("config", sorted(CONFIGS))
@pytest.mark.parametrize("label", ["close", "resolve with children"])
def test_a_refused_resolve_or_close_writes_nothing_on_either_path(
        tmp_path: Path, config: str, label: str) -> None:
    result, rows = _run(tmp_path, config, label, keep_going=False, preview=False)
    assert not result.applied and result.refused and result.changed
    preview, _ = _run(tmp_path / "preview", config, label, keep_going=True, preview=True)
    assert not preview.applied
    assert [(o.ref, o.state, o.changes) for o in preview.outcomes] == \
        [(o.ref, o.state, o.changes) for o in result.outcomes]


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_a_refusal_writes_nothing_on_either_path(tmp_path: Path, config: str) -> None:
    result, rows = _run(tmp_path, config, "priority then refused status",
                        keep_going=False, preview=False)
    assert not result.applied
    reasons = {o.reason for o in result.refused}
    assert "no ticket #9999 in this store" in reasons
    assert any("cannot move a closed ticket" in (r or "") for r in reasons)
    assert not [r for r in rows["events"] if "P1" in str(r)]


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_previews_are_the_same_and_write_nothing(tmp_path: Path, config: str) -> None:
    result, rows = _run(tmp_path, config, "fields and tags", keep_going=True, preview=True)
    assert not result.applied
    assert any(o.changes for o in result.changed)
    assert not [r for r in rows["events"] if "sam" in str(r)]


def test_flushing_every_few_tickets_writes_the_same(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk_module, "FLUSH_EVERY", 3)
    _run(tmp_path, "plain", "fields and tags", keep_going=True, preview=False)
    _run(tmp_path / "again", "mail", "reply", keep_going=True, preview=False)
    _run(tmp_path / "close", "rules", "close", keep_going=True, preview=False)
    _run(tmp_path / "resolve", "plain", "resolve with children", keep_going=True,
         preview=False)


def test_unchanged_tickets_queue_no_op(tmp_path: Path) -> None:
    result, _ = _run(tmp_path, "plain", "tags only", keep_going=True, preview=False)
    unchanged = {o.ref for o in result.unchanged}
    assert len(unchanged) == sum(1 for k in range(N) if k % 5 == 2)


@pytest.mark.parametrize("label", ["fields and tags", "close", "resolve with children"])
@pytest.mark.parametrize("every", [1000, 4])
def test_a_crash_while_the_batch_is_written_leaves_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, every: int, label: str) -> None:
    """An exception in the middle of writing (the outbox, after the rows; with a small
    ``FLUSH_EVERY`` the last of several flushes) rolls the whole run back."""
    monkeypatch.setattr(bulk_module, "FLUSH_EVERY", every)
    desk = _desk(tmp_path, None, None)
    try:
        refs = (_seed if label in ACTIONS else _seed_lifecycle)(desk)
        before = _dump(desk)
        real = BulkWriter.insert
        outboxes = itertools.count(1)

        def failing(self: BulkWriter, table: str, *args: Any, **kwargs: Any) -> None:
            if table == "outbox" and next(outboxes) == (3 if every < N else 1):
                raise RuntimeError("disk on fire")
            real(self, table, *args, **kwargs)

        monkeypatch.setattr(BulkWriter, "insert", failing)
        with pytest.raises(RuntimeError, match="disk on fire"):
            BulkService(desk.tickets).apply(refs, ACTIONS.get(label) or LIFECYCLE[label],
                                            keep_going=True)
        monkeypatch.setattr(BulkWriter, "insert", real)
        assert _dump(desk) == before
        assert desk.tickets._batch is None
        # The service still works afterwards, on either path.
        done = BulkService(desk.tickets).apply(refs[:2], ACTIONS["internal note"])
        assert done.applied and len(done.changed) == 2
    finally:
        desk.close()


def test_a_change_of_client_stays_on_the_per_ticket_path() -> None:
    assert not batches(BulkAction.set({"client": "Globex"}))
    assert not batches(BulkAction.reopen(reason="the disk filled again"))
    assert batches(BulkAction.close())


def test_the_batch_knows_every_trigger_on_tickets(tmp_path: Path) -> None:
    """The batch writes a run of identical ticket updates as one statement, which SQLite
    applies in id order; that is safe for the triggers it was checked against
    (``batch.TICKET_TRIGGERS``, ``ORDER_DEPENDENT``). A new trigger must be checked too."""
    desk = _desk(tmp_path, None, None)
    try:
        found = {r["name"] for r in desk.store.db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'tickets'")}
    finally:
        desk.close()
    assert found == batch_module.TICKET_TRIGGERS


def test_one_statement_for_a_run_of_the_same_change(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Open tickets given the same status go in one ``UPDATE … IN``; a run touching a
    closed ticket goes row by row (and the rows are the same either way: above)."""
    statements: list[str] = []
    desk = _desk(tmp_path, None, None)
    try:
        refs = _seed(desk)
        desk.store.db.set_trace_callback(statements.append)
        BulkService(desk.tickets).apply(refs, ACTIONS["category"], keep_going=True)
        BulkService(desk.tickets).apply([r for k, r in enumerate(refs) if k % 5 != 3],
                                        ACTIONS["status"], keep_going=True)
    finally:
        desk.store.db.set_trace_callback(None)
        desk.close()
    updates = [s for s in statements if s.startswith("UPDATE tickets")]
    assert any('"category" = ' in s and "WHERE id = " in s for s in updates)
    assert any('"status" = ' in s and "WHERE id IN (" in s for s in updates)


def test_a_listener_reads_what_the_batch_holds_unless_it_is_quiet(tmp_path: Path) -> None:
    """A change listener reads the store as on the per-ticket path (the batch writes
    what it holds first); one marked quiet for a notice is told while the batch still
    holds the change (``services/listeners.py``)."""
    desk = _desk(tmp_path, None, None)
    try:
        refs = [r for k, r in enumerate(_seed(desk)) if k % 5 not in (1, 3)]
        seen: list[str] = []

        def reader(what: str, ticket_id: str, at: str, info: Any = None) -> None:
            if what == "updated":
                row = desk.store.tickets.by_id(ticket_id)
                assert row is not None
                seen.append(row["status"])

        desk.tickets.on_change = reader
        assert BulkService(desk.tickets).apply(refs, ACTIONS["status"]).applied
        assert seen == ["in-progress"] * len(refs)

        held: list[bool] = []

        def quiet(what: str, ticket_id: str, at: str, info: Any = None) -> None:
            batch = desk.tickets._batch
            held.append(batch is not None and batch.holds("tickets", ticket_id))

        mark_quiet(quiet, {"updated"})
        desk.tickets.on_change = quiet
        assert BulkService(desk.tickets).apply(refs, BulkAction.set({"queue": "ops"})).applied
        assert held == [True] * len(refs)
    finally:
        desk.close()


@pytest.mark.parametrize("one_shot", [False, True])
def test_only_a_one_shot_command_pauses_the_collector_for_a_large_bulk(
        tmp_path: Path, one_shot: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bulk action on ``INDEX_TOGETHER`` tickets or more runs with the larger page
    cache; the cyclic collector is paused only where the process ends with the command
    (``deskcli set -``, ``note -`` ..., ``one_shot=True``). The console's
    ``BulkService`` leaves it running: its sync worker and widgets keep making cyclic
    garbage while a batch runs."""
    import gc

    from deskcli.services.tickets import INDEX_TOGETHER

    desk = _desk(tmp_path, None, None)
    try:
        made = desk.tickets.create_many([NewTicket.from_mapping(
            {"summary": f"Printer jam {k}", "caller": "Ana"})
            for k in range(INDEX_TOGETHER)])
        seen: list[bool] = []
        find = desk.tickets.find

        def watching(ref: Any) -> Any:
            seen.append(gc.isenabled())
            return find(ref)

        monkeypatch.setattr(desk.tickets, "find", watching)
        result = BulkService(desk.tickets, one_shot=one_shot).apply(
            [ref for _, ref in made], BulkAction.set({"priority": "P2"}))
        assert result.applied and len(result.changed) == INDEX_TOGETHER
        assert len(seen) >= INDEX_TOGETHER and set(seen) == {not one_shot}
        assert gc.isenabled()
    finally:
        desk.close()


def test_the_console_and_the_cli_make_their_bulk_service_as_they_should() -> None:
    """The console must not pause the collector (above); the CLI command may."""
    from deskcli.cli import bulk_cmd
    from deskcli.tui import session

    assert "BulkService(desk.tickets, one_shot=True)" in Path(bulk_cmd.__file__).read_text()
    assert "BulkService(self.desk.tickets)" in Path(session.__file__).read_text()


def test_facts_in_a_batch_count_the_step_records_and_time_it_holds(tmp_path: Path) -> None:
    """Close reads the ticket's step records and time entries (``facts``): in a batch
    that holds some for the ticket, they are read as the store will hold them. Resolving
    and then closing one ticket in one batch writes what the two verbs write one after
    the other without a batch (the close needs the resolve step the batch holds)."""
    from deskcli.domain.numbering import TicketRef

    got = []
    for batched in (True, False):
        desk = _desk(tmp_path / str(batched), None, None)
        try:
            ref = _seed_lifecycle(desk)[9]  # new: no time logged, checklist open
            ticket_id = desk.tickets.find(ref)["id"]
            settle_steps(desk, ref)
            service = desk.tickets
            with desk.store.transaction():
                with service.batched() if batched else nullcontext():
                    service._put("time_entries", {
                        "id": "time-1", "ticket_id": ticket_id, "at": "2026-01-01T00:00:00Z",
                        "author": "dana", "minutes": 25, "note": None})
                    assert service.facts(service.find(ref)).minutes_logged == 25
                    service.resolve(TicketRef(ticket_id=ticket_id),
                                    root_cause="log rotation was off",
                                    resolution=GOOD_RESOLUTION)
                    service.close(TicketRef(ticket_id=ticket_id))
            got.append(_dump(desk))
            assert desk.tickets.find(ref)["status"] == "closed"
        finally:
            desk.close()
    assert got[0] == got[1]


def test_resolve_and_close_stay_batched_without_a_listener(tmp_path: Path) -> None:
    """On a desk that sends no mail and runs no rules nothing makes the batch write
    before its end: each table's rows go in a few statements, not a few per ticket."""
    statements: list[str] = []
    desk = _desk(tmp_path, None, None)
    try:
        refs = _seed_lifecycle(desk)
        desk.store.db.set_trace_callback(statements.append)
        resolved = BulkService(desk.tickets).apply(refs, LIFECYCLE["resolve"],
                                                   keep_going=True)
        closed = BulkService(desk.tickets).apply(refs, LIFECYCLE["close"], keep_going=True)
    finally:
        desk.store.db.set_trace_callback(None)
        desk.close()
    assert len(resolved.changed) == 8 and len(closed.changed) == 8
    events = [s for s in statements if s.startswith("INSERT INTO events")]
    assert 1 <= len(events) <= 2
