"""Issue 14, findings 2, 5, 6 and 9: the server refuses what would break a replica.

Each test drives a real server process (SQLite, and PostgreSQL when configured) with
hand-made requests, the way a buggy or hostile client would, and then checks that the
honest technicians of the same client still sync.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlmodel import select

from deskcli.server.models import SrvMeta
from deskcli.sync import schema

from .conftest import TeamServer, Tech
from .test_sync import new, server_ops, state

pytestmark = pytest.mark.subprocess

_COUNTER = iter(range(10**9))


def stamp(ahead_ms: int = 0) -> str:
    return f"{time.time_ns() // 1_000_000 + ahead_ms:015d}-000000-hostile"


def op(entity: str, entity_id: str, kind: str, value: Any, field: str | None = None,
       **extra: Any) -> dict[str, Any]:
    return {"op_id": f"hostile-{next(_COUNTER):08d}", "entity": entity,
            "entity_id": entity_id, "kind": kind, "field": field, "value": value,
            "hlc": stamp(), **extra}


def push(server: TeamServer, token: str, *ops: dict[str, Any],
         raw: bytes | None = None) -> httpx.Response:
    body = raw if raw is not None else json.dumps(
        {"protocol": 1, "client_id": "hostile1", "ops": list(ops)}).encode()
    return httpx.post(f"{server.url}/v1/push", content=body, timeout=60,
                      headers={"Authorization": f"Bearer {token}",
                               "Content-Type": "application/json"})


@pytest.fixture
def acme_ticket(team: dict[str, Tech]) -> Iterator[str]:
    """A ticket of client Acme that both technicians hold."""
    ticket = new(team["ana"].desk, "Printer jams on tray 2")
    team["ana"].sync()
    team["ben"].sync()
    yield ticket


def note(ticket: str, body: Any, note_id: str = "n-hostile-1") -> dict[str, Any]:
    return op("note", note_id, "append", {"id": note_id, "ticket_id": ticket,
                                          "at": "2026-11-24T10:00:00Z", "author": "ana",
                                          "body": body, "internal": 1})


class TestEveryOpMatchesTheSchema:
    """Finding 2: each malformed op is refused with 422 naming the op and the field."""

    def test_malformed_ops_are_refused_and_sync_keeps_working(
            self, server: TeamServer, team: dict[str, Tech], acme_ticket: str) -> None:
        token = server.tokens["ana"]
        cases: list[tuple[dict[str, Any], str]] = [
            (op("ticket", acme_ticket, "set", {"a": 1}, "priority"), "priority"),
            (op("ticket", acme_ticket, "set", "on-fire", "status"), "status"),
            (op("ticket", acme_ticket, "set", 2**70, "users_affected"), "users_affected"),
            (op("ticket", acme_ticket, "set", -3, "users_affected"), "users_affected"),
            (op("ticket", acme_ticket, "set", True, "users_affected"), "users_affected"),
            (op("ticket", acme_ticket, "set", None, "summary"), "summary"),
            (op("ticket", acme_ticket, "set", "x" * 201, "summary"), "summary"),
            (op("ticket", "t-new", "create", {"id": "t-new", "client_id": ""}), "checklist"),
            (note(acme_ticket, ["a", "list"]), "body"),
            (note(acme_ticket, "hello\x00world"), "body"),
            (op("ticket", acme_ticket, "set", "yesterday", "closed_at"), "closed_at"),
            (op("caller", "c-1", "create", {"id": "c-1", "name": "Eve", "vip": 7,
                                            "created_at": "2026-11-24T10:00:00Z"}), "vip"),
        ]
        for bad, field in cases:
            response = push(server, token, op("ticket", acme_ticket, "set", "P2", "priority"),
                            bad)
            assert response.status_code == 422, (bad, response.text)
            body = response.json()
            assert body["op_ids"] == [bad["op_id"]]
            problem = body["problems"][0]
            assert problem["index"] == 1 and problem["entity_id"] == bad["entity_id"]
            assert problem["field"] == field, problem
            assert f"op 1 ({bad['entity']} {bad['entity_id']}), field {field}" in body["detail"]
        # NaN is not JSON, but Python's parser takes it: refused all the same.
        raw = json.dumps({"protocol": 1, "client_id": "hostile1", "ops": [
            op("ticket", acme_ticket, "set", float("nan"), "users_affected")]}).encode()
        assert b"NaN" in raw
        response = push(server, token, raw=raw)
        assert response.status_code == 422 and "NaN" in response.text
        assert not [o for o in server_ops(server) if o.op_id.startswith("hostile-")]
        # Nothing landed, so every store of the client keeps syncing.
        team["ben"].desk.tickets.add_note(acme_ticket, "Still jamming", internal=True)
        team["ben"].sync()
        report = team["ana"].sync()
        assert report.rejected == []
        assert state(team["ana"].desk)["notes"] == state(team["ben"].desk)["notes"]

    def test_a_value_over_16_mb_is_refused(self, server: TeamServer, team: dict[str, Tech],
                                           acme_ticket: str) -> None:
        body = "x" * (schema.MAX_VALUE_BYTES + 1)
        response = push(server, server.tokens["ana"], note(acme_ticket, body))
        assert response.status_code == 422, response.text[:300]
        assert response.json()["problems"][0]["field"] in ("body", "value")
        assert not [o for o in server_ops(server) if o.entity == "note"]


class TestClocks:
    """Finding 5: stamps are parsed strictly and bounded by the server's clock."""

    def test_forged_stamps_are_refused(self, server: TeamServer, team: dict[str, Tech],
                                       acme_ticket: str) -> None:
        token = server.tokens["ana"]
        arabic = "".join(chr(0x0660 + int(d)) for d in f"{time.time_ns() // 10**6:015d}")
        for forged in ("999999999999999-999999-x", f"{arabic}-000000-x", stamp(2 * 3600_000),
                       stamp()[:-7] + "nodé"):
            response = push(server, token,
                            {**op("ticket", acme_ticket, "set", "P1", "priority"),
                             "hlc": forged})
            assert response.status_code == 422, (forged, response.text)
            assert "hlc" in response.text
        # A stamp a few minutes ahead (a fast laptop clock) is fine.
        assert push(server, token, {**op("ticket", acme_ticket, "set", "P1", "priority"),
                                    "hlc": stamp(5 * 60_000)}).status_code == 200
        team["ben"].sync()
        assert team["ben"].desk.store.row("tickets", acme_ticket)["priority"] == "P1"

    def test_a_clock_pushed_ahead_before_the_bound_recovers(
            self, server: TeamServer, team: dict[str, Tech], acme_ticket: str) -> None:
        """A server whose stored clock was pushed to the end of time by an old forged
        stamp stamps its own ops from the real time again, so honest stores keep syncing."""
        with server.session() as s:
            meta = s.get(SrvMeta, "hlc") or SrvMeta(key="hlc", value="")
            meta.value = "999999999999999-999999-server"
            s.add(meta)
            s.commit()
        ana, ben = team["ana"], team["ben"]
        ana.desk.tickets.add_note(acme_ticket, "Swapped the tray", internal=True)
        ana.sync()
        ben.sync()
        with server.session() as s:
            clock = s.exec(select(SrvMeta).where(SrvMeta.key == "hlc")).one().value
        assert int(clock[:15]) < time.time_ns() // 10**6 + 3600_000
        ben.desk.tickets.add_note(acme_ticket, "Confirmed fixed", internal=True)
        assert ben.sync().rejected == []


