"""Issue 14, finding 4: no feed row can break a client.

Rows the server accepted before it checked ops (or that a newer deskcli writes) are put
straight into the feed here, as they sat in real servers; each store must set such a row
aside, apply the rest and keep syncing, and an admin's retraction must reach every store.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import select

from deskcli.server.models import SrvCounter, SrvOp
from deskcli.sync.client import MAX_SERVER_ERRORS, SyncClient, SyncError
from deskcli.sync.credentials import Credentials

from .conftest import TeamServer, Tech
from .test_sync import new, state
from .test_sync_cli import deskcli

pytestmark = pytest.mark.subprocess


def inject(server: TeamServer, entity: str, entity_id: str, kind: str, value: Any,
           field: str | None = None, *, op_id: str, scope: str, hlc: str | None = None) -> int:
    """Append a row to the server's feed as an older, unchecking server would have."""
    with server.session() as s:
        counter = s.get(SrvCounter, "seq")
        assert counter is not None
        counter.value += 1
        s.add(counter)
        s.add(SrvOp(seq=counter.value, op_id=op_id, origin="legacy", tech="ana",
                    entity=entity, entity_id=entity_id, kind=kind, field=field,
                    value=json.dumps(value), hlc=hlc or "000000000000002-000000-legacy",
                    scope=scope, received_at="2026-11-24T09:30:00Z"))
        s.commit()
        return counter.value


@pytest.fixture
def shared(team: dict[str, Tech]) -> tuple[str, str]:
    """A ticket of Acme on both stores; returns (ticket id, Acme's client id)."""
    ticket = new(team["ana"].desk, "VPN drops every hour")
    team["ana"].sync()
    team["ben"].sync()
    row = team["ben"].desk.store.row("tickets", ticket)
    assert row is not None
    return ticket, row["client_id"]


def test_bad_rows_are_quarantined_and_sync_goes_on(server: TeamServer,
                                                   team: dict[str, Tech],
                                                   shared: tuple[str, str],
                                                   tmp_path: Path) -> None:
    ticket, acme = shared
    ana, ben = team["ana"], team["ben"]
    inject(server, "ticket", ticket, "set", {"a": 1}, "priority", op_id="legacy-prio",
           scope=acme)
    inject(server, "note", "n-list", "append",
           {"id": "n-list", "ticket_id": ticket, "at": "2026-11-24T09:30:00Z",
            "author": "ana", "body": ["not", "text"], "internal": 1},
           op_id="legacy-list", scope=acme)
    inject(server, "ticket", "t-half", "create", {"id": "t-half", "client_id": acme},
           op_id="legacy-half", scope=acme)
    inject(server, "ticket", ticket, "set", "P1", "priority", op_id="legacy-stamp",
           scope=acme, hlc="999999999999999-999999-x")
    # An honest change after the bad rows must still arrive.
    ana.desk.tickets.add_note(ticket, "Replaced the router", internal=True)
    ana.sync()
    report = ben.sync()
    assert report.quarantined == 4
    held = {r["op_id"]: r for r in ben.desk.store.sync.quarantined()}
    assert set(held) == {"legacy-prio", "legacy-list", "legacy-half", "legacy-stamp"}
    assert "priority" in held["legacy-prio"]["reason"]
    assert "body" in held["legacy-list"]["reason"]
    assert "ahead" in held["legacy-stamp"]["reason"]
    assert ben.desk.store.row("tickets", ticket)["priority"] != "P1"
    assert [n["body"] for n in state(ben.desk)["notes"]] == ["Replaced the router"]
    # The store's clock was not dragged to the end of time: its next push is accepted.
    ben.desk.tickets.add_note(ticket, "Router firmware updated", internal=True)
    again = ben.sync()
    assert again.rejected == [] and again.pushed >= 1 and again.quarantined == 0
    # The technician can see what was set aside, and why.
    listing = deskcli("sync", "--quarantined", "--format", "json", home=tmp_path / "ben")
    assert listing.returncode == 0, listing.stderr
    rows = json.loads(listing.stdout)
    assert {r["op_id"] for r in rows} == set(held)
    assert all(r["reason"] for r in rows)


