"""Issue 14, findings 1, 3, 7 and 8: the server decides scope and identity from what it holds
and from the token, never from what a push claims. Each test runs a real server process on
SQLite and (when DESKCLI_TEST_POSTGRES_URL is set) PostgreSQL."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import select

from deskcli.domain.ids import stable_id
from deskcli.domain.intake import NewTicket
from deskcli.server.models import SrvEntity, SrvOp
from deskcli.services.kb import ArticleDraft, KbService
from deskcli.sync.client import SyncClient
from deskcli.sync.credentials import Credentials
from deskcli.sync.protocol import DERIVED_FIELDS
from helpers import FakeClock, make_desk

from .conftest import TeamServer, Tech
from .test_sync import state

pytestmark = pytest.mark.subprocess

ACME, OTHER = stable_id("client", "Acme"), stable_id("client", "Other")


@pytest.fixture
def world(server: TeamServer, tmp_path: Path) -> Iterator[dict[str, Tech]]:
    """ana works for Acme, olga for Other, max for both; root is an admin."""
    clock = FakeClock()
    techs: dict[str, Tech] = {}
    for handle, clients, admin in (("ana", ["Acme"], False), ("olga", ["Other"], False),
                                   ("max", ["Acme", "Other"], False), ("root", [], True)):
        token = server.add(handle, clients, admin=admin)
        desk = make_desk(tmp_path / handle, clock, actor=handle)
        techs[handle] = Tech(desk, SyncClient(desk, Credentials(server.url, token, "t")),
                             handle)
    yield techs
    for tech in techs.values():
        tech.client.close()
        tech.desk.close()


def new(tech: Tech, summary: str, client: str, **extra: Any) -> str:
    record = {"summary": summary, "client": client, **extra}
    return str(tech.desk.tickets.create(NewTicket.from_mapping(record))["id"])


def push(server: TeamServer, handle: str, ops: list[dict[str, Any]],
         origin: str | None = None) -> httpx.Response:
    body = {"protocol": 1, "client_id": origin or f"store-of-{handle}", "ops": ops}
    return httpx.post(f"{server.url}/v1/push", json=body,
                      headers={"Authorization": f"Bearer {server.tokens[handle]}"})


_n = iter(range(1, 10_000))


def op(entity: str, entity_id: str, kind: str, value: Any, field: str | None = None) -> dict:
    n = next(_n)
    # Later than anything the honest stores (on the fake clock) stamp, and within the
    # server's one-hour skew window, so each op is judged on its scope alone.
    return {"op_id": f"hostile-{n:08d}", "entity": entity, "entity_id": entity_id,
            "kind": kind, "field": field, "value": value,
            "hlc": f"{time.time_ns() // 1_000_000 + n:015d}-000000-evil"}


def rows(tech: Tech, table: str) -> list[dict[str, Any]]:
    return list(tech.desk.store.db.execute(f"SELECT * FROM {table} ORDER BY id"))


def full(tech: Tech, table: str, row_id: str, **changes: Any) -> dict[str, Any]:
    """A well-formed create value for a row ``tech`` holds, with ``changes``: what an
    honest store would send, so only the rule under test can refuse it."""
    row = tech.desk.store.row(table, row_id)
    assert row is not None
    return {**{k: v for k, v in row.items() if k not in DERIVED_FIELDS}, **changes}


def sync_everyone(world: dict[str, Tech], rounds: int = 2) -> None:
    for _ in range(rounds):
        for tech in world.values():
            report = tech.sync()
            assert report.unsent == 0, (tech.handle, report)


class TestCreateNeverMerges:
    """Finding 1: a create on an id the server holds is a duplicate or a refusal."""

    def test_create_over_another_clients_caller_is_forbidden(self, server: TeamServer,
                                                             world: dict[str, Tech]) -> None:
        olga = world["olga"]
        ticket = new(olga, "Other's printer", "Other", caller="Bea Boss",
                     email="bea@other.example", phone="555-0100")
        olga.sync()
        caller = olga.desk.tickets.find(ticket)["caller_id"]
        before = rows(olga, "callers")
        for client_id in (ACME, OTHER, None):
            response = push(server, "ana", [op("caller", caller, "create", {
                "id": caller, "name": "Mallory", "email": "m@evil.example",
                "phone": "666", "client_id": client_id, "vip": 1,
                "created_at": "2026-11-24T09:00:00Z"})])
            assert response.status_code == 403, response.text
        olga.sync()
        assert rows(olga, "callers") == before
        assert olga.sync().unsent == 0

    def test_create_over_another_clients_article_and_ticket_is_forbidden(
            self, server: TeamServer, world: dict[str, Tech]) -> None:
        olga = world["olga"]
        ticket = new(olga, "Other's VPN", "Other")
        article = KbService.for_desk(olga.desk).add(ArticleDraft(
            title="Other only runbook", body="secret steps", client="Other"))
        olga.sync()
        hostile = [  # whole, well-formed rows: only their id is another client's
            op("kb_article", article["id"], "create", full(
                olga, "kb_articles", article["id"], title="pwned", client_id=ACME)),
            op("ticket", ticket, "create", full(olga, "tickets", ticket, summary="pwned",
                                                client_id=ACME, flagged="pwned")),
        ]
        for one in hostile:
            assert push(server, "ana", [one]).status_code == 403
        report = olga.sync()
        assert report.unsent == 0
        assert olga.desk.tickets.find(ticket)["summary"] == "Other's VPN"
        assert rows(olga, "kb_articles")[0]["title"] == "Other only runbook"

    def test_duplicate_create_in_scope_changes_nothing(self, server: TeamServer,
                                                       world: dict[str, Tech]) -> None:
        """Two offline stores that add the same client make one client, and the second
        create is a duplicate: never merged into the first, the server's copy wins."""
        ana, max_ = world["ana"], world["max"]
        ticket = new(ana, "Acme mail", "Acme", caller="Al", email="al@acme.example")
        ana.sync()
        summary = ana.desk.tickets.find(ticket)["summary"]
        response = push(server, "max", [op("ticket", ticket, "create", full(
            ana, "tickets", ticket, summary="rewritten by a create"))])
        assert response.status_code == 200, response.text
        assert response.json()["duplicates"]
        new(max_, "Max's Acme ticket", "Acme", caller="Al", email="al@acme.example")
        sync_everyone(world)
        assert ana.desk.tickets.find(ticket)["summary"] == summary
        assert rows(ana, "clients") == rows(max_, "clients")
        assert rows(ana, "callers") == rows(max_, "callers")

    def test_an_append_cannot_reuse_another_clients_row_id(self, server: TeamServer,
                                                             world: dict[str, Tech]) -> None:
        """Re-appending Other's note id under an Acme ticket is a duplicate: the note
        stays Other's (and travels with its ticket if that moves)."""
        olga, ana = world["olga"], world["ana"]
        ticket = new(olga, "Other's ticket", "Other")
        olga.desk.tickets.add_note(ticket, "Other's note", internal=True)
        olga.sync()
        note = rows(olga, "notes")[0]
        acme = new(ana, "Acme ticket", "Acme")
        ana.sync()
        response = push(server, "ana", [op("note", note["id"], "append", {
            **note, "ticket_id": acme, "body": "hijacked"})])
        assert response.status_code == 200 and response.json()["duplicates"]
        ana.sync()
        assert rows(ana, "notes") == []
        with server.session() as s:
            entity = s.get(SrvEntity, ("note", note["id"]))
        assert entity is not None and entity.ticket_id == ticket

    def test_a_client_id_must_be_the_clients_name(self, server: TeamServer,
                                                  world: dict[str, Tech]) -> None:
        response = push(server, "root", [op("client", "made-up-id", "create", {
            "id": "made-up-id", "name": "Acme", "contract_tier": "standard",
            "created_at": "x"})])
        assert response.status_code == 422 and "client" in response.text

    def test_references_must_stay_inside_the_client(self, server: TeamServer,
                                                    world: dict[str, Tech]) -> None:
        """A ticket cannot point at another client's caller, nor a link at another
        client's article: the other client's techs would not hold what it points at."""
        olga = world["olga"]
        new(olga, "Other's laptop", "Other", caller="Oz", email="oz@other.example")
        article = KbService.for_desk(olga.desk).add(ArticleDraft(
            title="Other only", body="b", client="Other"))
        olga.sync()
        ana_ticket = new(world["ana"], "Acme laptop", "Acme")
        world["ana"].sync()
        caller = rows(olga, "callers")[0]["id"]
        cases = [
            op("ticket", ana_ticket, "set", caller, field="caller_id"),
            op("kb_link", "link-0001", "append", {
                "id": "link-0001", "article_id": article["id"], "ticket_id": ana_ticket,
                "at": "x", "author": "max"}),
            op("ticket", ana_ticket, "set", "no-such-client", field="client_id"),
            op("ticket", ana_ticket, "set", 5, field="number"),
        ]
        for one in cases:
            response = push(server, "max", [one])
            assert response.status_code == 422, (one, response.text)


