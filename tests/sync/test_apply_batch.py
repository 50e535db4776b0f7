"""A pulled page applied in bulk (``_PageBatch``) leaves the store exactly as applying it
row by row does: same rows, same field stamps, same derived columns, same counts.

In process, no server: a technician's outbox stands in for the feed (as in
test_identity_sync.py), split into pages the way a pull would see them.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from deskcli.domain.enums import Priority, Status
from deskcli.domain.intake import NewTicket
from deskcli.services.desk import Desk
from deskcli.sync import apply as apply_mod
from deskcli.sync.apply import ApplyStats, ChangeApplier
from helpers import FakeClock, make_desk, ordered_text_in_step


def _feed(desk: Desk) -> list[dict[str, Any]]:
    return [{"seq": index + 1, "op_id": op["op_id"], "origin": "s1", "tech": "ana",
             "entity": op["entity"], "entity_id": op["entity_id"], "kind": op["kind"],
             "field": op["field"],
             "value": json.loads(op["value"]) if op["value"] is not None else None,
             "hlc": op["hlc"]} for index, op in enumerate(desk.store.sync.outbox())]


def _work(desk: Desk) -> None:
    """Tickets of two clients with notes, time, priority and status changes, a client
    and a caller, and a ticket changed again later: creates, appends and sets."""
    t = desk.tickets
    ids = []
    for index in range(12):
        ticket = t.create(NewTicket.from_mapping(
            {"summary": f"Printer {index} jams", "client": "Acme" if index % 2 else "Globex",
             "caller": f"Caller {index % 3}"}))
        ids.append(str(ticket["id"]))
        t.add_note(ticket["id"], f"Checked tray {index}", internal=True)
    t.update(ids[0], {"priority": Priority.P2.value})
    t.update(ids[1], {"summary": "Printer 1 jams on duplex"})
    t.log_time(ids[2], "15m", note="Cleaned rollers")
    t.set_status(ids[3], Status.IN_PROGRESS.value)
    t.update(ids[0], {"priority": Priority.P1.value})


def _dump(desk: Desk) -> dict[str, list[tuple[Any, ...]]]:
    with sqlite3.connect(desk.store.path) as raw:
        tables = [r[0] for r in raw.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND name NOT LIKE 'kb_fts%' AND name NOT LIKE 'ticket_text_%' "
            "AND name != 'meta'")]
        return {table: sorted(map(tuple, raw.execute(f'SELECT * FROM "{table}"')), key=repr)
                for table in tables}


def _apply_pages(desk: Desk, feed: list[dict[str, Any]], size: int) -> ApplyStats:
    total = ApplyStats()
    applier = ChangeApplier(desk.store, desk.tickets)
    for start in range(0, len(feed), size):
        with desk.store.transaction():
            stats = applier.apply(feed[start:start + size])
        total.applied += stats.applied
        total.skipped += stats.skipped
        total.quarantined += stats.quarantined
        total.tickets |= stats.tickets
    return total


@pytest.mark.parametrize("page", [1000, 7, 1])
def test_bulk_and_row_by_row_leave_the_same_store(tmp_path: Path, page: int,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    writer = make_desk(tmp_path / "writer", clock, actor="ana")
    bulk = make_desk(tmp_path / "bulk", clock, actor="bo")
    rows = make_desk(tmp_path / "rows", clock, actor="bo")
    try:
        _work(writer)
        feed = _feed(writer)
        assert {c["kind"] for c in feed} >= {"create", "append", "set"}
        written = []
        real = apply_mod._PageBatch._write

        def spy(batch: Any) -> None:
            written.append(batch)
            real(batch)

        monkeypatch.setattr(apply_mod._PageBatch, "_write", spy)
        batched = _apply_pages(bulk, feed, page)
        assert len(written) == -(-len(feed) // page), "every page went the bulk way"
        monkeypatch.setattr(apply_mod._PageBatch, "suits", staticmethod(lambda _c: False))
        by_row = _apply_pages(rows, feed, page)
        assert (batched.applied, batched.skipped, batched.quarantined, batched.tickets) == (
            by_row.applied, by_row.skipped, by_row.quarantined, by_row.tickets)
        assert batched.quarantined == 0
        assert _dump(bulk) == _dump(rows)
        # Applying the feed again changes nothing, either way.
        again = _apply_pages(bulk, feed, page)
        assert again.applied == 0
        assert _dump(bulk) == _dump(rows)
    finally:
        for desk in (writer, bulk, rows):
            desk.close()


def test_a_bad_row_in_a_bulk_page_is_quarantined_alone(tmp_path: Path) -> None:
    """A row that passes the schema but cannot be stored (its ticket is not here) makes
    the bulk write fail: the page is applied row by row, and only that row is held."""
    clock = FakeClock()
    writer = make_desk(tmp_path / "writer", clock, actor="ana")
    reader = make_desk(tmp_path / "reader", clock, actor="bo")
    try:
        _work(writer)
        feed = _feed(writer)
        orphan = next(c for c in feed if c["entity"] == "note")
        orphan = {**orphan, "op_id": "orphan-op", "entity_id": "orphan-note",
                  "value": {**orphan["value"], "id": "orphan-note", "ticket_id": "nowhere"}}
        stats = _apply_pages(reader, [*feed, orphan], 1000)
        assert stats.quarantined == 1
        held = reader.store.sync.quarantined()
        assert [row["op_id"] for row in held] == ["orphan-op"]
        assert stats.applied == len(feed)
    finally:
        writer.close()
        reader.close()


def test_a_number_held_here_by_another_ticket_goes_row_by_row(tmp_path: Path) -> None:
    """The server's number wins: the local holder is relabelled, as row by row."""
    clock = FakeClock()
    writer = make_desk(tmp_path / "writer", clock, actor="ana")
    reader = make_desk(tmp_path / "reader", clock, actor="bo")
    try:
        theirs = writer.tickets.create(NewTicket(summary="Theirs", client="Acme"))
        mine = reader.tickets.create(NewTicket(summary="Mine", client="Acme"))
        assert theirs["number"] == mine["number"]
        _apply_pages(reader, _feed(writer), 1000)
        relabelled = reader.store.tickets.by_id(mine["id"])
        assert relabelled is not None
        assert relabelled["number"] is None and relabelled["provisional"]
        arrived = reader.store.tickets.by_id(theirs["id"])
        assert arrived is not None and arrived["number"] == theirs["number"]
    finally:
        writer.close()
        reader.close()


