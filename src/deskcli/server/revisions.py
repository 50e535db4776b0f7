"""Which schema revision the server database is at, and upgrading it (Alembic).

The revisions are in ``server/migrations/versions``; Alembic is configured here in code,
so nothing but the package is needed at run time (no alembic.ini). ``deskcli serve`` and
the ``deskcli server`` admin commands call :func:`ensure` before touching the database:

- an empty database is built by running every revision (it ends at the newest, *head*);
- a database made before revisions existed (the tables, no ``alembic_version``) is
  adopted as the first revision, as long as that is also the newest;
- a database at an older revision is refused, nothing written, with the command that
  upgrades it (``deskcli server upgrade``): an upgrade is the administrator's decision,
  taken with a backup and with every server process stopped, not a side effect of start-up;
- a revision this deskcli does not know (a newer deskcli upgraded it) is refused too.

Everything happens in one transaction holding a lock (PostgreSQL: an advisory lock;
SQLite: ``BEGIN IMMEDIATE``), so server processes starting together do not race to build
the same tables, and a failed upgrade leaves the database as it was.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

from deskcli.server.db import ServerDatabaseError

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

SCRIPT_LOCATION = Path(__file__).with_name("migrations")
#: The tables every revision keeps: one of them present means deskcli made this database.
SERVER_TABLE = "srv_meta"
#: pg_advisory_xact_lock key taken while checking or upgrading ("deskcli" as ASCII bytes).
_PG_LOCK = 0x6465736B636C69


class SchemaOutOfDate(ServerDatabaseError):
    """The database is at an older revision than this deskcli needs."""


class SchemaUnknown(ServerDatabaseError):
    """The database is at a revision this deskcli does not know (made by a newer one)."""


@dataclass(frozen=True)
class Upgrade:
    """What :func:`upgrade` did: ``before`` is None for an empty database, ``adopted`` when
    a database from before revisions was recorded as the first revision."""

    before: str | None
    after: str
    adopted: bool = False

    @property
    def changed(self) -> bool:
        return self.before != self.after or self.adopted


@lru_cache(maxsize=8)
def _script(location: Path) -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(location))


def _config(connection: Connection, location: Path) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(location))
    config.attributes["connection"] = connection
    return config


def head(location: Path | None = None) -> str:
    found = _script(location or SCRIPT_LOCATION).get_current_head()
    if found is None:  # only if the versions folder were empty
        raise ServerDatabaseError(f"no schema revisions in {location or SCRIPT_LOCATION}")
    return found


def first(location: Path | None = None) -> str:
    return _script(location or SCRIPT_LOCATION).get_base() or head(location)


def current(connection: Connection) -> str | None:
    """The revision recorded in the database; None when it records none."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


@contextmanager
def _locked(engine: Engine) -> Iterator[Connection]:
    """One transaction that no other deskcli process checking or upgrading the same
    database runs alongside."""
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        # The stdlib driver opens a transaction only before the first INSERT/UPDATE, so
        # CREATE TABLE would run outside it: drive BEGIN ourselves, IMMEDIATE for the lock.
        own = create_engine(url, poolclass=NullPool,
                            connect_args={"timeout": 30, "isolation_level": None})

        @event.listens_for(own, "begin")
        def _begin(connection: Connection) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        try:
            with own.begin() as connection:
                yield connection
        finally:
            own.dispose()
        return
    with engine.begin() as connection:
        if url.get_backend_name() == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK})
        yield connection


def _state(connection: Connection) -> tuple[str | None, bool]:
    """The recorded revision, and whether deskcli's tables are there at all."""
    return current(connection), inspect(connection).has_table(SERVER_TABLE)


def _known(revision: str, location: Path) -> bool:
    from alembic.util.exc import CommandError

    try:
        return _script(location).get_revision(revision) is not None
    except CommandError:
        return False


def _refuse_unknown(revision: str, location: Path) -> SchemaUnknown:
    from deskcli import __version__

    return SchemaUnknown(
        f"the server database is at schema revision {revision}, which deskcli {__version__} "
        f"does not know (the newest it knows is {head(location)}): a newer deskcli upgraded "
        "it. Run that newer deskcli, or restore the backup taken before the upgrade")


_REVISION = re.compile(r"""^revision\s*=\s*["']([^"']+)["']\s*(?:#.*)?$""", re.MULTILINE)
_DOWN = re.compile(r"""^down_revision\s*=\s*(?:None|["']([^"']+)["'])\s*(?:#.*)?$""",
                   re.MULTILINE)


def _plain_head(location: Path) -> str | None:
    """The newest revision read straight from the scripts' ``revision`` and
    ``down_revision`` lines, or None whenever that is not plain (a merge, a line written
    another way): then Alembic itself decides. Lets a server start on an up-to-date
    database without importing Alembic."""
    known: set[str] = set()
    parents: set[str] = set()
    for script in (location / "versions").glob("*.py"):
        text = script.read_text(encoding="utf-8")
        revision, down = _REVISION.findall(text), _DOWN.findall(text)
        if len(revision) != 1 or len(down) != 1:
            return None
        known.add(revision[0])
        if down[0]:
            parents.add(down[0])
    heads = known - parents
    return heads.pop() if len(heads) == 1 and parents <= known else None


def _already_at(engine: Engine, revision: str) -> bool:
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return False
        recorded = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    return [row[0] for row in recorded] == [revision]


def ensure(engine: Engine, location: Path | None = None) -> None:
    """Make sure the database is at the newest revision this deskcli knows, building an
    empty one; refuse (raising, with nothing written) an older or unknown revision."""
    where = location or SCRIPT_LOCATION
    plain = _plain_head(where)
    if plain is not None and _already_at(engine, plain):
        return  # the usual start: nothing to check further, no Alembic to import
    newest = head(where)
    with _locked(engine) as connection:
        recorded, has_tables = _state(connection)
        if recorded == newest:
            return
        if recorded is None and not has_tables:
            _upgrade_to_head(connection, where)
            return
        if recorded is not None and not _known(recorded, where):
            raise _refuse_unknown(recorded, where)
        if recorded is None and first(where) == newest:
            _upgrade_to_head(connection, where)  # adopts: the first revision keeps what exists
            return
        at = recorded or f"{first(where)} (made before schema revisions; not yet recorded)"
        raise SchemaOutOfDate(
            f"the server database is at schema revision {at} and this deskcli needs "
            f"{newest}: stop every 'deskcli serve' using it, back it up, then run "
            "'deskcli server upgrade' with the same --database-url")


def upgrade(engine: Engine, location: Path | None = None) -> Upgrade:
    """Bring the database to the newest revision (``deskcli server upgrade``)."""
    where = location or SCRIPT_LOCATION
    newest = head(where)
    with _locked(engine) as connection:
        recorded, has_tables = _state(connection)
        if recorded is not None and not _known(recorded, where):
            raise _refuse_unknown(recorded, where)
        adopted = recorded is None and has_tables
        if recorded != newest:
            _upgrade_to_head(connection, where)
        return Upgrade(before=first(where) if adopted else recorded, after=newest,
                       adopted=adopted)


def _upgrade_to_head(connection: Connection, location: Path) -> None:
    from alembic import command

    command.upgrade(_config(connection, location), "head")
