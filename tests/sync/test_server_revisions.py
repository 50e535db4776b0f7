"""The server database's schema revisions (server/revisions.py, server/migrations).

On SQLite always and on PostgreSQL when DESKCLI_TEST_POSTGRES_URL is set: the newest
revision builds exactly the tables the models declare (so a model change without a
revision fails here), the first revision builds what ``create_all`` built before there were
revisions, a database from before revisions is adopted, and a database at the first
revision is upgraded to a second one (a test-only revision added to a copy of the scripts)
after ``serve`` refused it.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel
from typer.testing import CliRunner

import deskcli.server.models  # noqa: F401  (the server's tables on SQLModel.metadata)
from deskcli.cli.main import app
from deskcli.server import revisions
from deskcli.server.db import init_database, make_engine
from sync.forkserver import ForkServer

from .conftest import BACKENDS, free_port, postgres_database

#: The first revision's tables as ``create_all`` made them on each backend before revisions
#: existed (read with ``_schema`` from such databases, the day revisions were added).
FIRST_SCHEMA = Path(__file__).with_name("server_schema_0001.json")

SECOND = '''"""Test only: a column and a table, to upgrade a first-revision database."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "9001"
down_revision = "0001"  # on a copy of the first revision alone (``only_first``)
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("srv_tech") as batch:
        batch.add_column(sa.Column("team", sa.String(), nullable=False,
                                   server_default="first line"))
    op.create_table("srv_test_note",
                    sa.Column("id", sa.Integer(), primary_key=True),
                    sa.Column("body", sa.Text(), nullable=False))


def downgrade() -> None:
    op.drop_table("srv_test_note")
    with op.batch_alter_table("srv_tech") as batch:
        batch.drop_column("team")
