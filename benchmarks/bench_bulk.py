"""Bulk work against floors measured in the same run (issues 19 and 20).

Run:  python benchmarks/bench_bulk.py [--records 10000] [--tickets 1000] [--runs 3]
      [--only import|actions]

1. ``deskcli new --from FILE`` with 10,000 JSON Lines records (every ticket, event, step
   record and sync op written in one transaction), against a floor that writes the very
   same rows (taken from a deskcli import) into a fresh store with one ``executemany``
   per table in one transaction, same pragmas; and against Taskwarrior's
   ``task import`` of the same 10,000 tasks when ``task`` is installed. Whole processes;
   tickets per second and ratios.
2. A bulk status change (``deskcli set - --status in-progress``), a bulk internal note
   (``deskcli note - --internal ...``), a bulk resolve (``deskcli resolve - ...``) and a
   bulk close (``deskcli close -``, on tickets made closable first: the checklist settled,
   time logged, resolved) on 1,000 tickets through the CLI, against the single-ticket
   path (the same command once per ticket, timed on a sample of tickets and reported per
   ticket): tickets per second and the speed-up.

Floor and command alternate so drift in machine load hits both alike; each run starts
from a copy of the same prepared store. The machine is shared and noisy: read the
ratios, not the absolute times. Nothing here is part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

#: Tables a ``new --from`` import writes, parents first.
IMPORTED = ("clients", "callers", "tickets", "events", "step_records", "outbox",
            "field_versions", "number_leases")

FLOOR_IMPORT = r"""
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA journal_mode=WAL"); db.execute("PRAGMA synchronous=FULL")
db.execute("PRAGMA foreign_keys=ON")
tables = json.load(open(sys.argv[2]))
db.execute("BEGIN IMMEDIATE")
for table, (columns, rows) in tables.items():
    names = ", ".join('"' + c + '"' for c in columns)
    marks = ", ".join("?" for _ in columns)
    db.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)
