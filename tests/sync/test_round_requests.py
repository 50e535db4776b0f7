"""What a sync round asks the server (issue 20: push latency).

A round used to start with ``GET /v1/whoami`` to learn the server's epoch. Every push reply
and pull page names the epoch already, so a store that has joined asks only when it meets a
token or server it has not asked about; the rest of the guarantees hold without it: a
revoked token is refused, and a server restored from a backup is noticed by the first
reply and the store sends everything again.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, select

from deskcli.domain.intake import NewTicket
from deskcli.server.auth import revoke
from deskcli.server.db import make_engine
from deskcli.server.models import SrvOp
from deskcli.services.desk import Desk
from deskcli.sync.client import SyncClient, SyncError
from deskcli.sync.credentials import Credentials
from deskcli.sync.protocol import PROTOCOL_VERSION
from helpers import FakeClock, make_desk
from sync.forkserver import ForkServer

from .conftest import TeamServer


class Recorded:
    """A sync client whose HTTP requests are listed by path."""

    def __init__(self, desk: Desk, server: TeamServer, token: str) -> None:
        self.paths: list[str] = []
        http = httpx.Client(
            base_url=server.url, timeout=30,
            headers={"Authorization": f"Bearer {token}",
                     "X-Deskcli-Protocol": str(PROTOCOL_VERSION)},
            event_hooks={"request": [lambda request: self.paths.append(request.url.path)]})
        self.client = SyncClient(desk, Credentials(server.url, token, "test"), http=http)

    def close(self) -> None:
        self.client.close()


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    opened = make_desk(tmp_path / "ana", FakeClock(), actor="ana")
    yield opened
    opened.close()


def _new(desk: Desk, summary: str) -> None:
    desk.tickets.create(NewTicket(summary=summary, client="Acme"))


def test_a_joined_store_pushes_and_pulls_without_asking_who_it_is(
        server: TeamServer, desk: Desk) -> None:
    token = server.add("ana", ["Acme"])
    ana = Recorded(desk, server, token)
    _new(desk, "First")
    ana.client.sync()
    assert ana.paths[0] == "/v1/whoami"  # first contact: join
    ana.paths.clear()
    _new(desk, "Second")
    report = ana.client.sync()
    assert report.pushed >= 1 and report.unsent == 0
    assert ana.paths == ["/v1/push"]  # the pull page came with the push reply
    ana.close()


def test_a_new_token_is_asked_about_once_and_a_revoked_one_is_refused(
        server: TeamServer, desk: Desk) -> None:
    first = server.add("ana", ["Acme"])
    ana = Recorded(desk, server, first)
    ana.client.sync()
    ana.close()
    engine = make_engine(server.database_url)
    with Session(engine) as session:
        revoke(session, "ana")
        session.commit()
    engine.dispose()
    stale = Recorded(desk, server, first)
    _new(desk, "Written after the revocation")
    with pytest.raises(SyncError, match="did not accept the token"):
        stale.client.sync()
    assert "/v1/whoami" not in stale.paths  # refused by the push itself
    stale.close()
    second = server.add("ana", ["Acme"])  # re-issued
    fresh = Recorded(desk, server, second)
    report = fresh.client.sync()
    assert report.pushed >= 1 and report.unsent == 0
    assert fresh.paths.count("/v1/whoami") == 1
    fresh.paths.clear()
    fresh.client.sync()
    assert "/v1/whoami" not in fresh.paths
    fresh.close()


def test_a_new_epoch_seen_in_a_push_reply_sends_everything_again(
        server: TeamServer, desk: Desk) -> None:
    """Restored from a backup while the store had a change waiting: the push reply names
    the new epoch; the store queues its history again, pulls from the start, and every op
    is on the server exactly once."""
    token = server.add("ana", ["Acme"])
    ana = Recorded(desk, server, token)
    _new(desk, "Sent before the backup")
    ana.client.sync()
    ana.close()
    result = ForkServer.get().run(["server", "new-epoch", "--database-url",
                                   server.database_url], dict(os.environ), timeout=60)
    assert result.returncode == 0
    server.kill()
    server.start()
    _new(desk, "Written while the server was restored")
    again = Recorded(desk, server, token)
    report = again.client.sync()
    assert report.rebootstrapped and report.unsent == 0
    assert again.paths[0] == "/v1/push" and "/v1/whoami" not in again.paths
    assert int(desk.store.meta("sync_cursor") or 0) > 0
    engine = make_engine(server.database_url)
    with Session(engine) as session:
        sent = [op.op_id for op in session.exec(select(SrvOp)).all() if op.origin != "server"]
    engine.dispose()
    assert len(sent) == len(set(sent)) and desk.store.sync.outbox_count() == 0
    again.close()


def test_a_plain_http_server_loads_no_certificates_and_https_checks_in_full() -> None:
    """Loading the CA bundle cost more than a small sync round; a plain-HTTP server never
    shows a certificate. The context used then trusts no one, so it can only fail closed."""
    import ssl

    from deskcli.sync.client import _tls_for

    plain = _tls_for("http://127.0.0.1:8080")
    assert isinstance(plain, ssl.SSLContext)
    assert plain.verify_mode == ssl.CERT_REQUIRED and plain.check_hostname
    assert plain.get_ca_certs() == [] and plain.cert_store_stats()["x509_ca"] == 0
    assert _tls_for("https://desk.example.com") is True
    assert _tls_for("HTTPS://desk.example.com") is True


class _OldServer(httpx.HTTPTransport):
    """Forwards to the real server without ``since`` on pushes: a server from before the
    push reply carried the first pull page, which ignores the parameter."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/push":
            request.url = request.url.copy_remove_param("since")
        return super().handle_request(request)