class TestBodyLimit:
    """Finding 6: a chunked body without Content-Length is cut off at the limit."""

    def test_chunked_body_over_the_limit_is_refused(self, server: TeamServer,
                                                    team: dict[str, Tech]) -> None:
        token = server.tokens["ana"]
        chunk = b" " * (1024 * 1024)

        def body() -> Iterator[bytes]:
            yield b'{"protocol": 1, "client_id": "hostile1", "ops": ['
            for _ in range(40):  # 40 MB, over the 32 MB limit
                yield chunk
            yield b"]}"

        response = httpx.post(f"{server.url}/v1/push", content=body(), timeout=60,
                              headers={"Authorization": f"Bearer {token}",
                                       "Content-Type": "application/json"})
        assert response.status_code == 413, response.text
        assert "limit" in response.json()["detail"]
        assert server_ops(server) == []
        # The server is still there for everyone else.
        assert team["ana"].sync().rejected == []

    def test_chunked_body_under_the_limit_still_works(self, server: TeamServer,
                                                      team: dict[str, Tech]) -> None:
        token = server.tokens["ana"]

        def body() -> Iterator[bytes]:
            yield b'{"protocol": 1, "client_id": "hostile1", '
            yield b'"ops": []}'

        response = httpx.post(f"{server.url}/v1/push", content=body(),
                              headers={"Authorization": f"Bearer {token}",
                                       "Content-Type": "application/json"})
        assert response.status_code == 200, response.text


