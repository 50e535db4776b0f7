"""The server reads a pull page with index walks that stop after a page.

One ``scope IN (...) OR seq IN (...)`` filter made SQLite read and sort every visible row
after the cursor for each page, so a long catch-up cost time quadratic in the feed's
length. Now each scope the technician reads is its own walk of ``(scope, seq)``, and
every walk carries the page's limit.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy.dialects import sqlite as sqlite_dialect

from deskcli.server import scope as scope_rules
from deskcli.server.db import init_database, make_engine
from deskcli.server.feed import PULLED


def _plan(path: Path, is_admin: bool, scopes: tuple[str, ...]) -> tuple[str, list[str]]:
    query = scope_rules.visible_page(PULLED, is_admin, scopes).params(since=5, limit=101)
    sql = str(query.compile(dialect=sqlite_dialect.dialect(),
                            compile_kwargs={"literal_binds": True}))
    with sqlite3.connect(path) as db:
        return sql, [row[3] for row in db.execute("EXPLAIN QUERY PLAN " + sql)]


def test_each_scope_is_an_index_walk_cut_to_the_page(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'server.db'}")
    init_database(engine)
    engine.dispose()
    sql, plan = _plan(tmp_path / "server.db", False, ("client-a", "client-b"))
    walks = [step for step in plan if "srv_op" in step]
    # '', client-a, client-b: one walk each; the moved rows by their primary key.
    assert sum("USING INDEX srv_op_by_scope_seq (scope=? AND seq>?)" in s
               for s in walks) == 3, plan
    assert not any(s.startswith("SCAN srv_op") or "MULTI-INDEX OR" in s for s in plan), plan
    assert sql.count("LIMIT 101") == 5  # every branch, and the merged page
    _sql, admin = _plan(tmp_path / "server.db", True, ())
    assert admin == ["SEARCH srv_op USING INTEGER PRIMARY KEY (rowid>?)"]


def test_the_query_is_built_once_per_set_of_scopes() -> None:
    first = scope_rules.visible_page(PULLED, False, ("client-a",))
    assert scope_rules.visible_page(PULLED, False, ("client-a",)) is first
    assert scope_rules.visible_page(PULLED, False, ("client-b",)) is not first