def test_a_row_waiting_for_its_parent_applies_once_the_parent_comes(
        server: TeamServer, team: dict[str, Tech], shared: tuple[str, str]) -> None:
    """A note pulled before its ticket (a scope gap) waits in quarantine, then applies."""
    ticket, acme = shared
    ben = team["ben"]
    inject(server, "note", "n-early", "append",
           {"id": "n-early", "ticket_id": "t-later", "at": "2026-11-24T09:30:00Z",
            "author": "ana", "body": "Early note", "internal": 1},
           op_id="early-note", scope=acme)
    assert ben.sync().quarantined == 1
    assert "FOREIGN KEY" in ben.desk.store.sync.quarantined()[0]["reason"]
    created = dict(ben.desk.store.row("tickets", ticket) or {})
    created.update(id="t-later", number=None, provisional="L-x-1", summary="Later ticket")
    for derived in ("response_due", "response_risk_at", "resolve_due", "resolve_risk_at",
                    "urgency_due", "updated_at"):
        created.pop(derived, None)
    inject(server, "ticket", "t-later", "create", created, op_id="later-create", scope=acme)
    report = ben.sync()
    assert ben.desk.store.row("tickets", "t-later") is not None
    assert report.quarantined == 0
    report = ben.sync()
    assert report.released == 1
    assert ben.desk.store.sync.quarantined() == []
    assert ben.desk.store.row("notes", "n-early") is not None


def test_an_admin_retracts_an_op_and_every_store_applies_it(
        server: TeamServer, team: dict[str, Tech], shared: tuple[str, str],
        tmp_path: Path) -> None:
    ticket, acme = shared
    ana, ben = team["ana"], team["ben"]
    ben.desk.tickets.add_note(ticket, "Posted in the wrong ticket", internal=True)
    ben.sync()
    ana.sync()
    note_id = next(r["id"] for r in state(ana.desk)["notes"])
    inject(server, "ticket", ticket, "set", {"a": 1}, "priority", op_id="legacy-prio",
           scope=acme)
    ana.sync()
    assert [r["op_id"] for r in ana.desk.store.sync.quarantined()] == ["legacy-prio"]
    url = ["--database-url", server.database_url]
    listing = deskcli("server", "ops", "--record", ticket, "--format", "json", *url,
                      home=tmp_path / "admin")
    assert listing.returncode == 0, listing.stderr
    assert "legacy-prio" in {r["op_id"] for r in json.loads(listing.stdout)}
    no_reason = deskcli("server", "ops", "--retract", "legacy-prio", *url,
                        home=tmp_path / "admin")
    assert no_reason.returncode == 2 and "--reason" in no_reason.stderr
    missing = deskcli("server", "ops", "--retract", "nope", "--reason", "x", *url,
                      home=tmp_path / "admin")
    assert missing.returncode != 0 and "no op 'nope'" in missing.stderr
    assert "Traceback" not in missing.stderr
    note_op = next(o.op_id for o in _ops(server) if o.entity_id == note_id)
    for op_id in ("legacy-prio", note_op):
        done = deskcli("server", "ops", "--retract", op_id, "--reason", "bad data", *url,
                       home=tmp_path / "admin")
        assert done.returncode == 0, done.stderr
    twice = deskcli("server", "ops", "--retract", note_op, "--reason", "again", *url,
                    home=tmp_path / "admin")
    assert twice.returncode == 2 and "already retracted" in twice.stderr
    ana.sync()
    ben.sync()
    assert ana.desk.store.sync.quarantined() == []
    assert state(ana.desk)["notes"] == [] == state(ben.desk)["notes"]
    # A store that joins now never sees either op.
    token = server.add("cy", ["Acme"])
    from helpers import make_desk

    cy_desk = make_desk(tmp_path / "cy", actor="cy")
    cy = SyncClient(cy_desk, Credentials(server.url, token, "t"))
    report = cy.sync()
    assert report.quarantined == 0 and state(cy_desk)["notes"] == []
    assert state(cy_desk)["tickets"] == state(ana.desk)["tickets"]
    cy.close()
    cy_desk.close()