class TestScopeMoves:
    """Finding 3: moving a record between clients is a removal for those who lose it and
    the whole record for those who gain it; nobody's sync breaks."""

    def test_ticket_moved_to_another_client(self, world: dict[str, Tech]) -> None:
        ana, olga, max_, root = world["ana"], world["olga"], world["max"], world["root"]
        ticket = new(ana, "Misfiled ticket", "Acme", caller="Cy", email="cy@acme.example")
        ana.desk.tickets.add_note(ticket, "first note", internal=True)
        ana.desk.tickets.log_time(ticket, "10m")
        sync_everyone(world)
        max_.desk.tickets.update(ticket, {"client": "Other"})
        max_.desk.tickets.add_note(ticket, "after the move", internal=True)
        sync_everyone(world)
        assert ana.desk.store.tickets.by_id(ticket) is None, "Acme-only tech lost sight"
        assert not [n for n in rows(ana, "notes") if n["ticket_id"] == ticket]
        held = olga.desk.tickets.find(ticket)
        assert held["client_id"] == OTHER and held["summary"] == "Misfiled ticket"
        for tech in (olga, max_):
            notes = {n["body"] for n in rows(tech, "notes") if n["ticket_id"] == ticket}
            assert notes == {"first note", "after the move"}
        tickets = [state(t.desk)["tickets"] for t in (olga, max_, root)]
        assert tickets[0] == tickets[1] == tickets[2]
        assert rows(olga, "events") == rows(max_, "events")
        # Olga can keep working on it, and Ana keeps syncing.
        olga.desk.tickets.add_note(ticket, "olga was here", internal=True)
        sync_everyone(world)
        assert len([n for n in rows(max_, "notes") if n["ticket_id"] == ticket]) == 3
        # And back again: Ana gets the whole ticket, Olga loses it.
        max_.desk.tickets.update(ticket, {"client": "Acme"})
        sync_everyone(world)
        assert olga.desk.store.tickets.by_id(ticket) is None
        assert rows(ana, "notes") == rows(max_, "notes")
        assert state(ana.desk)["tickets"] == state(max_.desk)["tickets"]

    def test_tech_who_joins_after_a_move_sees_it_once(self, server: TeamServer,
                                                      world: dict[str, Tech],
                                                      tmp_path: Path) -> None:
        ana, max_ = world["ana"], world["max"]
        ticket = new(ana, "Moved before they joined", "Acme")
        sync_everyone(world)
        max_.desk.tickets.update(ticket, {"client": "Other"})
        max_.sync()
        for handle, clients in (("late_other", ["Other"]), ("late_acme", ["Acme"])):
            token = server.add(handle.replace("_", "-"), clients)
            desk = make_desk(tmp_path / handle, FakeClock(), actor=handle)
            client = SyncClient(desk, Credentials(server.url, token, "t"))
            try:
                assert client.sync().unsent == 0
                held = desk.store.tickets.by_id(ticket)
                assert (held is not None) == (clients == ["Other"])
            finally:
                client.close()
                desk.close()

    def test_shared_article_given_to_one_client(self, world: dict[str, Tech]) -> None:
        ana, olga, max_ = world["ana"], world["olga"], world["max"]
        new(max_, "Other exists", "Other")
        kb = KbService.for_desk(max_.desk)
        article = kb.add(ArticleDraft(title="Shared VPN runbook", body="steps"))
        ticket = new(ana, "Acme VPN", "Acme")
        sync_everyone(world)
        KbService.for_desk(ana.desk).link(ticket, article["id"])
        sync_everyone(world)
        kb.edit(article["id"], ArticleDraft(title="Shared VPN runbook", body="steps",
                                            client="Other"))
        sync_everyone(world)
        assert [r["id"] for r in rows(olga, "kb_articles")] == [article["id"]]
        assert rows(ana, "kb_articles") == [] and rows(ana, "kb_links") == []
        # Shared again: Ana gets the article and its history back.
        kb.edit(article["id"], ArticleDraft(title="Shared VPN runbook", body="steps"))
        sync_everyone(world)
        assert rows(ana, "kb_articles") == rows(max_, "kb_articles")
        assert rows(ana, "kb_versions") == rows(max_, "kb_versions")

    def test_only_a_tech_of_both_clients_may_move(self, server: TeamServer,
                                                  world: dict[str, Tech]) -> None:
        ana, olga = world["ana"], world["olga"]
        ticket = new(ana, "Stays at Acme", "Acme")
        ana.sync()
        new(olga, "Other exists on the server", "Other")
        olga.sync()
        response = push(server, "ana", [op("ticket", ticket, "set", OTHER, field="client_id")])
        assert response.status_code == 403


