"""Property: whatever three technicians do offline, and whenever they sync, after everyone
syncs twice all three stores hold the same data, and the server holds each op once."""

from __future__ import annotations

import itertools
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from deskcli.domain.errors import DeskError
from deskcli.domain.intake import NewTicket
from deskcli.server.models import SrvOp
from deskcli.sync.client import SyncClient
from deskcli.sync.credentials import Credentials
from helpers import FakeClock, make_desk

from .conftest import BACKENDS, TeamServer, start_server
from .test_sync import state

pytestmark = pytest.mark.subprocess

_example = itertools.count(1)


@pytest.fixture(scope="module", params=BACKENDS)
def shared_server(request: pytest.FixtureRequest) -> Iterator[TeamServer]:
    home = Path(tempfile.mkdtemp(prefix="deskcli-prop-"))
    team = start_server(home, request.param)
    yield team
    team.kill()
    shutil.rmtree(home, ignore_errors=True)


action = st.one_of(
    st.tuples(st.just("create"), st.integers(0, 2), st.sampled_from(["VPN", "Printer", "Mail"])),
    st.tuples(st.just("summary"), st.integers(0, 2), st.sampled_from(["Short", "A longer one"])),
    st.tuples(st.just("priority"), st.integers(0, 2), st.sampled_from(["P1", "P2", "P3", "P4"])),
    st.tuples(st.just("assignee"), st.integers(0, 2), st.sampled_from(["ana", "ben", "cy"])),
    st.tuples(st.just("note"), st.integers(0, 2), st.sampled_from(["tried x", "tried y"])),
    st.tuples(st.just("time"), st.integers(0, 2), st.sampled_from(["5m", "1h"])),
    st.tuples(st.just("sync"), st.integers(0, 2), st.just("")),
    st.tuples(st.just("tick"), st.integers(0, 2), st.just("")),
)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(action, min_size=1, max_size=25), st.randoms(use_true_random=False))
def test_three_replicas_converge(shared_server: TeamServer, steps: list[tuple[str, int, str]],
                                 rng: object) -> None:
    n = next(_example)
    customer = f"Customer {n}"
    root = Path(tempfile.mkdtemp(prefix="deskcli-rep-"))
    clock = FakeClock()
    desks, clients = [], []
    try:
        for i in range(3):
            handle = f"t{n}x{i}"
            token = shared_server.add(handle, [customer])
            desk = make_desk(root / handle, clock, actor=handle)
            desks.append(desk)
            clients.append(SyncClient(desk, Credentials(shared_server.url, token, "t")))
        for kind, who, arg in steps:
            desk = desks[who]
            known = [r["id"] for r in desk.store.db.execute("SELECT id FROM tickets")]
            target = known[len(known) // 2] if known else None
            try:
                if kind == "create":
                    desk.tickets.create(NewTicket.from_mapping({"summary": arg,
                                                                "client": customer}))
                elif kind == "sync":
                    clients[who].sync()
                elif kind == "tick":
                    clock.advance(seconds=7)
                elif target is None:
                    continue
                elif kind in ("summary", "priority", "assignee"):
                    desk.tickets.update(target, {kind: arg})
                elif kind == "note":
                    desk.tickets.add_note(target, arg, internal=True)
                elif kind == "time":
                    desk.tickets.log_time(target, arg)
            except DeskError:
                pass  # a refused change writes nothing; that is fine here
        for _ in range(2):
            for client in clients:
                client.sync()
        states = [state(d) for d in desks]
        assert states[0] == states[1] == states[2]
        assert all(d.store.sync.outbox_count() == 0 for d in desks)
        local_ops = [o["op_id"] for d in desks for o in d.store.sync.outbox()]
        with shared_server.session() as s:
            on_server = s.exec(select(SrvOp.op_id).where(SrvOp.origin != "server")).all()
        mine = set(local_ops)
        assert sorted(o for o in on_server if o in mine) == sorted(local_ops)
    finally:
        for client in clients:
            client.close()
        for desk in desks:
            desk.close()
        shutil.rmtree(root, ignore_errors=True)