db.execute("COMMIT")
"""


def child_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "NO_COLOR")}
    env.update(DESKCLI_HOME=str(home), DESKCLI_TECH="bench")
    return env


def deskcli() -> list[str]:
    script = Path(sys.executable).with_name("deskcli")
    return [str(script)] if script.exists() else [sys.executable, "-m", "deskcli"]


#: CPU seconds (user + system) of the last ``timed`` child: on a shared machine the wall
#: time also counts waiting for the CPU and the disk, the CPU time does not.
last_cpu = 0.0


def timed(cmd: Sequence[str], env: dict[str, str] | None = None,
          stdin: bytes | None = None) -> float:
    global last_cpu
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(cmd, input=stdin, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, env=env, check=False)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    last_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}): "
                         f"{done.stderr.decode()[-500:]}")
    return elapsed


def records(n: int) -> list[dict[str, object]]:
    rng = random.Random(19)
    clients = ["Acme", "Globex", "Initech", "Umbrella", "Hooli"]
    out = []
    for i in range(n):
        client = rng.choice(clients)
        out.append({"summary": f"Monitoring alert {i}: disk almost full on srv-{i % 300}",
                    "caller": f"User {i % 700}", "email": f"user{i % 700}@{client.lower()}.test",
                    "client": client, "priority": rng.choice(["P2", "P3", "P4"]),
                    "channel": "monitoring", "category": "storage",
                    "asset": f"SRV-{i % 300:04d}"})
    return out


def fresh_home(base: Path, name: str, template: Path | None = None) -> Path:
    home = base / name
    shutil.rmtree(home, ignore_errors=True)
    (home / "data").mkdir(parents=True)
    if template is not None:
        shutil.copy(template, home / "data" / "deskcli.db")
    return home


def dump_rows(db_path: Path, out: Path) -> None:
    """The rows an import wrote, as the floor will write them."""
    db = sqlite3.connect(db_path)
    tables = {}
    for table in IMPORTED:
        cursor = db.execute(f"SELECT * FROM {table}")
        columns = [c[0] for c in cursor.description]
        if table == "outbox":  # seq is the database's own counter
            keep = [i for i, c in enumerate(columns) if c != "seq"]
            tables[table] = ([columns[i] for i in keep],
                             [[row[i] for i in keep] for row in cursor])
        else:
            tables[table] = (columns, [list(row) for row in cursor])
    out.write_text(json.dumps(tables))
    db.close()


def taskwarrior_file(n: int, path: Path) -> None:
    with path.open("w") as handle:
        for i, record in enumerate(records(n)):
            handle.write(json.dumps({
                "description": record["summary"], "status": "pending",
                "entry": "20261124T090000Z", "project": str(record["client"]).lower(),
                "priority": {"P2": "H", "P3": "M", "P4": "L"}[str(record["priority"])],
                "tags": ["monitoring", "storage"],
                "uuid": f"00000000-0000-4000-8000-{i:012d}"}) + "\n")


def taskwarrior_import(base: Path, source: Path) -> float:
    data = base / "taskdata"
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir()
    rc = base / "taskrc"
    rc.write_text(f"data.location={data}\nconfirmation=off\nverbose=nothing\n"
                  "hooks=off\nrecurrence=off\n")
    env = {**os.environ, "TASKRC": str(rc), "TASKDATA": str(data)}
    return timed(["task", "rc.confirmation=off", "import", str(source)], env)


def bench_import(base: Path, n: int, runs: int) -> None:
    source = base / "import.jsonl"
    source.write_text("\n".join(json.dumps(r) for r in records(n)) + "\n")
    empty = fresh_home(base, "empty")
    subprocess.run([*deskcli(), "queue"], env=child_env(empty), check=True,
                   stdout=subprocess.DEVNULL)  # an empty, migrated store
    template = empty / "data" / "deskcli.db"
    probe = fresh_home(base, "probe", template)
    timed([*deskcli(), "new", "--from", str(source)], child_env(probe))
    rows = base / "rows.json"
    dump_rows(probe / "data" / "deskcli.db", rows)
    counts = {t: len(r[1]) for t, r in json.loads(rows.read_text()).items()}
    floor_script = base / "floor_import.py"
    floor_script.write_text(FLOOR_IMPORT)
    has_task = shutil.which("task") is not None
    task_source = base / "tasks.json"
    if has_task:
        taskwarrior_file(n, task_source)
    deskcli_times, floor_times, task_times = [], [], []
    cpu: dict[str, list[float]] = {"deskcli": [], "floor": [], "task": []}
    for run in range(runs + 1):  # the first round warms caches and is not counted
        home = fresh_home(base, "run", template)
        took = timed([*deskcli(), "new", "--from", str(source)], child_env(home))
        took_cpu = last_cpu
        floor_home = fresh_home(base, "floor", template)
        floor_took = timed([sys.executable, str(floor_script),
                            str(floor_home / "data" / "deskcli.db"), str(rows)])
        floor_cpu = last_cpu
        task_took = taskwarrior_import(base, task_source) if has_task else None
        if run:
            deskcli_times.append(took)
            floor_times.append(floor_took)
            cpu["deskcli"].append(took_cpu)
            cpu["floor"].append(floor_cpu)
            if task_took is not None:
                task_times.append(task_took)
                cpu["task"].append(last_cpu)
    d, f = statistics.median(deskcli_times), statistics.median(floor_times)
    dc, fc = statistics.median(cpu["deskcli"]), statistics.median(cpu["floor"])
    print(f"import of {n:,} JSONL records ({sum(counts.values()):,} rows: "
          + ", ".join(f"{t} {c:,}" for t, c in counts.items()) + ")")
    print("  (wall seconds, then CPU seconds of the process)")
    print(f"  floor: executemany of the same rows    {f:7.2f} s  {n / f:9,.0f} tickets/s"
          f"   cpu {fc:6.2f} s = {n / fc:9,.0f}/s")
    print(f"  deskcli new --from                      {d:7.2f} s  {n / d:9,.0f} tickets/s"
          f"   cpu {dc:6.2f} s = {n / dc:9,.0f}/s   {d / f:5.2f}x the floor "
          f"({dc / fc:4.2f}x in CPU)")
    if task_times:
        t, tc = statistics.median(task_times), statistics.median(cpu["task"])
        print(f"  taskwarrior task import                 {t:7.2f} s  {n / t:9,.0f} tasks/s  "
              f"   cpu {tc:6.2f} s = {n / tc:9,.0f}/s   deskcli {d / t:5.2f}x taskwarrior "
              f"({dc / tc:4.2f}x in CPU; target <= 2x)")
    else:
        print("  taskwarrior not installed: no comparison")


#: The resolution every bulk resolve gives (specific enough for the resolution rule).
RESOLUTION = ["--root-cause", "log rotation was off on the host",
              "--resolution", "Cleared /var/log on the host and turned daily log rotation "
              "on; KB 4567", "--no-children"]

#: Commands (references on stdin) that make every imported ticket closable: the Tier 1
#: checklist's steps before close settled (the scope decided, the rest skipped with a
#: reason), time logged, resolved.
CLOSABLE = [
    ["step", "-", "scope_decision", "-v", "decision=tier1", "-v",
     "reason=disk clean-up is a Tier 1 fix"],
    *[["step", "-", key, "--skip", "monitoring alert: handled by the clean-up"]
      for key in ("capture_issue", "open_ticket", "record_errors", "check_changes",
                  "reproduce", "search_kb", "apply_fix", "update_kb")],
    ["log-time", "-", "15m"],
    ["resolve", "-", *RESOLUTION],
]


def bench_actions(base: Path, n: int, runs: int, sample: int) -> None:
    source = base / "actions.jsonl"
    source.write_text("\n".join(json.dumps(r) for r in records(n)) + "\n")
    empty = fresh_home(base, "empty-actions")
    subprocess.run([*deskcli(), "queue"], env=child_env(empty), check=True,
                   stdout=subprocess.DEVNULL)
    prepared = fresh_home(base, "prepared", empty / "data" / "deskcli.db")
    subprocess.run([*deskcli(), "new", "--from", str(source)], env=child_env(prepared),
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    template = prepared / "data" / "deskcli.db"
    numbers = [str(1001 + i) for i in range(n)]
    refs = ("\n".join(numbers) + "\n").encode()
    closable = fresh_home(base, "closable", template)
    for args in CLOSABLE:  # not timed: makes every ticket closable
        subprocess.run([*deskcli(), *args], env=child_env(closable), input=refs,
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    templates = {"close": closable / "data" / "deskcli.db"}
    actions = {
        "status change": (["set", "-", "--status", "in-progress"],
                          lambda ref: ["set", ref, "--status", "in-progress"]),
        "internal note": (["note", "-", "--internal", "Patched srv storage, watching it"],
                          lambda ref: ["note", ref, "--internal",
                                       "Patched srv storage, watching it"]),
        "resolve": (["resolve", "-", *RESOLUTION],
                    lambda ref: ["resolve", ref, *RESOLUTION]),
        "close": (["close", "-"], lambda ref: ["close", ref]),
    }
    print(f"bulk actions on {n:,} tickets through the CLI "
          f"(single path timed on {sample} tickets)")
    for label, (bulk_args, single_args) in actions.items():
        bulk_times, single_times, bulk_cpu = [], [], []
        source_db = templates.get(label, template)
        for run in range(runs + 1):
            home = fresh_home(base, "bulk", source_db)
            took = timed([*deskcli(), *bulk_args], child_env(home), stdin=refs)
            took_cpu = last_cpu
            home = fresh_home(base, "single", source_db)
            env = child_env(home)
            singles = [timed([*deskcli(), *single_args(ref)], env)
                       for ref in numbers[:sample]]
            if run:
                bulk_times.append(took)
                bulk_cpu.append(took_cpu)
                single_times.append(statistics.median(singles))
        b, s = statistics.median(bulk_times), statistics.median(single_times)
        print(f"  {label:<14} bulk {b:6.2f} s = {n / b:8,.0f} tickets/s "
              f"(cpu {statistics.median(bulk_cpu):5.2f} s);  single path "
              f"{s * 1000:6.1f} ms/ticket = {1 / s:6,.1f} tickets/s;  bulk {s * n / b:6.1f}x "
              "faster")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--tickets", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sample", type=int, default=10)
    parser.add_argument("--only", choices=("import", "actions"), default=None,
                        help="run one section (the bulk actions at 10,000 tickets: "
                             "--only actions --tickets 10000)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-bulk-") as tmp:
        base = Path(tmp)
        if args.only != "actions":
            bench_import(base, args.records, args.runs)
        if args.only != "import":
            bench_actions(base, args.tickets, args.runs, args.sample)


if __name__ == "__main__":
    main()
