"""The clock stamp and sync cursor are kept in memory for a transaction: read once,
the stamp written to ``meta`` once before COMMIT, and never going back, whatever is
rolled back."""

from __future__ import annotations

from pathlib import Path

import pytest

from deskcli.domain.timefmt import to_iso
from deskcli.storage.store import Store
from helpers import FakeClock, SeqIds


def _open(path: Path) -> Store:
    clock = FakeClock()
    return Store.open(path, ids=SeqIds(), now_ms=lambda: 1_000,
                      now_iso=lambda: to_iso(clock.now()))


def _client(store: Store, n: int) -> None:
    store.insert("clients", {"id": f"c{n}", "name": f"Client {n}",
                             "contract_tier": "standard", "created_at": "2026-01-01T00:00:00Z"})


def _stored_hlc(store: Store) -> str:
    return str(store.db.execute("SELECT value FROM meta WHERE key = 'hlc'").fetchone()["value"])


def _op_stamps(store: Store) -> list[str]:
    return [r["hlc"] for r in store.db.execute("SELECT hlc FROM outbox ORDER BY seq")]


def test_many_ops_read_the_meta_once_and_write_the_stamp_once(tmp_path: Path) -> None:
    store = _open(tmp_path / "d.db")
    seen: list[str] = []
    store.db.set_trace_callback(seen.append)
    with store.transaction():
        for n in range(50):
            _client(store, n)
    store.db.set_trace_callback(None)
    assert sum("FROM meta" in sql for sql in seen) == 2  # the clock and the cursor
    assert sum(sql.startswith("INSERT INTO meta") for sql in seen) == 1
    stamps = _op_stamps(store)
    assert stamps == sorted(stamps) and len(set(stamps)) == 50
    assert _stored_hlc(store) == stamps[-1]
    store.close()


def test_a_rolled_back_savepoint_never_sends_the_clock_back(tmp_path: Path) -> None:
    store = _open(tmp_path / "d.db")
    with store.transaction():
        _client(store, 0)
        with pytest.raises(RuntimeError), store.savepoint():
            _client(store, 1)
            store.set_meta("sync_cursor", "99")  # undone with the savepoint
            raise RuntimeError("refused")
        burned = store.meta("hlc")
        assert store.meta("sync_cursor") is None, "the cursor is read again after a rollback"
        _client(store, 2)
    stamps = _op_stamps(store)
    assert len(stamps) == 2 and stamps[-1] > str(burned) > stamps[0]
    assert _stored_hlc(store) == stamps[-1]
    base = store.db.execute("SELECT base_seq FROM outbox ORDER BY seq DESC").fetchone()
    assert base["base_seq"] is None
    store.close()


def test_a_rolled_back_transaction_leaves_the_stored_clock(tmp_path: Path) -> None:
    store = _open(tmp_path / "d.db")
    with store.transaction():
        _client(store, 0)
    before = _stored_hlc(store)
    with pytest.raises(RuntimeError), store.transaction():
        _client(store, 1)
        raise RuntimeError("nothing written")
    assert _stored_hlc(store) == before and store.meta("hlc") == before
    with store.transaction():
        _client(store, 2)
    assert _op_stamps(store)[-1] > before and _stored_hlc(store) == _op_stamps(store)[-1]
    store.close()