class TestIdentityFromTheToken:
    """Finding 7: the origin store, the author and the ticket number come from the token."""

    def test_a_store_belongs_to_the_token_that_registered_it(self, server: TeamServer,
                                                             world: dict[str, Tech]) -> None:
        ana = world["ana"]
        new(ana, "Ana's", "Acme")
        ana.sync()
        response = push(server, "max", [], origin=ana.desk.store.client_id)
        assert response.status_code == 403 and "store" in response.text
        lease = httpx.post(f"{server.url}/v1/leases", json={
            "client_id": ana.desk.store.client_id, "size": 10},
            headers={"Authorization": f"Bearer {server.tokens['max']}"})
        assert lease.status_code == 403

    def test_numbers_stay_with_the_store_that_leased_them(self, server: TeamServer,
                                                          world: dict[str, Tech]) -> None:
        ana, max_ = world["ana"], world["max"]
        ana.sync()  # takes a lease
        max_.sync()
        leased = ana.desk.store.sync.leases()[0]
        ticket_id = new(max_, "stolen number", "Acme")
        with max_.desk.store.transaction():
            max_.desk.store.sync.rewrite_pending_create("ticket", ticket_id,
                                                   {"number": leased.next})
        max_.sync()
        mine = new(ana, "told the caller their number", "Acme")
        number = ana.desk.tickets.find(mine)["number"]
        assert number == leased.next
        sync_everyone(world)
        assert ana.desk.tickets.find(mine)["number"] == number, "the number stayed"
        assert ana.desk.tickets.find(ticket_id)["number"] != number

    def test_authors_are_the_pushing_technician(self, server: TeamServer,
                                                world: dict[str, Tech]) -> None:
        ana = world["ana"]
        ticket = new(ana, "Who wrote this", "Acme")
        ana.sync()
        response = push(server, "max", [op("note", "note-forged-1", "append", {
            "id": "note-forged-1", "ticket_id": ticket, "at": "2026-11-24T09:00:00Z",
            "author": "ana", "body": "I, ana, approve", "internal": 1})])
        assert response.status_code == 200, response.text
        ana.sync()
        note = [n for n in rows(ana, "notes") if n["id"] == "note-forged-1"][0]
        assert note["author"] == "max"
        with server.session() as s:
            stored = s.exec(select(SrvOp).where(SrvOp.entity_id == "note-forged-1")).one()
        assert json.loads(stored.value)["author"] == "max"

    def test_work_before_joining_takes_the_team_handle(self, server: TeamServer,
                                                       world: dict[str, Tech],
                                                       tmp_path: Path) -> None:
        """Work done under the local login name before joining reads the same on this
        laptop as on everyone else's: the server's handle for the technician."""
        token = server.add("dee", ["Acme"])
        desk = make_desk(tmp_path / "dee", FakeClock(), actor="dee.local")
        client = SyncClient(desk, Credentials(server.url, token, "t"))
        try:
            ticket = str(desk.tickets.create(NewTicket.from_mapping(
                {"summary": "Before joining", "client": "Acme"}))["id"])
            desk.tickets.add_note(ticket, "typed offline", internal=True)
            client.sync()
            world["ana"].sync()
            for store in (desk.store, world["ana"].desk.store):
                assert store.tickets.by_id(ticket)["created_by"] == "dee"
                authors = {n["author"] for n in store.db.execute(
                    "SELECT author FROM notes WHERE ticket_id = ?", (ticket,))}
                assert authors == {"dee"}
        finally:
            client.close()
            desk.close()

    def test_leases_are_capped_and_rate_limited(self, server: TeamServer,
                                                world: dict[str, Tech]) -> None:
        headers = {"Authorization": f"Bearer {server.tokens['ana']}"}
        url = f"{server.url}/v1/leases"
        first = httpx.post(url, json={"client_id": "ana-laptop", "size": 1000}, headers=headers)
        assert first.status_code == 200
        second = httpx.post(url, json={"client_id": "ana-laptop", "size": 100}, headers=headers)
        assert second.status_code == 429 and "numbers" in second.text
        statuses = [httpx.post(url, json={"client_id": "ana-desktop", "size": 1},
                               headers=headers).status_code for _ in range(40)]
        assert statuses.count(200) < 40 and statuses[-1] == 429