def test_against_a_server_that_sends_no_page_with_the_push_the_round_pulls(
        server: TeamServer, desk: Desk, tmp_path: Path) -> None:
    ben_token = server.add("ben", ["Acme"])
    ben_desk = make_desk(tmp_path / "ben", FakeClock(), actor="ben")
    ben = SyncClient(ben_desk, Credentials(server.url, ben_token, "test"))
    ben_desk.tickets.create(NewTicket(summary="Written by Ben", client="Acme"))
    ben.sync()
    token = server.add("ana", ["Acme"])
    paths: list[str] = []
    http = httpx.Client(
        base_url=server.url, timeout=30, transport=_OldServer(),
        headers={"Authorization": f"Bearer {token}",
                 "X-Deskcli-Protocol": str(PROTOCOL_VERSION)},
        event_hooks={"request": [lambda request: paths.append(request.url.path)]})
    ana = SyncClient(desk, Credentials(server.url, token, "test"), http=http)
    ana.sync()
    paths.clear()
    _new(desk, "Written by Ana")
    ana.sync()
    assert paths == ["/v1/push", "/v1/changes"]
    summaries = {row["summary"] for row in desk.store.db.execute("SELECT summary FROM tickets")}
    assert summaries == {"Written by Ben", "Written by Ana"}
    ana.close()
    ben.close()
    ben_desk.close()


def test_an_older_client_pushing_without_since_gets_no_page(server: TeamServer,
                                                           desk: Desk) -> None:
    token = server.add("ana", ["Acme"])
    SyncClient(desk, Credentials(server.url, token, "test")).sync()  # joined, numbered
    _new(desk, "From an older deskcli")
    ops = [{"op_id": r["op_id"], "entity": r["entity"], "entity_id": r["entity_id"],
            "kind": r["kind"], "field": r["field"], "value": json.loads(r["value"]),
            "hlc": r["hlc"], "base_seq": r["base_seq"]}
           for r in desk.store.sync.pending_ops(100)]
    reply = httpx.post(f"{server.url}/v1/push", timeout=30, json={
        "protocol": PROTOCOL_VERSION, "client_id": desk.store.client_id, "ops": ops},
        headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert sorted(body["accepted"]) == sorted(op["op_id"] for op in ops)
    assert body["changes"] is None and body["epoch"]
