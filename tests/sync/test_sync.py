"""Offline-first sync against a real server process: convergence, nothing lost, nothing doubled."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import col, func, select

from deskcli.domain.intake import NewTicket
from deskcli.server.models import SrvOp
from deskcli.services.desk import Desk
from deskcli.sync.client import PUSH_BATCH, SyncClient, SyncError
from deskcli.sync.credentials import Credentials
from helpers import FakeClock, make_desk
from sync.forkserver import ForkServer

from .conftest import TeamServer, Tech

pytestmark = pytest.mark.subprocess

SYNCED_TABLES = ("tickets", "clients", "callers", "events", "notes", "time_entries",
                 "step_records", "attachments")
LOCAL_ONLY = {"response_due", "response_risk_at", "resolve_due", "resolve_risk_at",
              "urgency_due", "updated_at"}


def state(desk: Desk) -> dict[str, Any]:
    """Everything that must be identical on every replica after a full sync."""
    db = desk.store.db
    out: dict[str, Any] = {}
    for table in SYNCED_TABLES:
        rows = db.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()
        out[table] = [{k: v for k, v in row.items() if k not in LOCAL_ONLY} for row in rows]
    return out


def new(desk: Desk, summary: str, **extra: Any) -> str:
    record = {"summary": summary, "client": "Acme", **extra}
    return str(desk.tickets.create(NewTicket.from_mapping(record))["id"])


def server_ops(server: TeamServer) -> list[SrvOp]:
    with server.session() as s:
        return list(s.exec(select(SrvOp).order_by(col(SrvOp.seq))).all())


def sync_all(*techs: Tech, rounds: int = 2) -> None:
    for _ in range(rounds):
        for tech in techs:
            tech.sync()


class TestConvergence:
    def test_two_offline_clients_converge(self, team: dict[str, Tech]) -> None:
        """Offline work on two laptops: after syncing, both hold exactly the same data."""
        ana, ben = team["ana"].desk, team["ben"].desk
        a1 = new(ana, "VPN drops every few minutes", caller="Zoe Park")
        new(ana, "Printer offline on 3rd floor")
        b1 = new(ben, "New starter needs a laptop", type="request")
        ana.tickets.add_note(a1, "Asked for the VPN client log", internal=True)
        ana.tickets.log_time(a1, "20m")
        ben.tickets.add_note(b1, "Laptop ordered", internal=False)
        ben.tickets.log_time(b1, "15m")
        sync_all(team["ana"], team["ben"])
        assert state(ana) == state(ben)
        numbers = [r["number"] for r in state(ana)["tickets"]]
        assert None not in numbers and len(set(numbers)) == 3, "unique real numbers"
        assert ana.store.sync.outbox_count() == ben.store.sync.outbox_count() == 0
        notes = state(ana)["notes"]
        assert len(notes) == 2 and len({n["id"] for n in notes}) == 2
        assert sum(e["minutes"] for e in state(ben)["time_entries"]) == 35

    def test_both_edit_the_same_ticket_offline(self, team: dict[str, Tech]) -> None:
        """Different fields merge; notes and time from both sides are all kept."""
        ana, ben = team["ana"].desk, team["ben"].desk
        ticket = new(ana, "Outlook keeps asking for a password")
        sync_all(team["ana"], team["ben"])
        ana.tickets.update(ticket, {"priority": "P2"})
        ana.tickets.add_note(ticket, "Cleared the credential cache", internal=True)
        ben.tickets.update(ticket, {"assignee": "ben", "category": "email"})
        ben.tickets.add_note(ticket, "User says it started after the password change",
                             internal=True)
        ben.tickets.log_time(ticket, "10m")
        sync_all(team["ana"], team["ben"])
        assert state(ana) == state(ben)
        row = ana.tickets.find(ticket)
        assert (row["priority"], row["assignee"], row["category"]) == ("P2", "ben", "email")
        assert row["flagged"] is None, "no conflict: different fields"
        assert len(ana.tickets.detail(ticket).timeline) == len(ben.tickets.detail(ticket).timeline)

    def test_concurrent_edits_of_one_field(self, team: dict[str, Tech]) -> None:
        """The same field edited on both sides: one winner everywhere, the other value on
        the timeline, and the ticket flagged for free text."""
        ana, ben = team["ana"].desk, team["ben"].desk
        clock: FakeClock = ana.now.__self__  # type: ignore[attr-defined]
        ticket = new(ana, "VPN down")
        sync_all(team["ana"], team["ben"])
        ana.tickets.update(ticket, {"summary": "VPN down for the whole sales team"})
        ana.tickets.update(ticket, {"priority": "P1"})
        clock.advance(seconds=30)
        ben.tickets.update(ticket, {"summary": "VPN drops every five minutes"})
        ben.tickets.update(ticket, {"priority": "P2"})
        sync_all(team["ana"], team["ben"])
        assert state(ana) == state(ben)
        row = ben.tickets.find(ticket)
        assert row["summary"] == "VPN drops every five minutes", "later stamp wins"
        assert row["priority"] == "P2"
        assert row["flagged"] and "summary" in row["flagged"]
        conflicts = [json.loads(e["detail"]) for e in ana.tickets.detail(ticket).timeline
                     if e["kind"] == "conflict"]
        lost = {c["field"]: c["lost"] for c in conflicts}
        assert lost == {"summary": "VPN down for the whole sales team", "priority": "P1"}

    def test_renumbering_of_tickets_made_before_joining(self, server: TeamServer,
                                                        tmp_path: Path) -> None:
        """Tickets numbered while working alone get server numbers; nobody shares one."""
        token = server.add("cy", ["Acme"])
        first = make_desk(tmp_path / "first", actor="cy")
        second = make_desk(tmp_path / "second", actor="cy")
        for desk in (first, second):  # both standalone: both number from 1001
            assert desk.tickets.create(NewTicket.from_mapping(
                {"summary": "Standalone", "client": "Acme"}))["number"] == 1001
        clients = [SyncClient(d, Credentials(server.url, token, "t")) for d in (first, second)]
        for _ in range(2):
            for c in clients:
                c.sync()
        numbers = sorted(r["number"] for r in state(first)["tickets"])
        assert len(set(numbers)) == 2 and None not in numbers
        assert state(first) == state(second)
        kinds = [e["kind"] for e in state(first)["events"]]
        assert kinds.count("renumbered") == 2


class TestNothingLostOrDoubled:
    def test_same_push_twice_is_applied_once(self, server: TeamServer,
                                             team: dict[str, Tech]) -> None:
        ana = team["ana"]
        new(ana.desk, "Shared drive missing")
        ana.client.whoami()
        ana.client.join("ana")
        ops = [{"op_id": o["op_id"], "entity": o["entity"], "entity_id": o["entity_id"],
                "kind": o["kind"], "field": o["field"], "value": json.loads(o["value"]),
                "hlc": o["hlc"], "base_seq": o["base_seq"]} for o in ana.desk.store.sync.outbox()]
        body = {"protocol": 1, "client_id": ana.desk.store.client_id, "ops": ops}
        headers = {"Authorization": f"Bearer {server.tokens['ana']}"}
        first = httpx.post(f"{server.url}/v1/push", json=body, headers=headers).json()
        after_first = len(server_ops(server))
        second = httpx.post(f"{server.url}/v1/push", json=body, headers=headers).json()
        assert len(first["accepted"]) == len(ops) and first["duplicates"] == []
        assert second["accepted"] == [] and len(second["duplicates"]) == len(ops)
        assert len(server_ops(server)) == after_first, "the second push changed nothing"
        assert len([o for o in server_ops(server) if o.origin != "server"]) == len(ops)
        assert second["server_seq"] == first["server_seq"]

    @pytest.mark.hold_pushes(after=1)
    def test_server_killed_mid_push_then_restarted(self, server: TeamServer,
                                                   team: dict[str, Tech]) -> None:
        """Kill -9 the server while a backlog is going up (the first batch committed, the
        next one in flight); after a restart the client finishes, and every op is on the
        server exactly once."""
        ana = team["ana"]
        for index in range(300):  # a little over one push batch
            ticket = new(ana.desk, f"Backlog ticket {index}")
            ana.desk.tickets.add_note(ticket, "note", internal=True)
        local_ids = {o["op_id"] for o in ana.desk.store.sync.outbox()}
        assert len(local_ids) > PUSH_BATCH, "the backlog needs a second batch"
        # The server holds the second push (before it touches the database) until killed,
        # so the kill lands at that point on every run, however loaded the machine is.
        errors: list[Exception] = []

        def run() -> None:
            try:
                ana.sync()
            except SyncError as error:
                errors.append(error)

        worker = threading.Thread(target=run)
        worker.start()
        deadline = time.monotonic() + 60
        while not server.held.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.held.exists(), "the second push never reached the server"
        server.kill()  # the first batch is committed on the server, the rest on the laptop
        worker.join(timeout=60)
        assert errors, "the sync round was cut off by the kill"
        assert len([o for o in server_ops(server) if o.origin != "server"]) == PUSH_BATCH
        assert ana.desk.store.sync.outbox_count() == len(local_ids) - PUSH_BATCH
        server.hold_after = None
        server.start()
        deadline = time.monotonic() + 60
        while ana.desk.store.sync.outbox_count() and time.monotonic() < deadline:
            ana.sync()
        assert ana.desk.store.sync.outbox_count() == 0, "the outbox drains after the restart"
        pushed = [op.op_id for op in server_ops(server) if op.origin != "server"]
        assert len(pushed) == len(set(pushed)) == len(local_ids)
        assert set(pushed) == local_ids

    def test_client_killed_between_push_and_ack(self, server: TeamServer,
                                                tmp_path: Path) -> None:
        """The server committed, the client died before recording it: the retry is
        recognised as a duplicate and nothing is doubled."""
        token = server.add("dee", ["Acme"])
        home = tmp_path / "dee"
        desk = make_desk(home, actor="dee")
        for index in range(5):
            new(desk, f"Ticket {index}")
        expected = {o["op_id"] for o in desk.store.sync.outbox()}
        desk.close()
        script = textwrap.dedent(f"""
            import os, signal, sys
            sys.path.insert(0, {str(Path(__file__).parents[1])!r})
            from helpers import make_desk
            from deskcli.storage import sync_state
            from deskcli.sync.client import SyncClient
            from deskcli.sync.credentials import Credentials
            def die(self, *a, **k):
                os.kill(os.getpid(), signal.SIGKILL)
            sync_state.SyncState.mark_acked = die
            desk = make_desk(__import__("pathlib").Path({str(home)!r}), actor="dee")
            SyncClient(desk, Credentials({server.url!r}, {token!r}, "t")).sync()
        """)
        result = subprocess.run([sys.executable, "-c", script], capture_output=True,
                                timeout=60, env={**os.environ})
        assert result.returncode == -9, result.stderr.decode()
        desk = make_desk(home, actor="dee")
        assert desk.store.sync.outbox_count() == len(expected), "nothing was recorded as sent"
        report = SyncClient(desk, Credentials(server.url, token, "t")).sync()
        assert report.duplicates == len(expected) and report.pushed == 0
        pushed = [op.op_id for op in server_ops(server) if op.origin != "server"]
        assert sorted(pushed) == sorted(expected)
        desk.close()

    def test_server_restored_from_an_old_backup(self, server: TeamServer,
                                                team: dict[str, Tech], tmp_path: Path) -> None:
        """A new epoch means history was lost: clients send everything again."""
        ana = team["ana"]
        new(ana.desk, "Before the disk failure")
        ana.sync()
        server.kill()
        if server.database_url.startswith("sqlite"):
            db = Path(server.database_url.removeprefix("sqlite:///"))
            for suffix in ("", "-wal", "-shm"):
                Path(str(db) + suffix).unlink(missing_ok=True)
        else:
            from .conftest import postgres_database
            server.database_url = postgres_database()
        server.start()
        token = server.add("ana", ["Acme"])
        ana.client.close()
        ana.client = SyncClient(ana.desk, Credentials(server.url, token, "t"))
        new(ana.desk, "After the restore")
        report = ana.sync()
        assert report.rebootstrapped
        summaries = set()
        with server.session() as s:
            for op in s.exec(select(SrvOp).where(SrvOp.entity == "ticket",
                                                 SrvOp.kind == "create")).all():
                summaries.add(json.loads(op.value)["summary"])
        assert summaries == {"Before the disk failure", "After the restore"}
        ana.sync()  # the server's numbers for both have arrived: real, unique numbers
        numbers = [r["number"] for r in state(ana.desk)["tickets"]]
        assert None not in numbers and len(set(numbers)) == len(numbers) == 2

    def test_concurrent_pushes_leave_no_sequence_gaps(self, server: TeamServer,
                                                      tmp_path: Path) -> None:
        """Eight clients pushing at once: the feed is 1..N with no hole a puller could skip."""
        token = server.add("ops", [], admin=True)
        desks = [make_desk(tmp_path / f"c{i}", actor="ops") for i in range(8)]
        for i, desk in enumerate(desks):
            for j in range(15):
                new(desk, f"Client {i} ticket {j}")
        clients = [SyncClient(d, Credentials(server.url, token, "t")) for d in desks]
        threads = [threading.Thread(target=c.sync) for c in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        seqs = [op.seq for op in server_ops(server)]
        assert seqs == list(range(1, len(seqs) + 1))
        for c in clients:
            c.sync()
        assert all(state(d)["tickets"] == state(desks[0])["tickets"] for d in desks)
        assert len(state(desks[0])["tickets"]) == 120


class TestBadRequests:
    def _push(self, server: TeamServer, body: Any, token: str | None = None,
              **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if isinstance(body, bytes | str):
            return httpx.post(f"{server.url}/v1/push", content=body,
                              headers={**headers, "Content-Type": "application/json"},
                              **kwargs)
        return httpx.post(f"{server.url}/v1/push", json=body, headers=headers, **kwargs)

    def test_each_bad_request_is_refused_and_applies_nothing(self, server: TeamServer,
                                                              team: dict[str, Tech]) -> None:
        token = server.tokens["ana"]
        good_op = {"op_id": "0" * 32, "entity": "client", "entity_id": "x" * 8, "kind": "create",
                   "value": {"id": "x" * 8, "name": "Acme", "created_at": "x",
                             "contract_tier": "standard"},
                   "hlc": "000000000000001-000000-abc"}
        cases = [
            (b"{not json", token, 422, "invalid request"),
            ({"protocol": 1, "client_id": "abcd", "ops": [], "extra": 1}, token, 422,
             "extra"),
            ({"protocol": 1, "client_id": "abcd", "ops": [{**good_op, "colour": "red"}]},
             token, 422, "colour"),
            ({"protocol": 1, "client_id": "abcd", "ops": [{**good_op, "hlc": 12}]}, token,
             422, "hlc"),
            ({"protocol": 1, "client_id": "abcd", "ops": [{**good_op, "kind": "delete"}]},
             token, 422, "kind"),
            ({"protocol": 1, "client_id": "abcd", "ops": [good_op]}, None, 401, "token"),
            ({"protocol": 1, "client_id": "abcd", "ops": [good_op]}, "wrong", 401, "token"),
            ({"protocol": 9, "client_id": "abcd", "ops": [good_op]}, token, 409, "protocol"),
            ({"protocol": 1, "client_id": "abcd", "ops": [
                {**good_op, "entity": "ticket", "kind": "set", "field": "summary",
                 "value": "x", "entity_id": "nope"}]}, token, 422, "no ticket"),
            ({"protocol": 1, "client_id": "abcd", "ops": [
                {**good_op, "value": {**good_op["value"], "shoe_size": 9}}]}, token, 422,
             "unknown client field"),
        ]
        for body, auth, status, words in cases:
            response = self._push(server, body, auth)
            assert response.status_code == status, (body, response.text)
            assert words in response.text, response.text
        big = b'{"protocol": 1, "client_id": "abcd", "ops": [' + b" " * (33 * 1024 * 1024) + b"]}"
        assert self._push(server, big, token).status_code == 413
        assert server_ops(server) == []

    def test_another_clients_tickets_are_forbidden(self, server: TeamServer,
                                                   team: dict[str, Tech],
                                                   tmp_path: Path) -> None:
        token = server.add("gil", ["Globex"])
        gil = make_desk(tmp_path / "gil", actor="gil")
        new(gil, "Globex printer", client="Globex")
        new(gil, "Sneaky Acme ticket", client="Acme")
        client = SyncClient(gil, Credentials(server.url, token, "t"))
        report = client.sync()
        assert report.rejected, "the Acme changes are refused"
        with server.session() as s:
            creates = s.exec(select(SrvOp).where(SrvOp.kind == "create",
                                                 SrvOp.entity == "ticket")).all()
            assert [json.loads(o.value)["summary"] for o in creates] == ["Globex printer"]
        assert gil.store.sync.outbox_count() == 0, "refused changes never block the queue"
        # Ana (Acme) never sees Globex's ticket.
        team["ana"].sync()
        assert [r["summary"] for r in state(team["ana"].desk)["tickets"]] == []

    def test_no_token_and_health(self, server: TeamServer) -> None:
        assert httpx.get(f"{server.url}/v1/changes").status_code == 401
        health = httpx.get(f"{server.url}/health").json()
        assert health["status"] == "ok" and health["epoch"]
        spec = httpx.get(f"{server.url}/openapi.json").json()
        assert {"/v1/push", "/v1/changes", "/v1/leases", "/health"} <= set(spec["paths"])


def test_presence_says_who_else_has_the_ticket_open(server: TeamServer,
                                                    team: dict[str, Tech]) -> None:
    headers = {name: {"Authorization": f"Bearer {server.tokens[name]}"} for name in ("ana", "ben")}
    ticket = new(team["ana"].desk, "Open on two screens")
    team["ana"].sync()  # presence is only for tickets the server holds and the tech may see
    url = f"{server.url}/v1/presence/{ticket}"
    assert httpx.put(url, headers=headers["ana"]).json()["others"] == []
    assert httpx.put(url, headers=headers["ben"]).json()["others"] == ["ana"]
    httpx.delete(url, headers=headers["ana"])
    assert httpx.put(url, headers=headers["ben"]).json()["others"] == []


def test_server_counts_every_op_once(server: TeamServer, team: dict[str, Tech]) -> None:
    """A quick cross-check of the feed's uniqueness on the database itself."""
    new(team["ana"].desk, "One")
    sync_all(team["ana"], team["ben"])
    with server.session() as s:
        total = s.exec(select(func.count()).select_from(SrvOp)).one()
        distinct = s.exec(select(func.count(func.distinct(SrvOp.op_id)))).one()
    assert total == distinct > 0


def test_new_epoch_after_a_restore_makes_clients_resend(server: TeamServer,
                                                        team: dict[str, Tech],
                                                        tmp_path: Path) -> None:
    """`deskcli server new-epoch` on a restored copy: the client re-sends, nothing doubles."""
    ana = team["ana"]
    new(ana.desk, "Sent before the backup")
    ana.sync()
    result = ForkServer.get().run(["server", "new-epoch", "--database-url",
                                   server.database_url], dict(os.environ), timeout=60)
    assert result.returncode == 0 and "epoch" in result.stderr
    server.kill()
    server.start()  # a new epoch is read at start-up
    report = ana.sync()
    assert report.rebootstrapped and report.pushed == 0 and report.duplicates > 0
    pushed = [o.op_id for o in server_ops(server) if o.origin != "server"]
    assert len(pushed) == len(set(pushed))
