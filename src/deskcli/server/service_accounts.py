"""The accounts ``deskcli serve`` runs its own workers under (mail intake, rules), and the
lease that lets one server process at a time run each of them.

A worker is a technician as far as sync knows: it has a token, a store of its own, and
syncs through the API like anyone else. Its token is issued anew at each start because
only the hash is kept and the worker needs the token itself; the previous process's token
is revoked, so an older process stops at its next sync. The lease is a row in
``srv_intake_claim`` taken with one conditional UPDATE, so two processes on one database
never both hold it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import update
from sqlmodel import Session

from deskcli.paths import Paths
from deskcli.server.auth import add_tech, revoke
from deskcli.server.db import init_database, make_engine
from deskcli.server.models import SrvIntakeClaim, SrvTech

if TYPE_CHECKING:
    from deskcli.services.desk import Desk


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def issue_token(database_url: str, handle: str, *, name: str, tier: int) -> str:
    """A fresh token for the worker account ``handle`` (created on first use)."""
    engine = make_engine(database_url)
    init_database(engine)
    try:
        with Session(engine) as session:
            existing = session.get(SrvTech, handle)
            if existing is not None and not existing.revoked:
                revoke(session, handle)
                session.flush()
            issued = add_tech(session, handle, name=name, tier=tier, clients=[],
                              admin=True, now_iso=_iso(_now()))
            session.commit()
    finally:
        engine.dispose()
    return issued.token


def claim_lease(database_url: str, name: str, owner: str, lease: timedelta) -> bool:
    """Take (or keep) the work called ``name`` for ``owner`` until the lease runs out;
    False when another server process holds it."""
    engine = make_engine(database_url)
    try:
        now = _now()
        with Session(engine) as session:
            if session.get(SrvIntakeClaim, name) is None:
                session.add(SrvIntakeClaim(name=name, owner="", until=""))
                try:
                    session.commit()
                except Exception:  # another process inserted it first
                    session.rollback()
            result = session.exec(  # type: ignore[call-overload]
                update(SrvIntakeClaim)
                .where(SrvIntakeClaim.name == name)  # type: ignore[arg-type]
                .where((SrvIntakeClaim.owner == owner)  # type: ignore[arg-type]
                       | (SrvIntakeClaim.until < _iso(now)))  # type: ignore[arg-type]
                .values(owner=owner, until=_iso(now + lease)))
            session.commit()
            return bool(result.rowcount)
    finally:
        engine.dispose()


class ServiceWorker(threading.Thread):
    """A worker thread of ``deskcli serve`` that syncs as its own account, from a store of
    its own in ``<data>/<folder>``. Subclasses write ``run``: wait for the server, open
    the desk, then rounds until ``stop``."""

    def __init__(self, *, name: str, folder: str, server_url: str, database_url: str,
                 token: str, paths: Paths, owner: str, log: Callable[[str], None]) -> None:
        super().__init__(name=name, daemon=True)
        self.server_url = server_url
        self.database_url = database_url
        self.token = token
        self.paths = paths._replace(data_dir=paths.data_dir / folder)
        self.owner = owner
        self.log = log
        self.stopping = threading.Event()

    def stop(self) -> None:
        self.stopping.set()

    def wait_for_server(self) -> None:
        """Until the server this thread belongs to answers (it starts alongside it)."""
        import httpx

        while not self.stopping.is_set():
            try:
                if httpx.get(f"{self.server_url}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            self.stopping.wait(0.2)

    @staticmethod
    def send_due(desk: Desk) -> None:
        """Send what the round queued (acknowledgements, replies, chat posts), when the
        server's config has channels."""
        if desk.outbound is None:
            return
        from deskcli.services.notify import NotifyService

        service = NotifyService(desk)
        try:
            service.send_due()
        finally:
            service.close()
