"""``deskcli serve`` runs the rules as one authority: event rules as changes arrive, the
time-based ones every round; two server processes on one PostgreSQL database never fire a
rule twice."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from deskcli.domain.intake import NewTicket
from deskcli.services.desk import Desk
from deskcli.sync.client import SyncClient
from deskcli.sync.credentials import Credentials
from helpers import FakeClock, make_desk
from sync.conftest import BACKENDS, TeamServer, free_port, postgres_database

pytestmark = pytest.mark.subprocess

RULES = """
[[rule]]
name = "refund to billing"
on = "create"
if = { text_has = ["refund"] }
then = { queue = "billing" }

[[rule]]
name = "new tickets are seen"
on = "schedule"
if = { status = ["new"], business_hours = true }
then = { note = "Seen by the rules." }
"""


def server_home(root: Path) -> Path:
    (root / "config").mkdir(parents=True)
    (root / "config" / "rules.toml").write_text(RULES)
    return root


def start(home: Path, database_url: str, *, ready: bool = True) -> TeamServer:
    """A server whose rules worker has made its first sync (what came with it counts as
    history, so a test creates its tickets after this)."""
    port = free_port()
    team = TeamServer(f"http://127.0.0.1:{port}", database_url, home, port)
    team.start()
    deadline = time.monotonic() + 60
    log = home / "server.log"
    while ready and "rules: ready" not in log.read_text():
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.1)
    return team


@pytest.fixture
def fast_rounds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESKCLI_RULES_INTERVAL", "0.3")


def seen(desk: Desk) -> dict[str, tuple[str | None, int, int]]:
    """Per ticket summary: (queue, notes by the rules, refund firings)."""
    out = {}
    for row in desk.store.db.execute("SELECT id, summary, queue FROM tickets"):
        notes = desk.store.db.execute(
            "SELECT count(*) AS n FROM notes WHERE ticket_id = ? AND body = ?",
            (row["id"], "Seen by the rules.")).fetchone()["n"]
        refunds = desk.store.db.execute(
            "SELECT count(*) AS n FROM events WHERE ticket_id = ? AND kind = 'rule_fired' "
            "AND summary LIKE 'rule ''refund to billing''%'", (row["id"],)).fetchone()["n"]
        out[row["summary"]] = (row["queue"], notes, refunds)
    return out


def wait_for(tech: SyncClient, desk: Desk, want: dict[str, tuple[str | None, int, int]],
             servers: list[TeamServer], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tech.sync()
        if seen(desk) == want:
            return
        time.sleep(0.3)
    logs = "\n".join((s.home / "server.log").read_text()[-3000:] for s in servers)
    raise AssertionError(f"{seen(desk)} != {want}\n{logs}")


@pytest.fixture
def ana(tmp_path: Path) -> Iterator[Desk]:
    desk = make_desk(tmp_path / "ana", FakeClock(), actor="ana")
    yield desk
    desk.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_server_runs_event_and_time_based_rules(tmp_path: Path, backend: str,
                                                    fast_rounds: None, ana: Desk) -> None:
    home = server_home(tmp_path / "server")
    url = f"sqlite:///{home / 'server.db'}" if backend == "sqlite" else postgres_database()
    server = start(home, url)
    try:
        client = SyncClient(ana, Credentials(server.url, server.add("ana", ["Acme"]), "t"))
        for summary in ("refund please", "printer"):
            ana.tickets.create(NewTicket(summary=summary, client="Acme"))
        assert ana.rules is None  # joined: the laptop leaves the rules to the server
        wait_for(client, ana, {"refund please": ("billing", 1, 1),
                               "printer": (None, 1, 0)}, [server])
        time.sleep(1.5)  # several more rounds: nothing fires again
        wait_for(client, ana, {"refund please": ("billing", 1, 1),
                               "printer": (None, 1, 0)}, [server])
        client.close()
    finally:
        server.kill()


@pytest.mark.skipif(not os.environ.get("DESKCLI_TEST_POSTGRES_URL"),
                    reason="needs PostgreSQL (DESKCLI_TEST_POSTGRES_URL)")
def test_two_server_processes_never_fire_a_rule_twice(tmp_path: Path, fast_rounds: None,
                                                      ana: Desk) -> None:
    url = postgres_database()
    first = start(server_home(tmp_path / "host-a"), url)
    servers = [first]
    try:
        client = SyncClient(ana, Credentials(first.url, first.add("ana", ["Acme"]), "t"))
        for n in range(3):
            ana.tickets.create(NewTicket(summary=f"refund {n}", client="Acme"))
        wait_for(client, ana, {f"refund {n}": ("billing", 1, 1) for n in range(3)}, servers)
        # A second host on the same database, with its own store: it takes over the rules
        # account, and the claim in the database keeps the two from running at once. It
        # must not repeat what the first one did (it learns of it by sync).
        second = start(server_home(tmp_path / "host-b"), url, ready=False)
        servers.append(second)
        for n in range(3):
            ana.tickets.create(NewTicket(summary=f"other {n}", client="Acme"))
        want = {**{f"refund {n}": ("billing", 1, 1) for n in range(3)},
                **{f"other {n}": (None, 1, 0) for n in range(3)}}
        wait_for(client, ana, want, servers)
        time.sleep(5)  # past the first host's lease: both keep running rounds
        wait_for(client, ana, want, servers)
        client.close()
    finally:
        for server in servers:
            server.kill()
