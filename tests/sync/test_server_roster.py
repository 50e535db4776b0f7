"""Technicians' groups and shifts on the team server: ``deskcli server tech add/set/list``
write them, ``server.roster.load_roster`` builds the roster the rule runner assigns from."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session
from typer.testing import CliRunner

from deskcli.cli.main import app
from deskcli.server.db import make_engine
from deskcli.server.models import SrvTechRoster
from deskcli.server.roster import load_roster

WEDNESDAY_NOON = datetime(2026, 6, 3, 11, 0, tzinfo=UTC)  # 12:00 in London


def run(*args: str, url: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [*args, "--database-url", url], prog_name="deskcli")
    return result.exit_code, result.stdout, result.stderr


def roster_of(url: str):  # type: ignore[no-untyped-def]
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            return load_roster(session)
    finally:
        engine.dispose()


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'server.db'}"


def test_tech_add_set_and_list(url: str) -> None:
    code, out, err = run("server", "tech", "add", "eli", "--client", "Acme", "--group", "tier2",
                         "--shift", "Europe/London mon-fri=08:00-16:00", url=url)
    assert code == 0, err
    assert out.strip().startswith("dsk_")
    assert run("server", "tech", "add", "kai", "--client", "Acme", url=url)[0] == 0
    roster = roster_of(url)
    eli, kai = roster.get("eli"), roster.get("kai")
    assert eli is not None and eli.groups == {"tier2"} and eli.shift is not None
    assert eli.shift.is_open(WEDNESDAY_NOON)
    assert kai is not None and kai.groups == frozenset() and kai.shift is None

    assert run("server", "tech", "set", "kai", "--group", "tier2", "--group", "billing",
               url=url)[0] == 0
    assert run("server", "tech", "set", "eli", "--shift", "none", url=url)[0] == 0
    roster = roster_of(url)
    assert roster.members("billing") == (roster.get("kai"),)
    assert roster.get("eli").shift is None  # type: ignore[union-attr]
    assert roster.get("eli").groups == {"tier2"}  # type: ignore[union-attr]  # kept

    code, out, _ = run("server", "tech", "list", "--format", "tsv", url=url)
    assert code == 0
    assert out.splitlines() == ["handle\tgroups\tshift", "eli\ttier2\talways",
                                "kai\tbilling,tier2\talways"]
    # Revoked technicians no longer work the desk.
    assert run("server", "revoke", "kai", url=url)[0] == 0
    assert [t.handle for t in roster_of(url)] == ["eli"]


def test_add_tech_is_tech_add_under_its_older_name(url: str) -> None:
    # One command under two names: the older one takes groups and a shift too, and a
    # technician added without them has no roster row to go stale.
    code, out, err = run("server", "add-tech", "eli", "--client", "Acme", "--group", "tier2",
                         url=url)
    assert code == 0, err
    assert out.strip().startswith("dsk_")
    assert run("server", "add-tech", "kai", "--client", "Acme", url=url)[0] == 0
    roster = roster_of(url)
    assert roster.get("eli").groups == {"tier2"}  # type: ignore[union-attr]
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            assert session.get(SrvTechRoster, "kai") is None
    finally:
        engine.dispose()


@pytest.mark.parametrize(("args", "code", "message"), [
    (("add", "zoe", "--client", "Acme", "--shift", "Europe/London mon=9-5"), 2,
     "--shift: mon: '9-5' is not a time range"),
    (("add", "zoe", "--client", "Acme", "--group", "Tier 2"), 2, "'Tier 2' is not a group"),
    (("add", "zoe", "--client", "Acme", "--shift", "Mars/Base mon=09:00-17:00"), 2,
     "unknown time zone 'Mars/Base'"),
    (("set", "nobody", "--group", "tier2"), 1, "no technician 'nobody'"),
    (("set", "eli"), 2, "nothing to change"),
])
def test_bad_input_is_named_and_writes_nothing(url: str, args: tuple[str, ...], code: int,
                                               message: str) -> None:
    assert run("server", "tech", "add", "eli", "--client", "Acme", url=url)[0] == 0
    got, out, err = run("server", "tech", *args, url=url)
    assert got == code, err
    assert message in err and out == ""
    assert "zoe" not in [t.handle for t in roster_of(url)]


@pytest.mark.skipif(not os.environ.get("DESKCLI_TEST_POSTGRES_URL"),
                    reason="needs DESKCLI_TEST_POSTGRES_URL")
def test_roster_on_postgresql() -> None:
    from .conftest import postgres_database

    pg_url = postgres_database()
    if pg_url:
        assert run("server", "tech", "add", "eli", "--client", "Acme", "--group", "tier2",
                   "--shift", "America/New_York mon-fri=09:00-17:00", url=pg_url)[0] == 0
        roster = roster_of(pg_url)
        assert roster.members("tier2")[0].shift is not None
        engine = make_engine(pg_url)
        with Session(engine) as session:
            assert session.get(SrvTechRoster, "eli") is not None
        engine.dispose()
