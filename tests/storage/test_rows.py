"""The typed row declarations match what the store really returns.

``TicketRow`` is only a declaration: nothing checks it at run time. These tests hold it to
the columns of a real store, so adding a column in a migration without declaring it (or
declaring one the select does not return) fails here rather than as a ``KeyError`` later.
"""

from __future__ import annotations

import sqlite3
import typing
from pathlib import Path

from tests.helpers import SeqIds

from deskcli.storage.rows import TicketRow
from deskcli.storage.store import Store


def _store(tmp_path: Path) -> Store:
    return Store.open(tmp_path / "rows.db", ids=SeqIds(), now_ms=lambda: 0,
                      now_iso=lambda: "2026-01-01T00:00:00.000Z")


def _select_columns(store: Store, sql: str) -> list[str]:
    cursor: sqlite3.Cursor = store.db.execute(sql + " LIMIT 0")
    return [column[0] for column in cursor.description]


def test_ticket_row_declares_exactly_the_columns_a_ticket_read_returns(tmp_path: Path) -> None:
    store = _store(tmp_path)
    returned = _select_columns(store, store.tickets.SELECT)
    # ``tags`` is the one key a read does not return: ``TicketService.detail`` adds it.
    declared = set(TicketRow.__annotations__) - {"tags"}
    assert sorted(returned) == sorted(declared)


def test_ticket_row_types_follow_the_schema(tmp_path: Path) -> None:
    store = _store(tmp_path)
    hints = typing.get_type_hints(TicketRow)
    for column in store.db.execute("PRAGMA table_info(tickets)"):
        name, declared_type = column["name"], column["type"]
        notnull, pk = column["notnull"], column["pk"]
        hint = hints[name]
        args = set(typing.get_args(hint)) or {hint}
        expected = int if declared_type.upper() == "INTEGER" else str
        assert expected in args, f"{name}: {declared_type} declared as {hint}"
        if type(None) not in args:
            # A column declared never-None must be NOT NULL in the table (or the key).
            assert notnull or pk, f"{name} is nullable in the table but not in TicketRow"

