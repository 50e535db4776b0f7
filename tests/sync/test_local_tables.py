"""The local store's SQL migrations and its SQLModel declaration (server/local_tables.py)
describe the same schema: a column added to one and not the other fails here."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import create_engine

from deskcli.server.local_tables import LOCAL_METADATA
from deskcli.storage.store import Store


def _columns(db: Path) -> dict[str, dict[str, tuple[bool, bool]]]:
    out: dict[str, dict[str, tuple[bool, bool]]] = {}
    with sqlite3.connect(db) as raw:
        virtual = [r[0] for r in raw.execute(
            "SELECT name FROM sqlite_master WHERE sql LIKE 'CREATE VIRTUAL TABLE%'")]
        # A full-text index (FTS5) is local to the store and has shadow tables of its own.
        tables = [r[0] for r in raw.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")
            if not any(r[0] == v or r[0].startswith(v + "_") for v in virtual)]
        for table in tables:
            out[table] = {
                row[1]: (bool(row[3]) or bool(row[5]), bool(row[5]))  # (not null, pk)
                for row in raw.execute(f'PRAGMA table_info("{table}")')
            }
    return out


def test_migrations_and_models_agree(tmp_path: Path) -> None:
    migrated = tmp_path / "migrated.db"
    Store.open(migrated, ids=lambda: "0" * 32, now_ms=lambda: 0, now_iso=lambda: "x").close()
    modelled = tmp_path / "modelled.db"
    engine = create_engine(f"sqlite:///{modelled}")
    LOCAL_METADATA.create_all(engine)
    engine.dispose()
    expected, actual = _columns(migrated), _columns(modelled)
    assert set(expected) == set(actual)
    for table, columns in expected.items():
        assert set(columns) == set(actual[table]), table
        for name, (not_null, pk) in columns.items():
            assert actual[table][name][1] == pk, f"{table}.{name} primary key differs"
            if not pk:
                assert actual[table][name][0] == not_null, f"{table}.{name} nullability differs"
