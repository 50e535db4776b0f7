"""The sync commands through the real ``deskcli`` entry point, against a real server."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from sync.forkserver import ForkServer

from .conftest import TeamServer

pytestmark = pytest.mark.subprocess


def deskcli(*args: str, home: Path, stdin: str | None = None,
            **env: str) -> subprocess.CompletedProcess[str]:
    """``python -m deskcli ARGS`` in a process of its own (forked from one that has already
    imported deskcli: the start-up is not what these tests are about)."""
    inherited = {k: v for k, v in os.environ.items()
                 if k not in ("DESKCLI_SERVER", "DESKCLI_TOKEN")}
    environ = {**inherited, "DESKCLI_HOME": str(home), **env}
    return ForkServer.get().run(list(args), environ, stdin=stdin)


def test_admin_commands(server: TeamServer, tmp_path: Path) -> None:
    url = ["--database-url", server.database_url]
    added = deskcli("server", "add-tech", "fay", "--client", "Acme", "--tier", "2", *url,
                    home=tmp_path)
    assert added.returncode == 0, added.stderr
    token = added.stdout.strip()
    assert token.startswith("dsk_") and "\n" not in token, "the token alone, on stdout"
    assert "shown only this once" in added.stderr
    listing = deskcli("server", "techs", "--format", "json", *url, home=tmp_path)
    rows = json.loads(listing.stdout)
    assert {"handle": "fay", "name": "fay", "tier": 2, "clients": "Acme",
            "status": "active"} in rows
    again = deskcli("server", "add-tech", "fay", "--client", "Acme", *url, home=tmp_path)
    assert again.returncode == 2 and "already exists" in again.stderr
    bad = deskcli("server", "add-tech", "Fay Smith", "--client", "Acme", *url, home=tmp_path)
    assert bad.returncode == 2 and "not a valid handle" in bad.stderr
    assert deskcli("server", "revoke", "fay", *url, home=tmp_path).returncode == 0
    assert "revoked" in deskcli("server", "techs", *url, home=tmp_path).stdout
    missing = deskcli("server", "revoke", "nobody", *url, home=tmp_path)
    assert missing.returncode == 1 and "no technician 'nobody'" in missing.stderr
    wrong = deskcli("server", "techs", "--database-url", "mysql://x", home=tmp_path)
    assert wrong.returncode == 2 and "not a supported database URL" in wrong.stderr


def test_login_without_a_keyring_points_to_the_environment(server: TeamServer,
                                                            tmp_path: Path) -> None:
    token = server.add("gus", ["Acme"])
    result = deskcli("login", "--server", server.url, "--tech", "gus", "--token-stdin",
                     home=tmp_path / "gus", stdin=token + "\n",
                     PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    assert result.returncode == 2
    assert "no usable OS keyring" in result.stderr and "DESKCLI_TOKEN" in result.stderr
    assert "Traceback" not in result.stderr
    for path in (tmp_path / "gus").rglob("*"):
        if path.is_file():
            assert token.encode() not in path.read_bytes(), f"token written to {path}"


def _dump(path: Path) -> list[str]:
    import sqlite3

    connection = sqlite3.connect(path)
    try:
        return list(connection.iterdump())
    finally:
        connection.close()


def test_a_failed_login_leaves_the_store_and_the_server_as_they_were(
        server: TeamServer, tmp_path: Path) -> None:
    """Issue 14 (10): without a keyring the login used to join the server and take 100
    numbers before failing; now nothing changes on either side."""
    from sqlmodel import Session, select

    from deskcli.server.db import make_engine
    from deskcli.server.models import SrvLease

    home = tmp_path / "ivy"
    made = deskcli("new", "--summary", "Printer jams on tray 2", "--caller", "Ann Lee",
                   home=home)
    assert made.returncode == 0, made.stderr
    database = home / "data" / "deskcli.db"
    before = _dump(database)
    engine = make_engine(server.database_url)
    with Session(engine) as session:
        leases_before = len(session.exec(select(SrvLease)).all())
    token = server.add("ivy", ["Acme"])
    result = deskcli("login", "--server", server.url, "--tech", "ivy", "--token-stdin",
                     home=home, stdin=token + "\n",
                     PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    assert result.returncode == 2, result.stderr
    assert "no usable OS keyring" in result.stderr and "Traceback" not in result.stderr
    assert _dump(database) == before  # still standalone, ticket still #1001
    with Session(engine) as session:
        assert len(session.exec(select(SrvLease)).all()) == leases_before
    engine.dispose()
    shown = deskcli("show", "1001", "--format", "json", home=home)
    assert shown.returncode == 0 and json.loads(shown.stdout)["number"] == 1001


def test_login_checks_the_token_and_handle(server: TeamServer, tmp_path: Path) -> None:
    token = server.add("hal", ["Acme"])
    wrong_handle = deskcli("login", "--server", server.url, "--tech", "someone",
                           "--token-stdin", home=tmp_path / "h", stdin=token + "\n")
    assert wrong_handle.returncode == 2 and "belongs to 'hal'" in wrong_handle.stderr
    bad_token = deskcli("login", "--server", server.url, "--tech", "hal", "--token-stdin",
                        home=tmp_path / "h", stdin="dsk_nope\n")
    assert bad_token.returncode == 1 and "did not accept the token" in bad_token.stderr
    bad_url = deskcli("login", "--server", "desk.example.com", "--tech", "hal",
                      "--token-stdin", home=tmp_path / "h", stdin=token + "\n")
    assert bad_url.returncode == 2 and "not a server URL" in bad_url.stderr


def test_sync_needs_a_server(tmp_path: Path) -> None:
    result = deskcli("sync", home=tmp_path)
    assert result.returncode == 1 and "deskcli login" in result.stderr


def test_scripted_sync_with_environment_variables(server: TeamServer, tmp_path: Path) -> None:
    token = server.add("ivy", ["Acme"])
    env = {"DESKCLI_SERVER": server.url, "DESKCLI_TOKEN": token}
    made = deskcli("new", "--summary", "Scanner jams", "--client", "Acme",
                   home=tmp_path / "ivy", **env)
    assert made.returncode == 0
    synced = deskcli("sync", "--format", "json", home=tmp_path / "ivy", **env)
    assert synced.returncode == 0, synced.stderr
    report = json.loads(synced.stdout)
    assert report["pushed"] >= 3 and report["unsent"] == 0
    other = deskcli("sync", home=tmp_path / "other", **env)
    assert other.returncode == 0 and "received" in other.stderr
    queue = deskcli("queue", "--format", "json", home=tmp_path / "other")
    assert [row["summary"] for row in json.loads(queue.stdout)] == ["Scanner jams"]
    down = deskcli("sync", home=tmp_path / "ivy", DESKCLI_SERVER="http://127.0.0.1:9",
                   DESKCLI_TOKEN=token)
    assert down.returncode == 1 and "cannot reach the team server" in down.stderr