class TestAuthenticationFirst:
    """Finding 8: no status but 401 for a request without a valid token."""

    @pytest.mark.parametrize("token", [None, "wrong"])
    def test_401_before_anything_else(self, server: TeamServer, token: str | None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        cases = [
            ("POST", "/v1/push", {"content": b"{not json",
                                  "headers": {"Content-Type": "application/json"}}),
            ("POST", "/v1/push", {"json": {"protocol": 9, "client_id": "x", "ops": []}}),
            ("POST", "/v1/push", {"json": {"protocol": 1}}),
            ("GET", "/v1/changes", {"params": {"since": -1}}),
            ("GET", "/v1/changes", {"headers": {"X-Deskcli-Protocol": "9"}}),
            ("POST", "/v1/leases", {"json": {"size": 0}}),
            ("PUT", "/v1/presence/%00", {}),
            ("GET", "/v1/nowhere", {}),
        ]
        for method, path, kwargs in cases:
            kwargs = {**kwargs, "headers": {**kwargs.get("headers", {}), **headers}}
            response = httpx.request(method, f"{server.url}{path}", **kwargs)
            assert response.status_code == 401, (method, path, response.text)
            assert response.headers.get("www-authenticate") == "Bearer"

    def test_presence_is_scoped_and_ids_checked(self, server: TeamServer,
                                                world: dict[str, Tech]) -> None:
        olga = world["olga"]
        ticket = new(olga, "Other's secret", "Other")
        olga.sync()
        auth = {h: {"Authorization": f"Bearer {server.tokens[h]}"} for h in server.tokens}
        url = f"{server.url}/v1/presence/{ticket}"
        assert httpx.put(url, headers=auth["olga"]).status_code == 200
        spy = httpx.put(url, headers=auth["ana"])
        assert spy.status_code == 404 and "olga" not in spy.text
        assert httpx.put(url, headers=auth["max"]).json()["others"] == ["olga"]
        bad = httpx.put(f"{server.url}/v1/presence/{'x' * 200}", headers=auth["olga"])
        assert bad.status_code == 422
