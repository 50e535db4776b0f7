"""A real team server process on 127.0.0.1, on SQLite always and on PostgreSQL whenever
DESKCLI_TEST_POSTGRES_URL is set, and technicians' desks that sync with it."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from deskcli.server.auth import add_tech
from deskcli.server.db import init_database, make_engine
from deskcli.services.desk import Desk
from deskcli.sync.client import SyncClient, SyncReport
from deskcli.sync.credentials import Credentials
from helpers import FakeClock, make_desk
from sync.forkserver import ForkedProcess, ForkServer

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("DESKCLI_TEST_POSTGRES_URL") else [])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def postgres_database() -> str:
    """A fresh database on the test PostgreSQL server, so tests never share state."""
    import psycopg

    base = os.environ["DESKCLI_TEST_POSTGRES_URL"]
    name = "deskcli_" + secrets.token_hex(6)
    plain = base.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    head, _, _ = base.rpartition("/")
    return f"{head}/{name}"


class PortTaken(RuntimeError):
    """The server could not bind its port: someone else took it first."""


@dataclass
class TeamServer:
    url: str
    database_url: str
    home: Path
    port: int
    process: ForkedProcess | None = None
    tokens: dict[str, str] = field(default_factory=dict)
    #: When set, the next ``start`` runs the server through ``held_server.py``: it lets this
    #: many pushes through, then holds the next one until killed (and creates ``held``).
    hold_after: int | None = None

    @property
    def held(self) -> Path:
        """Appears once the server holds a push (see ``hold_after``)."""
        return self.home / "push-held"

    def start(self) -> None:
        env = {**os.environ, "DESKCLI_HOME": str(self.home)}
        script = None
        if self.hold_after is not None:
            self.held.unlink(missing_ok=True)
            script = Path(__file__).with_name("held_server.py")
            env |= {"DESKCLI_TEST_HOLD_AFTER": str(self.hold_after),
                    "DESKCLI_TEST_HELD": str(self.held)}
        # ``python -m deskcli serve ...`` (or held_server.py), forked from a process that
        # has already imported the server (see forkserver.py).
        self.process = ForkServer.get().spawn(
            ["serve", "--port", str(self.port), "--database-url", self.database_url],
            env, self.home / "server.log", script)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None:
                log_text = (self.home / "server.log").read_text()
                if "address already in use" in log_text.lower():
                    (self.home / "server.log").unlink()
                    raise PortTaken(log_text)
                raise RuntimeError(log_text)
            time.sleep(0.1)
        # Never leave it running: an orphaned server would load the machine for every
        # later test (and under load, more servers miss this deadline).
        self.kill()
        raise RuntimeError("server did not start in 30 s")

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, as when a machine loses power."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def add(self, handle: str, clients: list[str], admin: bool = False) -> str:
        engine = make_engine(self.database_url)
        init_database(engine)
        with Session(engine) as session:
            issued = add_tech(session, handle, name=handle.title(), tier=1, clients=clients,
                              admin=admin, now_iso="2026-11-24T09:00:00Z")
            session.commit()
        engine.dispose()
        self.tokens[handle] = issued.token
        return issued.token

    def session(self) -> Session:
        return Session(make_engine(self.database_url))


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A fresh, initialised team-server database on each backend, for tests that call the
    server's feed directly rather than through HTTP."""
    url = (f"sqlite:///{tmp_path / 'server.db'}" if request.param == "sqlite"
           else postgres_database())
    made = make_engine(url)
    init_database(made)
    yield made
    made.dispose()


@pytest.fixture(params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TeamServer]:
    """A started server; ``@pytest.mark.hold_pushes(after=N)`` starts it holding the push
    after the first N (see ``held_server.py``)."""
    home = tmp_path / "server-home"
    home.mkdir()
    hold = request.node.get_closest_marker("hold_pushes")
    team = start_server(home, request.param,
                        hold_after=None if hold is None else int(hold.kwargs["after"]))
    yield team
    team.kill()


def start_server(home: Path, backend: str, *, hold_after: int | None = None) -> TeamServer:
    """A server process on a free loopback port with a database of its own (``backend`` is
    ``sqlite`` or ``postgresql``), for fixtures of any scope."""
    if backend == "sqlite":
        database_url = f"sqlite:///{home / 'server.db'}"
    else:
        database_url = postgres_database()
    for attempt in range(3):
        # A port found free can be taken by another test process (xdist) before the server
        # binds it: then the server exits at once, and a new port is tried.
        port = free_port()
        team = TeamServer(f"http://127.0.0.1:{port}", database_url, home, port)
        team.hold_after = hold_after
        try:
            team.start()
            return team
        except PortTaken:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


@dataclass
class Tech:
    desk: Desk
    client: SyncClient
    handle: str

    def sync(self) -> SyncReport:
        return self.client.sync()


@pytest.fixture
def team(server: TeamServer, tmp_path: Path) -> Iterator[dict[str, Tech]]:
    """Two technicians of client Acme, each with their own store, sharing one clock."""
    clock = FakeClock()
    techs: dict[str, Tech] = {}
    for handle in ("ana", "ben"):
        token = server.add(handle, ["Acme"])
        desk = make_desk(tmp_path / handle, clock, actor=handle)
        techs[handle] = Tech(desk, SyncClient(desk, Credentials(server.url, token, "test")),
                             handle)
    yield techs
    for tech in techs.values():
        tech.client.close()
        tech.desk.close()
