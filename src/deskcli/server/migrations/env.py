"""Alembic's entry point for the server database's revisions (run by Alembic, not imported).

``deskcli.server.revisions`` configures Alembic in code (no alembic.ini) and hands over an
open connection, already inside the transaction that holds the upgrade lock, in
``config.attributes["connection"]``. ``scripts/server_revision.py`` runs it for a developer
writing a new revision, with a scratch database URL instead.
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

import deskcli.server.models  # noqa: F401  (registers the server's tables on SQLModel.metadata)


def _render_item(kind: str, obj: Any, _context: Any) -> str | Literal[False]:
    """Write SQLModel's string type as plain ``sa.String()`` in a new revision: a revision
    should not depend on SQLModel's internals (it is VARCHAR either way)."""
    if kind == "type" and isinstance(obj, AutoString):
        return "sa.String()"
    return False


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        # SQLite cannot ALTER most things in place: batch operations copy the table, and
        # the same revision then runs on PostgreSQL unchanged.
        render_as_batch=True,
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = create_engine(context.config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as opened:
        _run(opened)
    engine.dispose()
