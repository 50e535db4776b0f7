"""``deskcli report`` speed against a floor of hand-written SQL aggregates (issue 7).

Run:  python benchmarks/bench_report.py [--tickets 100000] [--runs 7]

Seeds a store with ``deskcli demo``'s generator (full timelines: replies, waits on the
caller, escalations, reopens, surveys and answers), then times
``deskcli report --since 365d --format tsv`` against a floor script that computes the
same figures in SQLite the most direct way: one grouped scan of the events for FRT,
resolution, pauses, FCR, escalations and reopens, one of the time entries, one of the
survey answers, and the recurring categories and error texts. The floor runs the same
kind of Python start-up (``python -c`` with ``sqlite3``) and prints its rows as TSV.
Target: at most 2x. Floor and command alternate so machine load hits both alike.

Peak memory (issue 20): each process's own peak resident size (``os.wait4``), deskcli's
against the floor's, with a ceiling of 150 MiB for deskcli. ``--store PATH`` measures an
existing store instead of seeding one (build a million-ticket store once and reuse it:
``DESKCLI_HOME=/tmp/x deskcli demo --tickets 1000000``, then ``--store /tmp/x``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench_cli import child_env, compare, deskcli_command, seed

FLOOR_REPORT = r"""
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
since, until = sys.argv[2], sys.argv[3]
write = sys.stdout.write
params = {"since": since, "until": until}
per_ticket = '''
WITH ev AS (
  SELECT e.ticket_id,
    min(CASE WHEN e.kind = 'public_reply' OR (e.kind = 'message_sent'
        AND json_extract(e.detail, '$.audience') = 'caller') THEN unixepoch(e.at) END) AS frt,
    min(CASE WHEN e.kind = 'resolved' THEN unixepoch(e.at) END) AS resolved,
    sum(CASE WHEN e.kind = 'status_changed' AND json_extract(e.detail, '$.to')
        = 'pending-caller' THEN -unixepoch(e.at) WHEN e.kind = 'status_changed'
        AND json_extract(e.detail, '$.from') = 'pending-caller' THEN unixepoch(e.at)
        ELSE 0 END) AS paused,
    max(e.kind = 'escalated') AS escalated,
    max(e.kind = 'reopened') AS reopened,
    sum(e.kind = 'public_reply') AS replies,
    max(e.kind = 'status_changed' AND json_extract(e.detail, '$.to') = 'pending-caller')
        AS waited,
    max(CASE WHEN e.kind = 'survey_sent' THEN unixepoch(e.at) END) AS survey
  FROM events e WHERE e.at < :until GROUP BY e.ticket_id),
tm AS (SELECT ticket_id, sum(minutes) AS minutes FROM time_entries WHERE at < :until
       GROUP BY ticket_id),
t AS (SELECT t.id, t.priority, unixepoch(t.created_at) AS created,
        CASE t.priority WHEN 'P1' THEN 900 WHEN 'P2' THEN 3600 WHEN 'P3' THEN 14400
          ELSE 28800 END AS response_target,
        CASE t.priority WHEN 'P1' THEN 14400 WHEN 'P2' THEN 28800 WHEN 'P3' THEN 86400
          ELSE 259200 END AS resolve_target
      FROM tickets t WHERE t.created_at >= :since AND t.created_at < :until)
SELECT count(*), count(ev.frt), avg(ev.frt - t.created),
  sum(ev.frt - t.created <= t.response_target),
  count(ev.resolved), avg(ev.resolved - t.created - ev.paused),
  sum(ev.resolved - t.created - ev.paused <= t.resolve_target),
  sum(ev.resolved IS NOT NULL AND ev.replies <= 1 AND NOT ev.waited AND NOT ev.escalated
      AND NOT ev.reopened),
  sum(ev.escalated), sum(ev.reopened), avg(tm.minutes), count(ev.survey)
FROM t LEFT JOIN ev ON ev.ticket_id = t.id LEFT JOIN tm ON tm.ticket_id = t.id
'''
queries = [
    per_ticket,
    "SELECT count(*), avg(score), avg(score >= 4) FROM csat_responses "
    "WHERE at >= :since AND at < :until",
    "SELECT category, count(*), group_concat('#' || number, ' ') FROM tickets "
    "WHERE created_at >= :since AND created_at < :until GROUP BY category "
    "HAVING count(*) >= 3 ORDER BY 2 DESC LIMIT 10",
    "SELECT upper(error_text), count(*), group_concat('#' || number, ' ') FROM tickets "
    "WHERE created_at >= :since AND created_at < :until AND error_text IS NOT NULL "
    "GROUP BY 1 HAVING count(*) >= 3 ORDER BY 2 DESC LIMIT 10",
]
for sql in queries:
    for row in db.execute(sql, params):
        write("\t".join("" if v is None else str(v) for v in row) + "\n")
"""


def window_bounds(home: Path) -> tuple[str, str]:
    """The window ``--since 365d`` resolves to, as the floor's two ISO bounds."""
    from datetime import UTC, datetime, timedelta

    from deskcli.domain.timefmt import to_iso

    now = datetime.now(UTC).replace(microsecond=0)
    del home
    return to_iso(now - timedelta(days=365)), to_iso(now + timedelta(minutes=10))


#: The ceiling for ``deskcli report --since 365d``'s peak memory at a million tickets.
MEMORY_TARGET_MIB = 150.0


def peak_mib(cmd: Sequence[str], env: dict[str, str]) -> float:
    """The peak resident memory of one run of ``cmd``, in MiB (this child's own,
    from ``wait4``; ``RUSAGE_CHILDREN`` would give the largest of every child so far)."""
    child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             env=env)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        error = child.stderr.read().decode()[-500:] if child.stderr else ""
        raise SystemExit(f"{' '.join(cmd)} failed ({child.returncode}): {error}")
    return usage.ru_maxrss / 1024  # KiB on Linux


def compare_memory(label: str, floor: Sequence[str], command: Sequence[str],
                   env: dict[str, str], runs: int) -> None:
    floors, commands = [], []
    for _ in range(runs):
        floors.append(peak_mib(floor, env))
        commands.append(peak_mib(command, env))
    f, c = statistics.median(floors), statistics.median(commands)
    verdict = "ok" if c <= MEMORY_TARGET_MIB else "OVER TARGET"
    print(f"{label:<44} floor {f:8.1f} MiB deskcli {c:8.1f} MiB ratio {c / f:5.2f}x  "
          f"(target <= {MEMORY_TARGET_MIB:.0f} MiB at 1M: {verdict})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--store", type=Path, default=None,
                        help="DESKCLI_HOME of an existing store to measure (not seeded)")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="deskcli-bench-report-"))
    try:
        home = args.store or root / "history"
        if args.store is None:
            seed(home, args.tickets, None)
        env = child_env(home)
        db = str(home / "data" / "deskcli.db")
        since, until = window_bounds(home)
        floor = [sys.executable, "-c", FLOOR_REPORT, db, since, until]
        command = [*deskcli_command(), "report", "--since", "365d", "--format", "tsv"]
        lines = subprocess.run(command, env=env, capture_output=True, check=True).stdout
        print(f"report: {len(lines.splitlines())} lines of output")
        compare_memory("report --since 365d (peak memory)", floor, command, env,
                       max(3, args.runs // 2))
        for by in (None, "priority", "week"):
            extra = ["--by", by] if by else []
            compare(f"report --since 365d {' '.join(extra)}".strip(), floor,
                    [*command, *extra], env, args.runs, 2.0)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
