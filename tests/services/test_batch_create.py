"""Bulk creation's batched path writes exactly what the one-row-at-a-time path writes:
the same rows, the same sync ops in the same order, the same clock and leases."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from deskcli.domain.intake import NewTicket
from deskcli.services.desk import Desk, open_desk
from helpers import FakeClock, SeqIds, paths_under

RECORDS: list[dict[str, Any]] = [
    {"summary": "Disk full on srv-1", "caller": "Ana", "email": "ana@acme.example",
     "client": "Acme", "priority": "P2"},
    {"summary": "Disk full on srv-2", "caller": "Ana", "email": "ana@acme.example",
     "client": "Acme"},
    {"summary": "VPN drops", "caller": "ana", "client": "Acme", "phone": "+1 555 0100"},
    {"summary": "No client, no caller"},
    {"summary": "Globex printer", "caller": "Ben", "email": "ben@globex.example",
     "client": "Globex", "verified": "callback", "priority": "P1"},
    {"summary": "Ben again, another address", "caller": "Ben", "email": "b2@globex.example",
     "client": "Globex"},
    {"summary": "Old caller gets a phone", "caller": "Zed", "email": "zed@acme.example",
     "client": "Acme", "phone": "+1 555 0199"},
    {"summary": "Same name, other client", "caller": "Ana", "client": "Initech"},
]
TABLES = ("tickets", "events", "step_records", "callers", "clients", "field_versions",
          "number_leases")


def _desk(root: Path) -> Desk:
    counter = itertools.count(1)
    return open_desk(paths_under(root), now=FakeClock().now,
                     ids=SeqIds(counter=counter), actor="dana")


def _dump(desk: Desk) -> dict[str, Any]:
    db = desk.store.db
    out: dict[str, Any] = {t: [dict(r) for r in db.execute(f"SELECT * FROM {t} ORDER BY 1, 2")]
                           for t in TABLES}
    out["outbox"] = [{k: v for k, v in r.items() if k != "seq"}
                     for r in db.execute("SELECT * FROM outbox ORDER BY seq")]
    out["hlc"] = desk.store.meta("hlc")
    return out


def _seed(desk: Desk) -> None:
    """A caller already in the store, without a phone: the import fills it in."""
    desk.tickets.create(NewTicket.from_mapping({"summary": "earlier", "caller": "Zed",
                                                "email": "zed@acme.example",
                                                "client": "Acme"}))


def test_batched_and_row_at_a_time_write_the_same(tmp_path: Path) -> None:
    drafts = [NewTicket.from_mapping(r) for r in RECORDS * 3]
    batched, plain = _desk(tmp_path / "a"), _desk(tmp_path / "b")
    try:
        _seed(batched)
        _seed(plain)
        batched.tickets.create_many(drafts)
        service = plain.tickets
        now = service._now()
        with plain.store.transaction():  # what create_many did before it was batched
            for draft in drafts:
                service.insert_ticket(draft, now)
        assert _dump(batched) == _dump(plain)
    finally:
        batched.close()
        plain.close()


def test_a_batch_that_fails_writes_nothing(tmp_path: Path) -> None:
    desk = _desk(tmp_path / "a")
    try:
        before = _dump(desk)
        drafts = [NewTicket.from_mapping(r) for r in RECORDS]
        service = desk.tickets

        def boom(*_: Any) -> None:
            raise RuntimeError("disk on fire")

        service.on_change = boom
        try:
            service.create_many(drafts)
        except RuntimeError:
            pass
        service.on_change = None
        assert _dump(desk) == before
        assert service._batch is None, "the next write is not buffered"
    finally:
        desk.close()
