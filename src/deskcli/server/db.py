"""Opening the server database: SQLite for a small team, PostgreSQL beyond one machine."""

from __future__ import annotations

import secrets
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine, select

from deskcli.domain.numbering import FIRST_NUMBER
from deskcli.server.models import SrvCounter, SrvMeta


class ServerDatabaseError(Exception):
    pass


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        _private_sqlite_file(url)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    if url.startswith("postgresql"):
        return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)
    raise ServerDatabaseError(
        f"unsupported database URL {url!r}: use sqlite:///PATH or "
        "postgresql+psycopg://USER:PASSWORD@HOST/DB")


def sqlite_url(path: Path) -> str:
    from deskcli.paths import private_dir

    private_dir(path.parent)
    return f"sqlite:///{path}"


def _private_sqlite_file(url: str) -> None:
    """Create the server's SQLite file 0600 (its folder 0700 if we create it), so token
    hashes and every client's tickets are not readable by other users of the machine.
    SQLite gives the -wal and -shm files the same mode."""
    from sqlalchemy.engine import make_url

    from deskcli.paths import PRIVATE_DIR, private_file

    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    try:
        if not path.parent.exists():
            path.parent.mkdir(mode=PRIVATE_DIR, parents=True)
        private_file(path)
    except OSError as error:
        raise ServerDatabaseError(f"cannot create the server database {path}: "
                                  f"{error.strerror}") from None


def init_database(engine: Engine) -> str:
    """Bring an empty database to the current schema, refuse one at another schema
    revision (``server/revisions.py``), create the epoch if missing; return the epoch.

    The epoch names this database's history. A server restored from an older backup gets
    a new epoch (``deskcli server new-epoch``), which tells every client to re-send what
    it has and pull from scratch.
    """
    from deskcli.server import revisions

    revisions.ensure(engine)
    with Session(engine) as session:
        epoch = session.get(SrvMeta, "epoch")
        if epoch is None:
            session.add(SrvMeta(key="epoch", value=secrets.token_hex(8)))
            for name, start in (("seq", 0), ("number", FIRST_NUMBER)):
                if session.get(SrvCounter, name) is None:
                    session.add(SrvCounter(name=name, value=start))
            try:
                session.commit()
            except Exception:  # another server process initialised it first
                session.rollback()
        row = session.exec(select(SrvMeta).where(SrvMeta.key == "epoch")).one()
        return row.value


def new_epoch(engine: Engine) -> str:
    """Give a restored database a new history name, so clients resend and re-fetch."""
    epoch = secrets.token_hex(8)
    with Session(engine) as session:
        row = session.get(SrvMeta, "epoch") or SrvMeta(key="epoch", value=epoch)
        row.value = epoch
        session.add(row)
        session.commit()
    return epoch