'''


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'server.db'}"
    return postgres_database()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    made = make_engine(database_url)
    yield made
    made.dispose()


@pytest.fixture
def only_first(tmp_path: Path) -> Path:
    """The shipped scripts with the first revision alone: what these tests say about the
    first revision holds whatever revisions are added after it."""
    location = tmp_path / "first"
    shutil.copytree(revisions.SCRIPT_LOCATION, location,
                    ignore=shutil.ignore_patterns("__pycache__"))
    for script in (location / "versions").glob("*.py"):
        if not script.name.startswith("0001_"):
            script.unlink()
    return location


@pytest.fixture
def with_second(tmp_path: Path, only_first: Path) -> Path:
    """The first revision and a second, test-only one (9001) after it."""
    location = tmp_path / "second"
    shutil.copytree(only_first, location)
    (location / "versions" / "9001_test_only.py").write_text(SECOND)
    return location


def _made_before_revisions(engine: Engine, only_first: Path) -> None:
    """A database as ``create_all`` made it before revisions existed: the first revision's
    tables (the same, see the test against FIRST_SCHEMA) and no ``alembic_version``."""
    revisions.ensure(engine, only_first)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE alembic_version"))


def _schema(engine: Engine) -> dict[str, Any]:
    """Everything about the server's tables that a revision decides, as plain data."""
    found: dict[str, Any] = {}
    inspector = sa.inspect(engine)
    for table in sorted(t for t in inspector.get_table_names() if t.startswith("srv_")):
        found[table] = {
            "columns": [(c["name"], str(c["type"]), c["nullable"], str(c.get("default")),
                         c.get("autoincrement")) for c in inspector.get_columns(table)],
            "pk": inspector.get_pk_constraint(table)["constrained_columns"],
            "indexes": sorted((i["name"], tuple(i["column_names"]), bool(i["unique"]))
                              for i in inspector.get_indexes(table)),
            "unique": sorted(tuple(u["column_names"])
                             for u in inspector.get_unique_constraints(table)),
            "foreign": sorted((tuple(f["constrained_columns"]), f["referred_table"],
                               tuple(f["referred_columns"]))
                              for f in inspector.get_foreign_keys(table)),
        }
    return found


def init_database_at(engine: Engine, location: Path) -> str:
    """``init_database`` as a deskcli that knows the revisions at ``location`` runs it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(revisions, "SCRIPT_LOCATION", location)
        return init_database(engine)


def _differences(engine: Engine, metadata: sa.MetaData) -> list[Any]:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))


def _recorded(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return revisions.current(connection)


def _dump(database_url: str, engine: Engine) -> Any:
    """The whole database's content, to show a refusal wrote nothing."""
    if database_url.startswith("sqlite"):
        engine.dispose()
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as raw:
            return list(raw.iterdump())
    with engine.connect() as connection:
        return {table: sorted(map(tuple, connection.execute(sa.text(f'SELECT * FROM "{table}"'))))
                for table in sa.inspect(connection).get_table_names()}, _schema(engine)


def test_the_newest_revision_builds_what_the_models_declare(engine: Engine) -> None:
    init_database(engine)
    assert _recorded(engine) == revisions.head()
    assert _differences(engine, SQLModel.metadata) == []


def test_a_model_change_without_a_revision_is_seen(engine: Engine) -> None:
    """What the check above would report had someone added a column to a model only."""
    init_database(engine)
    changed = sa.MetaData()
    for table in SQLModel.metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["srv_tech"].append_column(sa.Column("test_only_extra", sa.String(),
                                                        nullable=True))
    assert [d[0] for d in _differences(engine, changed)] == ["add_column"]


def test_the_first_revision_builds_what_create_all_built(database_url: str, engine: Engine,
                                                         only_first: Path) -> None:
    """Before revisions, the server ran ``create_all`` on its models at start-up; the first
    revision builds the very same tables (FIRST_SCHEMA was read from databases that
    ``create_all`` made on the models of that day), so adopted databases and new ones agree."""
    revisions.ensure(engine, only_first)
    assert _recorded(engine) == "0001"
    backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    expected = json.loads(FIRST_SCHEMA.read_text())[backend]
    assert json.loads(json.dumps(_schema(engine))) == expected


def test_a_database_from_before_revisions_is_adopted(engine: Engine, only_first: Path) -> None:
    _made_before_revisions(engine, only_first)
    with engine.begin() as connection:
        connection.execute(sa.text("INSERT INTO srv_meta (key, value) VALUES ('epoch', 'e1')"))
    revisions.ensure(engine, only_first)
    assert _recorded(engine) == "0001"
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT value FROM srv_meta")).scalar() == "e1"


def test_a_table_missing_from_a_database_before_revisions_is_created(
        database_url: str, engine: Engine, only_first: Path) -> None:
    _made_before_revisions(engine, only_first)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE srv_intake_claim"))
    revisions.ensure(engine, only_first)
    backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    assert json.loads(json.dumps(_schema(engine))) == json.loads(FIRST_SCHEMA.read_text())[backend]


def test_a_first_revision_database_is_refused_then_upgraded(
        database_url: str, engine: Engine, only_first: Path, with_second: Path) -> None:
    epoch = init_database_at(engine, only_first)
    with engine.begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO srv_tech (handle, name, tier, is_admin, token_hash, revoked, "
            "created_at) VALUES ('ana', 'Ana', 1, false, 'h', false, 'x')"))
    before = _dump(database_url, engine)

    with pytest.raises(revisions.SchemaOutOfDate) as refused:
        revisions.ensure(engine, with_second)
    assert str(refused.value) == (
        "the server database is at schema revision 0001 and this deskcli needs 9001: stop "
        "every 'deskcli serve' using it, back it up, then run 'deskcli server upgrade' with "
        "the same --database-url")
    assert _dump(database_url, engine) == before, "a refusal writes nothing"

    done = revisions.upgrade(engine, with_second)
    assert (done.before, done.after, done.adopted) == ("0001", "9001", False)
    assert _recorded(engine) == "9001"
    revisions.ensure(engine, with_second)  # now at the newest it knows: starts
    with engine.connect() as connection:
        assert connection.execute(sa.text(
            "SELECT handle, team FROM srv_tech")).all() == [("ana", "first line")]
        assert connection.execute(sa.text(
            "SELECT value FROM srv_meta WHERE key = 'epoch'")).scalar() == epoch
    assert sa.inspect(engine).has_table("srv_test_note")
    again = revisions.upgrade(engine, with_second)
    assert (again.before, again.after) == ("9001", "9001")

    # The shipped deskcli does not know 9001: a newer deskcli made this database.
    with pytest.raises(revisions.SchemaUnknown, match="revision 9001, which deskcli .* does "
                       f"not know .*newest it knows is {revisions.head()}"):
        revisions.ensure(engine)
    with pytest.raises(revisions.SchemaUnknown):
        revisions.upgrade(engine)


def test_a_database_from_before_revisions_is_upgraded_in_one_go(
        engine: Engine, only_first: Path, with_second: Path) -> None:
    _made_before_revisions(engine, only_first)
    with pytest.raises(revisions.SchemaOutOfDate, match="at schema revision 0001 .made before "
                       "schema revisions; not yet recorded. and this deskcli needs 9001"):
        revisions.ensure(engine, with_second)
    assert _recorded(engine) is None
    done = revisions.upgrade(engine, with_second)
    assert (done.before, done.after, done.adopted) == ("0001", "9001", True)
    assert _recorded(engine) == "9001"


def test_a_failing_revision_leaves_the_database_as_it_was(
        database_url: str, engine: Engine, only_first: Path, with_second: Path) -> None:
    revisions.ensure(engine, only_first)
    script = with_second / "versions" / "9001_test_only.py"
    script.write_text(script.read_text().replace(
        '    op.create_table("srv_test_note",',
        '    op.execute("SELECT no_such_column FROM srv_meta")\n'
        '    op.create_table("srv_test_note",'))
    before = _dump(database_url, engine)
    with pytest.raises(sa.exc.DBAPIError):
        revisions.upgrade(engine, with_second)
    assert _dump(database_url, engine) == before
    assert _recorded(engine) == "0001"


# The commands, as an administrator meets them.

def _cli(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), prog_name="deskcli")


def test_serve_refuses_an_older_database_and_server_upgrade_upgrades_it(
        database_url: str, engine: Engine, only_first: Path, with_second: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The deskcli in this test knows revisions 0001 and 9001; the database is at 0001."""
    init_database_at(engine, only_first)
    before = _dump(database_url, engine)
    monkeypatch.setattr(revisions, "SCRIPT_LOCATION", with_second)
    refused = _cli("serve", "--port", str(free_port()), "--database-url", database_url)
    assert refused.exit_code == 2, refused.output
    assert refused.stderr == (
        "deskcli: error: the server database is at schema revision 0001 and this deskcli "
        "needs 9001: stop every 'deskcli serve' using it, back it up, then run 'deskcli "
        "server upgrade' with the same --database-url\n")
    techs = _cli("server", "techs", "--database-url", database_url)
    assert techs.exit_code == 2 and "'deskcli server upgrade'" in techs.stderr
    assert _dump(database_url, engine) == before

    upgraded = _cli("server", "upgrade", "--database-url", database_url)
    assert upgraded.exit_code == 0, upgraded.output
    where = database_url.split("@")[-1]
    assert upgraded.stderr == (f"upgraded the server database {where} from schema revision "
                               "0001 to 9001\n")
    again = _cli("server", "upgrade", "--database-url", database_url)
    assert again.exit_code == 0
    assert again.stderr == (f"the server database {where} is already at schema revision "
                            "9001, the newest this deskcli knows: nothing to do\n")
    assert _cli("server", "techs", "--database-url", database_url).exit_code == 0


def test_server_upgrade_builds_an_empty_database(database_url: str, engine: Engine) -> None:
    made = _cli("server", "upgrade", "--database-url", database_url)
    assert made.exit_code == 0, made.output
    assert made.stderr == (f"the server database {database_url.split('@')[-1]} was empty: "
                           f"created it at schema revision {revisions.head()}\n")
    assert _differences(engine, SQLModel.metadata) == []


def test_server_upgrade_records_a_database_from_before_revisions(
        database_url: str, engine: Engine, only_first: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    _made_before_revisions(engine, only_first)
    monkeypatch.setattr(revisions, "SCRIPT_LOCATION", only_first)
    done = _cli("server", "upgrade", "--database-url", database_url)
    assert done.exit_code == 0, done.output
    assert done.stderr == (f"the server database {database_url.split('@')[-1]} had no schema "
                           "revision recorded: its tables are those of revision 0001, now "
                           "recorded\n")
    assert _recorded(engine) == "0001"


@pytest.mark.subprocess
def test_serve_refuses_a_database_from_a_newer_deskcli(tmp_path: Path) -> None:
    """Through the real entry point: exit 2, one line saying what to do, no traceback."""
    url = f"sqlite:///{tmp_path / 'server.db'}"
    engine = make_engine(url)
    init_database(engine)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = 'abc123'"))
    engine.dispose()
    env = {**os.environ, "DESKCLI_HOME": str(tmp_path)}
    for command in (["serve", "--port", str(free_port())], ["server", "upgrade"],
                    ["server", "add-tech", "ana", "--admin"]):
        argv = [*command, "--database-url", url]
        if command[0] == "serve":  # from a cold start, as an operator runs it
            result = subprocess.run([sys.executable, "-m", "deskcli", *argv],
                                    capture_output=True, text=True, timeout=60, env=env)
        else:  # the same entry point in a process forked from a warm one (forkserver.py)
            result = ForkServer.get().run(argv, env, timeout=60)
        assert result.returncode == 2, (command, result.stderr)
        assert result.stderr.startswith(
            "deskcli: error: the server database is at schema revision abc123, which "
            "deskcli "), result.stderr
        assert "a newer deskcli upgraded it" in result.stderr
        assert "Traceback" not in result.stderr


def test_the_plain_reading_of_the_scripts_finds_alembics_head(with_second: Path) -> None:
    for location in (revisions.SCRIPT_LOCATION, with_second):
        assert revisions._plain_head(location) == revisions.head(location)


@pytest.mark.subprocess
def test_a_start_on_an_up_to_date_database_does_not_import_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'server.db'}"
    engine = make_engine(url)
    init_database(engine)
    engine.dispose()
    code = ("import sys\nfrom deskcli.server.db import init_database, make_engine\n"
            f"init_database(make_engine({url!r}))\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, env=os.environ.copy())
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