def _server_after(feed: list[dict[str, Any]], tail: list[tuple[str, str, str, Any]]
                  ) -> list[dict[str, Any]]:
    """``feed`` followed by set ops such as the server writes (stamps later than all)."""
    last = max(change["hlc"] for change in feed)
    wall = int(last.split("-")[0]) + 1
    return [*feed, *({"seq": len(feed) + i + 1, "op_id": f"srv-{i}", "origin": "server",
                      "tech": "server", "entity": entity, "entity_id": entity_id,
                      "kind": "set", "field": name, "value": value,
                      "hlc": f"{wall:015d}-{i:06d}-server"}
                     for i, (entity, entity_id, name, value) in enumerate(tail))]


def test_tickets_renumbered_in_the_page_that_made_them_need_no_second_look(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The server numbers tickets made offline right after their create, in the same
    page: a number (or summary) is no clock input, so their SLA columns are not computed
    again, and the store is still exactly what row by row leaves. A priority or status
    change after the create is one, and those tickets are refreshed."""
    clock = FakeClock()
    writer = make_desk(tmp_path / "writer", clock, actor="ana")
    bulk = make_desk(tmp_path / "bulk", clock, actor="bo")
    rows = make_desk(tmp_path / "rows", clock, actor="bo")
    try:
        _work(writer)
        feed = _feed(writer)
        tickets = [c["entity_id"] for c in feed
                   if c["entity"] == "ticket" and c["kind"] == "create"]
        tail: list[tuple[str, str, str, Any]] = []
        for index, ticket_id in enumerate(tickets[4:]):
            tail += [("ticket", ticket_id, "number", 500 + index),
                     ("ticket", ticket_id, "provisional", None)]
        tail += [("ticket", tickets[5], "summary", "Renamed by someone else"),
                 ("ticket", tickets[6], "priority", Priority.P1.value),
                 ("ticket", tickets[7], "status", Status.RESOLVED.value)]
        feed = _server_after(feed, tail)
        refreshed: list[str] = []
        real = bulk.tickets.refresh_derived

        def counted(ticket_id: str) -> None:
            refreshed.append(ticket_id)
            real(ticket_id)

        monkeypatch.setattr(bulk.tickets, "refresh_derived", counted)
        _apply_pages(bulk, feed, 1000)
        # _work changes tickets 0-3 after creating them (priority, summary, time, status):
        # 0 and 3 change clock inputs. Of the renumbered ones, 6 and 7 do too.
        assert sorted(refreshed) == sorted(tickets[i] for i in (0, 3, 6, 7))
        monkeypatch.setattr(apply_mod._PageBatch, "suits", staticmethod(lambda _c: False))
        _apply_pages(rows, feed, 1000)
        assert _dump(bulk) == _dump(rows)
        renumbered = bulk.store.tickets.by_id(tickets[4])
        assert renumbered is not None and renumbered["number"] == 500
        # The text index in the queue's order (migration 16) followed the pulled numbers,
        # priorities and statuses, either way: the resolved ticket is in it.
        for desk in (bulk, rows):
            ordered_text_in_step(desk.store.db)
            assert desk.store.db.execute(
                "SELECT count(*) AS n FROM ticket_text_ordered").fetchone()["n"] >= 1
    finally:
        for desk in (writer, bulk, rows):
            desk.close()