def _ops(server: TeamServer) -> list[SrvOp]:
    with server.session() as s:
        return list(s.exec(select(SrvOp)).all())


def _client_with_push_faults(
        server: TeamServer, tech: Tech,
        on_push: Callable[[httpx.Request], httpx.Response | None]) -> SyncClient:
    """A sync client whose pushes pass through ``on_push`` first: its answer stands in for
    the server's, None lets the push through. Every other request reaches the server."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/push":
            answer = on_push(request)
            if answer is not None:
                return answer
        with httpx.Client(base_url=server.url, headers=dict(request.headers)) as real:
            forwarded = real.request(request.method, request.url.path,
                                     params=request.url.params, content=request.content)
        return httpx.Response(forwarded.status_code, content=forwarded.content,
                              headers={"content-type": "application/json"})

    token = server.tokens[tech.handle]
    http = httpx.Client(base_url=server.url, transport=httpx.MockTransport(handler),
                        headers={"Authorization": f"Bearer {token}",
                                 "X-Deskcli-Protocol": "1"})
    client = SyncClient(tech.desk, Credentials(server.url, token, "t"), http=http)
    client.retry_delays = (0.01, 0.01)
    return client


def test_a_server_error_on_one_op_does_not_hold_up_the_rest(
        server: TeamServer, team: dict[str, Tech], shared: tuple[str, str]) -> None:
    ticket, _ = shared
    ana = team["ana"]
    for text in ("First", "Poison", "Third"):
        ana.desk.tickets.add_note(ticket, text, internal=True)
    poison = next(json.loads(o["value"])["id"] for o in ana.desk.store.sync.pending_ops(100)
                  if o["entity"] == "note" and json.loads(o["value"])["body"] == "Poison")
    failing = {"on": True}

    def poisoned(request: httpx.Request) -> httpx.Response | None:
        if failing["on"] and poison.encode() in request.content:
            return httpx.Response(500, json={"detail": "Internal Server Error"})
        return None

    client = _client_with_push_faults(server, ana, poisoned)
    report = client.sync()
    assert len(report.deferred) == 2, "the poison note and its timeline event wait"
    assert report.pushed >= 4, "the other notes and events went out"
    assert ana.desk.store.sync.outbox_count() == 2
    team["ben"].sync()
    assert sorted(n["body"] for n in state(team["ben"].desk)["notes"]) == ["First", "Third"]
    failing["on"] = False
    report = client.sync()
    assert report.deferred == [] and ana.desk.store.sync.outbox_count() == 0
    client.close()


def test_a_server_failing_on_everything_stops_the_sync_without_losing_anything(
        server: TeamServer, team: dict[str, Tech], shared: tuple[str, str]) -> None:
    ticket, _ = shared
    ana = team["ana"]
    for index in range(50):
        ana.desk.tickets.add_note(ticket, f"Note {index}", internal=True)
    queued = ana.desk.store.sync.outbox_count()
    pushes = []

    def down(request: httpx.Request) -> httpx.Response:
        pushes.append(request)
        return httpx.Response(503, json={"detail": "down for maintenance"})

    client = _client_with_push_faults(server, ana, down)
    with pytest.raises(SyncError, match="keeps failing"):
        client.sync()
    assert len(pushes) <= MAX_SERVER_ERRORS + 3
    assert ana.desk.store.sync.outbox_count() == queued
    client.close()
    assert ana.sync().unsent == 0, "the real server takes them all next time"