class TestNoServerErrors:
    """Finding 9: requests that gave a 500 get a clear 4xx."""

    def test_out_of_range_and_unstorable_input(self, server: TeamServer,
                                               team: dict[str, Tech], acme_ticket: str) -> None:
        token = server.tokens["ana"]
        headers = {"Authorization": f"Bearer {token}"}
        for since in (2**64, 2**63, -1):
            response = httpx.get(f"{server.url}/v1/changes", params={"since": since},
                                 headers=headers)
            assert response.status_code == 422, response.text
            assert "since" in response.json()["detail"]
        for huge in (2**31, 2**63):
            base = op("ticket", acme_ticket, "set", "P3", "priority", base_seq=huge)
            response = push(server, token, base)
            assert response.status_code == 422 and "base_seq" in response.text
        # A cursor past the end of a 32-bit column is simply past the end of the feed.
        for since in (2**31, 2**63 - 2):
            response = httpx.get(f"{server.url}/v1/changes", params={"since": since},
                                 headers=headers)
            assert response.status_code == 200, response.text
            assert response.json()["changes"] == [] and response.json()["next"] == since
        surrogate = b'"bad \\ud800 text"'
        raw = (b'{"protocol": 1, "client_id": "hostile1", "ops": [{"op_id": "hostile-s1",'
               b' "entity": "ticket", "entity_id": "' + acme_ticket.encode() + b'", "kind":'
               b' "set", "field": "summary", "value": ' + surrogate + b', "hlc": "'
               + stamp().encode() + b'"}]}')
        response = push(server, token, raw=raw)
        assert response.status_code == 422, response.text
        assert response.json()["problems"][0]["field"] == "summary"
        for where in ("entity_id", "op_id"):
            nul = op("ticket", acme_ticket, "set", "P3", "priority")
            nul[where] = nul[where][:4] + "\x00" + nul[where][4:]
            response = push(server, token, nul)
            assert response.status_code == 422, response.text
        response = push(server, token, raw=json.dumps(
            {"protocol": 1, "client_id": "ab\x00cd", "ops": []}).encode())
        assert response.status_code == 422
        for ticket_id in ("a%00b", "x" * 65):
            response = httpx.put(f"{server.url}/v1/presence/{ticket_id}", headers=headers)
            assert response.status_code == 422, response.text
        response = httpx.post(f"{server.url}/v1/leases", headers=headers,
                              json={"client_id": "ab\x00cd", "size": 10})
        assert response.status_code == 422
        assert team["ana"].sync().rejected == []

    def test_openapi_describes_the_error_bodies(self, server: TeamServer) -> None:
        spec = httpx.get(f"{server.url}/openapi.json").json()
        push_responses = spec["paths"]["/v1/push"]["post"]["responses"]
        for code in ("400", "401", "409", "413", "422"):
            assert code in push_responses, code
        error = push_responses["422"]["content"]["application/json"]["schema"]["$ref"]
        shape = spec["components"]["schemas"][error.rsplit("/", 1)[1]]
        assert shape["properties"]["detail"]["type"] == "string"
        for path in ("/v1/changes", "/v1/whoami"):
            responses = spec["paths"][path]["get"]["responses"]
            assert {"400", "401", "409", "422"} <= set(responses)
