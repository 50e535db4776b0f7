"""Opening a desk from paths and config, and the sample-data generator."""

from __future__ import annotations

from pathlib import Path

import pytest

from deskcli.config import load_config
from deskcli.domain.enums import Priority, Status
from deskcli.domain.errors import InvalidInput, Refused
from deskcli.domain.numbering import Authority, Lease
from deskcli.paths import resolve_paths
from deskcli.services import demo
from deskcli.services.desk import Desk
from helpers import FakeClock, SeqIds, make_desk, paths_under


def test_deskcli_home_moves_data_and_config(tmp_path: Path) -> None:
    paths = resolve_paths({"DESKCLI_HOME": str(tmp_path)})
    assert paths.database == tmp_path / "data" / "deskcli.db"
    assert paths.config_file == tmp_path / "config" / "config.toml"


def test_platform_dirs_honour_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    paths = resolve_paths({})
    assert paths.data_dir == tmp_path / "xdg-data" / "deskcli"
    assert paths.config_dir == tmp_path / "xdg-config" / "deskcli"


def test_config_file_sets_tech_and_sla(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('tech = "rita"\ncheckpoint = "2h"\n[sla.targets.P1]\nresponse = "5m"\n')
    config = load_config(path, environ={})
    assert config.tech == "rita"
    assert config.checkpoint.total_seconds() == 7200
    assert config.sla.target(Priority.P1).response.total_seconds() == 300


@pytest.mark.parametrize(("text", "message"), [
    ("tech = \n", "not valid TOML"),
    ('colour = "blue"\n', "unknown setting 'colour'"),
    ('checkpoint = "later"\n', "not a duration"),
    ("attachment_max_mb = -1\n", "positive number"),
])
def test_bad_config_names_the_file_and_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(InvalidInput, match=message) as caught:
        load_config(path, environ={})
    assert str(path) in caught.value.message


def test_env_tech_wins_over_the_file(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('tech = "rita"\n')
    assert load_config(path, environ={"DESKCLI_TECH": "kai"}).tech == "kai"


def test_demo_data_covers_every_priority_status_and_type(desk: Desk) -> None:
    result = demo.seed(desk.store, count=600, now=desk.now(), policy=desk.config.sla,
                       new_id=SeqIds())
    assert (result.first_number, result.last_number) == (1001, 1600)
    db = desk.store.db
    for column, values in [("priority", {p.value for p in Priority}),
                           ("status", {s.value for s in Status}),
                           ("type", {"incident", "request", "problem", "change"})]:
        found = {r["v"] for r in db.execute(f"SELECT DISTINCT {column} AS v FROM tickets")}
        assert found == values, column
    for table in ("notes", "time_entries", "events", "callers", "clients"):
        assert db.execute(f"SELECT count(*) AS n FROM {table}").fetchone()["n"] > 0
    assert desk.store.sync.outbox_count() == 0, "sample data never syncs"
    # Regular work continues after the sample block without a number clash.
    from deskcli.domain.intake import NewTicket
    assert desk.tickets.create(NewTicket(summary="Real ticket"))["number"] == 1601


def test_sample_history_leaves_no_step_undone(desk: Desk) -> None:
    """A closed sample ticket reads as a worked ticket: every step that applies is done
    (or skipped with a reason), and closing it again after a reopen is allowed."""
    from deskcli.domain import engine

    demo.seed(desk.store, count=120, now=desk.now(), policy=desk.config.sla, new_id=SeqIds())
    done = desk.store.db.execute(
        "SELECT number FROM tickets WHERE status IN ('resolved', 'closed')").fetchall()
    assert len(done) > 20
    for row in done:
        progress = desk.tickets.detail(str(row["number"])).progress
        assert engine.unfinished_before_close(progress) == [], row["number"]
    closed = desk.store.db.execute(
        "SELECT number FROM tickets WHERE status = 'closed' LIMIT 1").fetchone()["number"]
    desk.tickets.reopen(str(closed), reason="the caller says it came back")
    desk.tickets.resolve(str(closed), root_cause="Stale token after the password change",
                         resolution="Cleared Credential Manager and rebuilt the profile; KB 4567")
    assert desk.tickets.close(str(closed))["status"] == "closed"


def test_demo_queue_is_ordered_by_urgency(desk: Desk) -> None:
    """Unanswered P1s first, then running clocks by due time, then the rest (the domain's
    ``queue_rank``, which the store's SQL must follow exactly)."""
    from deskcli.domain.sla import queue_rank
    from deskcli.storage.store import OPEN_STATUSES

    demo.seed(desk.store, count=300, now=desk.now(), policy=desk.config.sla, new_id=SeqIds())
    rows = list(desk.store.queue.rows())
    keys = [(queue_rank(priority=r[4], is_open=r[3] in OPEN_STATUSES, responded=r[18] is not None,
                        urgency_due=r[21]), r[21] or "", r[4], r[1]) for r in rows]
    assert keys == sorted(keys)
    assert {k[0] for k in keys} >= {0, 1}, "the sample queue has unanswered P1s"


def test_demo_refuses_a_store_joined_to_a_server(desk: Desk) -> None:
    with desk.store.transaction():
        desk.store.sync.save_lease(Lease(9000, 9100, 9000, Authority.SERVER),
                                   "2026-01-01T00:00:00Z")
    with pytest.raises(Refused, match="joined a team server"):
        demo.seed(desk.store, count=5, now=desk.now(), policy=desk.config.sla, new_id=SeqIds())


def test_demo_statements_grow_with_batches_not_tickets(tmp_path: Path) -> None:
    """The bulk path's shape, counted rather than timed (the speed itself is measured by
    benchmarks/bench_demo.py): SQL statements run per batch of many rows, so twice the
    tickets add about one statement per ``ROWS_PER_STATEMENT`` rows, and the full-text
    index is written a batch at a time. The row-at-a-time path ran about 26 statements
    per ticket and wrote an index segment for every resolved ticket."""
    from deskcli.storage.bulk import BulkWriter

    def counted(count: int, root: Path) -> tuple[int, int, int]:
        desk = make_desk(root, FakeClock())
        seen: list[str] = []
        desk.store.db.set_trace_callback(seen.append)
        demo.seed(desk.store, count=count, now=desk.now(), policy=desk.config.sla,
                  new_id=SeqIds(), batch=1_000)
        desk.store.db.set_trace_callback(None)
        rows = sum(int(desk.store.db.execute(f"SELECT count(*) AS n FROM {t}").fetchone()["n"])
                   for t in ("tickets", "events", "notes", "time_entries", "step_records",
                             "csat_responses"))
        desk.close()
        ours = sum(1 for s in seen if not s.startswith("--"))  # not SQLite's own
        segments = sum(1 for s in seen if "kb_fts_data" in s and "REPLACE" in s)
        return ours, segments, rows

    small, small_segments, small_rows = counted(2_000, tmp_path / "small")
    large, large_segments, large_rows = counted(4_000, tmp_path / "large")
    per_statement = BulkWriter.ROWS_PER_STATEMENT
    # Two more batches: each adds a short last statement per table and its own
    # bookkeeping (transaction, count of sample tickets, index, checkpoint): 25 at most.
    assert large - small <= (large_rows - small_rows) / per_statement + 2 * 25
    assert small < 2_000 / 4
    # Index pages written: a few per batch, not one segment per ticket.
    assert large_segments < 2_000 / 4 and small_segments < 1_000 / 4


def test_paths_under_helper_matches_home_layout(tmp_path: Path) -> None:
    assert paths_under(tmp_path) == resolve_paths({"DESKCLI_HOME": str(tmp_path)})
