"""The bulk writers' shared helpers on every kind of row and trigger set they meet."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from deskcli.domain.intake import NewTicket
from deskcli.storage import bulk_load
from helpers import FakeClock, make_desk


def test_first_value_reads_every_row_factory(tmp_path: Path) -> None:
    """The store's dict rows, a raw connection's tuples (``Store.open`` finishing a
    stopped load) and ``sqlite3.Row``: the first column of each, and a clear error for
    anything else."""
    db = sqlite3.connect(tmp_path / "x.db")
    try:
        assert bulk_load.first_value(db.execute("SELECT 7, 8").fetchone()) == 7
        db.row_factory = sqlite3.Row
        assert bulk_load.first_value(db.execute("SELECT 'a' AS x, 'b'").fetchone()) == "a"
    finally:
        db.close()
    assert bulk_load.first_value({"n": 3, "m": 4}) == 3
    with pytest.raises(TypeError):
        bulk_load.first_value(None)


def test_held_text_triggers_come_back_with_every_ticket_indexed(tmp_path: Path) -> None:
    """``hold_text_triggers`` drops the three insert triggers; tickets written meanwhile
    are missing from the queue's text index until ``refill_text``, which indexes them
    and makes the triggers again from their own text, so the schema reads as before."""
    with make_desk(tmp_path / "d", FakeClock()) as desk:
        db = desk.store.db

        def triggers() -> list[tuple[str, str]]:
            return sorted((r["name"], r["sql"]) for r in db.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"))

        before = triggers()
        with desk.store.transaction():
            held = bulk_load.hold_text_triggers(db)
            assert [name for name, _ in held] == list(bulk_load.TEXT_TRIGGERS)
            after = bulk_load.last_ticket_rowid(db)
            desk.tickets.insert_ticket(NewTicket(summary="Printer jams on tray 2"),
                                       desk.tickets.now())
            found = db.execute("SELECT count(*) AS n FROM ticket_text WHERE ticket_text "
                               "MATCH 'jams'").fetchone()["n"]
            assert found == 0
            bulk_load.refill_text(db, held, after)
        assert triggers() == before
        assert db.execute("SELECT count(*) AS n FROM ticket_text WHERE ticket_text "
                          "MATCH 'jams'").fetchone()["n"] == 1
