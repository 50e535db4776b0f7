"""CLI speed against floors measured in the same run (issue 3, "Speed").

Run:  python benchmarks/bench_cli.py [--tickets 100000] [--runs 7]

Three measurements, each printed as medians and a ratio:

1. ``deskcli queue --format tsv`` against a floor script that runs the same SQL with the
   ``sqlite3`` module and prints the rows as TSV (target: at most 1.5x). Measured on the
   default open queue, on ``--all`` (every ticket) and on a backlog store where half the
   tickets are open.
2. ``deskcli new ...`` cold start against ``python -c "import sqlite3"`` (target: under 8x).
3. ``deskcli new --from -`` with 10,000 JSON Lines records: tickets per second.

Floor and command run alternately so drift in machine load hits both alike. Bytecode
caching is turned on for the children (as in a normal install) and unbuffered output off.
Nothing here is part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

FLOOR_QUEUE = r"""
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
cursor = db.execute(sys.argv[2])
write = sys.stdout.write
for row in cursor:
    write("\t".join(["" if v is None else str(v) for v in row]) + "\n")
"""


def child_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "NO_COLOR")}
    env.update(DESKCLI_HOME=str(home), DESKCLI_TECH="bench")
    return env


def deskcli_command() -> list[str]:
    """The installed console script if there is one (what users run), else ``-m``."""
    script = Path(sys.executable).with_name("deskcli")
    return [str(script)] if script.exists() else [sys.executable, "-m", "deskcli"]


def timed(cmd: Sequence[str], env: dict[str, str], stdin: bytes | None = None) -> float:
    started = time.perf_counter()
    done = subprocess.run(cmd, input=stdin, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, env=env, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}): "
                         f"{done.stderr.decode()[-500:]}")
    return elapsed


def compare(label: str, floor: Sequence[str], command: Sequence[str], env: dict[str, str],
            runs: int, target: float) -> float:
    for _ in range(2):  # warm the page cache and write bytecode caches
        timed(floor, env)
        timed(command, env)
    floors, commands = [], []
    for _ in range(runs):
        floors.append(timed(floor, env))
        commands.append(timed(command, env))
    f, c = statistics.median(floors), statistics.median(commands)
    ratio = c / f
    verdict = "ok" if ratio <= target else "OVER TARGET"
    print(f"{label:<44} floor {f * 1000:8.1f} ms  deskcli {c * 1000:8.1f} ms  "
          f"ratio {ratio:5.2f}x  (target <= {target}x: {verdict})")
    return ratio


def seed(home: Path, tickets: int, open_share: float | None) -> None:
    from deskcli.clock import new_id
    from deskcli.paths import Paths
    from deskcli.services import demo
    from deskcli.services.desk import open_desk

    started = time.perf_counter()
    with open_desk(Paths(home / "data", home / "config")) as desk:
        demo.seed(desk.store, count=tickets, now=desk.now(), policy=desk.config.sla,
                  new_id=new_id, open_share=open_share)
        open_count = desk.store.queue.count()
    print(f"seeded {tickets:,} tickets ({open_count:,} open) in "
          f"{time.perf_counter() - started:.1f} s")


def queue_sql(open_only: bool) -> str:
    """The statement ``store.queue.rows`` runs, for the floor to run verbatim."""
    from deskcli.storage.queue import Queue

    body, params = Queue.filter(open_only=open_only)
    for value in params:  # the open statuses: plain words, inlined for the floor script
        body = body.replace("?", repr(value), 1)
    return f"SELECT {Queue.COLUMNS} {body} ORDER BY {Queue.ORDER}"


def bench_queue(root: Path, tickets: int, runs: int) -> None:
    cli = deskcli_command()
    for name, share in (("history", None), ("backlog", 0.5)):
        home = root / name
        seed(home, tickets, share)
        env = child_env(home)
        db = str(home / "data" / "deskcli.db")
        for flag, open_only in (([], True), (["--all"], False)):
            floor = [sys.executable, "-c", FLOOR_QUEUE, db, queue_sql(open_only)]
            rows = sum(1 for _ in subprocess.run(
                [*cli, "queue", "--format", "tsv", "--no-header", *flag], env=env,
                capture_output=True, check=True).stdout.splitlines())
            compare(f"queue --format tsv {' '.join(flag)} ({name}, {rows:,} rows)".strip(),
                    floor, [*cli, "queue", "--format", "tsv", *flag], env, runs, 1.5)


def bench_new(root: Path, runs: int) -> None:
    home = root / "cold"
    env = child_env(home)
    cli = deskcli_command()
    command = [*cli, "new", "--summary", "Printer on 3rd floor shows offline",
               "--caller", "Ana Chen", "--email", "ana@example.com", "--priority", "P3"]
    compare("new (cold start)", [sys.executable, "-c", "import sqlite3"], command, env,
            runs, 8.0)


def bench_bulk(root: Path, records: int, runs: int) -> None:
    lines = []
    for i in range(records):
        lines.append(json.dumps({
            "summary": f"Monitoring alert {i}: disk space low on FS{i % 40:02d}",
            "caller": f"Caller {i % 300}", "email": f"caller{i % 300}@example.com",
            "client": ["Northwind Dental", "Harbor Logistics", "Atlas Engineering"][i % 3],
            "priority": f"P{1 + i % 4}", "channel": "monitoring", "category": "storage",
        }))
    payload = ("\n".join(lines) + "\n").encode()
    results = []
    for run in range(runs):
        home = root / f"bulk{run}"
        elapsed = timed([*deskcli_command(), "new", "--from", "-"], child_env(home), payload)
        results.append(elapsed)
    median = statistics.median(results)
    print(f"new --from - ({records:,} JSONL records)".ljust(44)
          + f"median {median:6.2f} s  = {records / median:,.0f} tickets/s "
          f"(best {records / min(results):,.0f}/s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--only", choices=("queue", "new", "bulk"))
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="deskcli-bench-"))
    try:
        if args.only in (None, "new"):
            bench_new(root, args.runs)
        if args.only in (None, "bulk"):
            bench_bulk(root, args.records, max(3, args.runs // 2))
        if args.only in (None, "queue"):
            bench_queue(root, args.tickets, args.runs)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
