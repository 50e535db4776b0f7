"""Short commands against floors that do the same work the plainest way (issue 20).

Run:  python benchmarks/bench_cli.py [--tickets 100000] [--runs 7]
      python benchmarks/bench_cli.py --store /tmp/desk-1m [--only queue,show]

Each measurement is a whole process, floor and command alternating in the same run (after
two unmeasured rounds that warm the page cache and write bytecode caches), medians and
their ratio printed. A floor is written by hand with the ``sqlite3`` module and an
index-friendly query: it does not run deskcli's own SQL, so a bad plan in deskcli shows
as a ratio instead of hiding in both.

* ``queue``: the default open queue as TSV. Floor: ``status IN (open statuses)`` (the
  status index), the same columns joined and sorted the same way, printed as TSV.
* ``show N``: one ticket with its steps and timeline. Floor: the ticket by number (its
  unique index), its events (``events_by_ticket``) with note bodies, its step records
  named from the checklist definition (``tier1.toml`` read with ``tomllib``, as the
  command must), and the "seen before" lookup of its error codes (the KB statements
  deskcli runs for it, captured once and replayed, as for ``kb search``).
* ``note N``: an internal note. Floor: the rows deskcli writes for it, in one
  transaction: the note, its timeline event and a sync op (JSON) for each.
* ``new``: a ticket from flags, cold start. Floors: ``python -c "import sqlite3"`` (the
  issue's bar) and a script writing the rows deskcli writes for it: the caller found by
  email, the ticket, two events, a step record, a field version and four sync ops.
* ``kb search``: the same FTS5 ranking statements ``KbService.search`` runs, captured
  from a traced run and replayed through a bare connection in a fresh process.
* ``--all`` queue and bulk ``new --from -`` (tickets per second) as before.

Target (issue 20): every short command at most 3x its floor, at 10k, 100k and 1M tickets.
Nothing here is part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
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

OPEN = ("new", "open", "in-progress", "pending-caller", "pending-third-party", "escalated")

FLOOR_QUEUE = r"""
import sqlite3, sys
from datetime import datetime, timezone
db = sqlite3.connect(sys.argv[1])
opens = ("new", "open", "in-progress", "pending-caller", "pending-third-party", "escalated")
now_dt = datetime.now(timezone.utc).replace(microsecond=0)
now = now_dt.strftime("%Y-%m-%dT%H:%M:%SZ")
now_ts = int(now_dt.timestamp())
rows = db.execute(
    "SELECT t.id, t.number, t.priority, t.status, t.urgency_due, k.name, c.name, t.assignee, "
    "t.summary, t.sla_paused_since, t.response_due, t.response_risk_at, t.first_response_at, "
    "t.resolve_due, t.resolve_risk_at FROM tickets t "
    "LEFT JOIN callers c ON c.id = t.caller_id "
    "LEFT JOIN clients k ON k.id = t.client_id WHERE t.status IN (?, ?, ?, ?, ?, ?) "
    "ORDER BY CASE WHEN t.priority = 'P1' AND t.first_response_at IS NULL THEN 0 "
    "WHEN t.urgency_due IS NULL THEN 2 ELSE 1 END, t.urgency_due, t.priority, t.number",
    opens).fetchall()
tags = {}
for at in range(0, len(rows), 500):
    ids = [r[0] for r in rows[at:at + 500]]
    for ticket, tag in db.execute(
            "SELECT ticket_id, tag FROM ticket_tags WHERE ticket_id IN (%s) ORDER BY "
            "ticket_id, tag" % ",".join("?" * len(ids)), ids):
        tags.setdefault(ticket, []).append(tag)


def state(paused, rd, rr, fr, sd, sr):
    worst = "ok"
    if fr is None:
        if rd <= now:
            return "breached"
        if rr <= now:
            worst = "at-risk"
    if paused is not None:
        return "paused" if worst == "ok" else worst
    if sd <= now:
        return "breached"
    if sr <= now:
        return "at-risk"
    return worst


def left(due):
    if due is None:
        return ""
    s = int(datetime.fromisoformat(due).timestamp()) - now_ts
    sign = "-" if s < 0 else ""
    d, rest = divmod(abs(s), 86400)
    h, rest = divmod(rest, 3600)
    if d:
        return f"{sign}{d}d{h}h"
    if h:
        return f"{sign}{h}h{rest // 60:02d}m"
    return f"{sign}{rest // 60}m"


out = ["number\tpriority\tstatus\tsla_state\ttime_left\tclient\tcaller\tassignee\t"
       "summary\ttags\n"]
for (tid, number, pri, status, due, client, caller, who, summary, paused, rd, rr, fr, sd,
     sr) in rows:
    out.append("\t".join(["" if v is None else str(v) for v in (
        number, pri, status, state(paused, rd, rr, fr, sd, sr), left(due), client, caller,
        who, summary, " ".join(tags.get(tid, ())))]) + "\n")
sys.stdout.write("".join(out))
"""

FLOOR_SHOW = r"""
import json, sqlite3, sys, tomllib
db = sqlite3.connect(sys.argv[1])
# The checklist definition names each step (what deskcli show prints for a step record).
checklist = tomllib.loads(open(sys.argv[3], encoding="utf-8").read())
titles = {step["key"]: step["title"] for phase in checklist["phase"]
          for step in phase.get("step", [])}
db.row_factory = sqlite3.Row
t = db.execute("SELECT t.*, c.name AS caller, k.name AS client FROM tickets t "
               "LEFT JOIN callers c ON c.id = t.caller_id "
               "LEFT JOIN clients k ON k.id = t.client_id WHERE t.number = ?",
               (int(sys.argv[2]),)).fetchone()
print(f"#{t['number']} {t['priority']} {t['status']} {t['summary']}")
print(f"caller {t['caller']}  client {t['client']}  owner {t['assignee']}")
for r in db.execute("SELECT step, data FROM step_records WHERE ticket_id = ? ORDER BY at",
                    (t["id"],)):
    print(titles.get(r["step"], r["step"]), json.loads(r["data"]))
for e in db.execute("SELECT e.at, e.actor, e.summary, n.body FROM events e LEFT JOIN notes n "
                    "ON n.id = json_extract(e.detail, '$.note_id') WHERE e.ticket_id = ? "
                    "ORDER BY e.at, e.rowid", (t["id"],)):
    print(e["at"], e["actor"], e["summary"], e["body"] or "")
# "Seen before": the KB statements deskcli runs for this ticket's error codes, replayed.
for sql, params in json.loads(open(sys.argv[4]).read()):
    rows = db.execute(sql, params).fetchall()
    print(len(rows))
"""

FLOOR_NOTE = r"""
import json, sqlite3, sys, time, uuid
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA busy_timeout = 5000")
db.execute("BEGIN IMMEDIATE")
tid = db.execute("SELECT id FROM tickets WHERE number = ?", (int(sys.argv[2]),)).fetchone()[0]
now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
note, event = str(uuid.uuid4()), str(uuid.uuid4())
# What deskcli writes for an internal note: the note, its event, and a sync op for each.
db.execute("INSERT INTO floor_notes VALUES (?, ?, ?, ?)", (note, tid, now, sys.argv[3]))
db.execute("INSERT INTO floor_events VALUES (?, ?, ?, ?)", (event, tid, now,
                                                            "internal note added"))
for entity, row in (("note", {"id": note, "ticket_id": tid, "at": now, "body": sys.argv[3]}),
                    ("event", {"id": event, "ticket_id": tid, "at": now,
                               "summary": "internal note added"})):
    db.execute("INSERT INTO floor_outbox VALUES (?, ?, ?, ?)",
               (str(uuid.uuid4()), tid, now, json.dumps({"entity": entity, **row})))
db.execute("COMMIT")
print(f"#{sys.argv[2]}: internal note added")
"""

FLOOR_NEW = r"""
import json, sqlite3, sys, time, uuid
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA busy_timeout = 5000")
db.execute("BEGIN IMMEDIATE")
# What deskcli writes for a ticket from flags, caller known by email: the ticket, two
# events (opened; priority step done), a step record, a field version, four sync ops.
caller = db.execute("SELECT id FROM callers WHERE email = ?", (sys.argv[3],)).fetchone()
n = (db.execute("SELECT max(number) FROM floor_tickets").fetchone()[0] or 0) + 1
now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
tid = str(uuid.uuid4())
ticket = {"id": tid, "number": n, "priority": "P3", "at": now, "summary": sys.argv[2],
          "caller_id": caller[0] if caller else None}
db.execute("INSERT INTO floor_tickets VALUES (?, ?, ?, ?, ?)", (tid, n, "P3", now, sys.argv[2]))
ops = [("ticket", ticket)]
for summary in ("created", "Step done: Set the priority and SLA"):
    event = {"id": str(uuid.uuid4()), "ticket_id": tid, "at": now, "summary": summary}
    db.execute("INSERT INTO floor_events VALUES (?, ?, ?, ?)", tuple(event.values()))
    ops.append(("event", event))
step = {"id": str(uuid.uuid4()), "ticket_id": tid, "at": now,
        "data": json.dumps({"priority": "P3"})}
db.execute("INSERT INTO floor_step_records VALUES (?, ?, ?, ?)", tuple(step.values()))
ops.append(("step_record", step))
db.execute("INSERT OR REPLACE INTO floor_field_versions VALUES (?, ?, ?, ?)",
           ("ticket", tid, "priority", now))
for entity, row in ops:
    db.execute("INSERT INTO floor_outbox VALUES (?, ?, ?, ?)",
               (str(uuid.uuid4()), tid, now, json.dumps({"entity": entity, **row})))
db.execute("COMMIT")
print(f"#{n}")
"""

FLOOR_TABLES = """
CREATE TABLE IF NOT EXISTS floor_notes (id TEXT PRIMARY KEY, ticket_id TEXT, at TEXT, body TEXT);
CREATE TABLE IF NOT EXISTS floor_events (id TEXT PRIMARY KEY, ticket_id TEXT, at TEXT,
                                         summary TEXT);
CREATE TABLE IF NOT EXISTS floor_outbox (id TEXT PRIMARY KEY, ticket_id TEXT, at TEXT,
                                         payload TEXT);
CREATE TABLE IF NOT EXISTS floor_tickets (id TEXT PRIMARY KEY, number INTEGER UNIQUE,
                                          priority TEXT, at TEXT, summary TEXT);
CREATE TABLE IF NOT EXISTS floor_step_records (id TEXT PRIMARY KEY, ticket_id TEXT, at TEXT,
                                               data TEXT);
CREATE TABLE IF NOT EXISTS floor_field_versions (entity TEXT, entity_id TEXT, field TEXT,
                                                 hlc TEXT, PRIMARY KEY (entity, entity_id,
                                                                        field));
"""

FLOOR_KB = r"""
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for sql, params in json.loads(open(sys.argv[2]).read()):
    rows = db.execute(sql, params).fetchall()
for row in rows:
    print("\t".join(str(v) for v in row))
"""


def child_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "NO_COLOR")}
    env.update(DESKCLI_HOME=str(home), DESKCLI_TECH="bench")
    return env


def deskcli_command() -> list[str]:
    """``python -m deskcli`` with this interpreter, so a checkout on PYTHONPATH is what
    runs (the installed console script may point elsewhere)."""
    return [sys.executable, "-m", "deskcli"]


#: CPU seconds (user + system) of the last process ``timed`` ran: on a shared machine
#: wall time is mostly waiting for a core, so both are reported.
last_cpu = 0.0


def timed(cmd: Sequence[str], env: dict[str, str], stdin: bytes | None = None) -> float:
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


def compare(label: str, floor: Sequence[str], command: Sequence[str], env: dict[str, str],
            runs: int, target: float) -> float:
    for _ in range(2):  # warm the page cache and write bytecode caches
        timed(floor, env)
        timed(command, env)
    floors, commands, floor_cpu, command_cpu = [], [], [], []
    for _ in range(runs):
        floors.append(timed(floor, env))
        floor_cpu.append(last_cpu)
        commands.append(timed(command, env))
        command_cpu.append(last_cpu)
    f, c = statistics.median(floors), statistics.median(commands)
    fc, cc = statistics.median(floor_cpu), statistics.median(command_cpu)
    ratio = c / f
    verdict = "ok" if ratio <= target else "OVER TARGET"
    print(f"{label:<46} floor {f * 1000:8.1f} ms  deskcli {c * 1000:8.1f} ms  "
          f"ratio {ratio:5.2f}x  (target <= {target}x: {verdict}); CPU {fc * 1000:.1f} / "
          f"{cc * 1000:.1f} ms = {cc / fc:.2f}x; load {os.getloadavg()[0]:.1f}", flush=True)
    return ratio


def seed(home: Path, tickets: int, open_share: float | None) -> None:
    from deskcli.clock import new_id
    from deskcli.paths import Paths
    from deskcli.services import demo
    from deskcli.services.desk import open_desk

    started = time.perf_counter()
    with open_desk(Paths(home / "data", home / "config")) as desk:
        if desk.store.tickets.count() == 0:
            demo.seed(desk.store, count=tickets, now=desk.now(), policy=desk.config.sla,
                      new_id=new_id, open_share=open_share)
        open_count = desk.store.queue.count()
        total = desk.store.tickets.count()
    print(f"store {home}: {total:,} tickets ({open_count:,} open), ready in "
          f"{time.perf_counter() - started:.1f} s", flush=True)


def database(home: Path) -> str:
    return str(home / "data" / "deskcli.db")


def a_ticket(home: Path) -> int:
    """A ticket in the middle of the store, with a timeline."""
    db = sqlite3.connect(database(home))
    count = db.execute("SELECT count(*) FROM tickets").fetchone()[0]
    number = db.execute("SELECT number FROM tickets WHERE number IS NOT NULL "
                        "ORDER BY number LIMIT 1 OFFSET ?", (count // 2,)).fetchone()[0]
    db.close()
    return int(number)


def floor_copy(home: Path, root: Path) -> str:
    """A copy of the store for the writing floors: they add tables of their own, and
    deskcli's store is left exactly as deskcli wrote it."""
    target = root / "floor.db"
    if not target.exists():
        source = sqlite3.connect(database(home))
        copy = sqlite3.connect(target)
        source.backup(copy)
        source.close()
        copy.executescript(FLOOR_TABLES)
        copy.close()
    return str(target)


def kb_statements(home: Path, query: str, path: Path, *, seen_before: int | None = None
                  ) -> None:
    """Run ``KbService.search`` (or, with ``seen_before``, the "seen before" lookup of
    that ticket) once with a trace and keep the statements it ran."""
    from deskcli.paths import Paths
    from deskcli.services.desk import open_desk
    from deskcli.services.kb import KbService

    ran: list[str] = []
    with open_desk(Paths(home / "data", home / "config")) as desk:
        service = KbService.for_desk(desk)
        ticket = desk.store.tickets.by_number(seen_before) if seen_before else None
        desk.store.db.set_trace_callback(ran.append)
        if ticket is not None:
            service.seen_before(ticket)
        else:
            service.search(query)
        desk.store.db.set_trace_callback(None)
    statements = [[sql, []] for sql in ran if sql.lstrip().upper().startswith(("SELECT",
                                                                                "WITH"))]
    path.write_text(json.dumps(statements))


def bench_short(home: Path, root: Path, runs: int, only: set[str],
                ticket: int | None = None) -> None:
    cli = deskcli_command()
    env = child_env(home)
    db = database(home)
    number = ticket or a_ticket(home)
    if "queue" in only:
        compare("queue --format tsv (default open queue)",
                [sys.executable, "-c", FLOOR_QUEUE, db],
                [*cli, "queue", "--format", "tsv"], env, runs, 3.0)
    if "show" in only:
        from deskcli import checklists

        seen = root / "seen.json"
        kb_statements(home, "", seen, seen_before=number)
        tier1 = str(Path(checklists.__file__).with_name("tier1.toml"))
        compare(f"show {number}", [sys.executable, "-c", FLOOR_SHOW, db, str(number), tier1,
                                   str(seen)],
                [*cli, "show", str(number)], env, runs, 3.0)
    if "note" in only:
        copy = floor_copy(home, root)
        compare(f"note {number} (internal)",
                [sys.executable, "-c", FLOOR_NOTE, copy, str(number), "checked the logs"],
                [*cli, "note", str(number), "checked the logs", "--internal"], env, runs, 3.0)
    if "new" in only:
        copy = floor_copy(home, root)
        new = [*cli, "new", "--summary", "Printer on 3rd floor shows offline",
               "--caller", "Ana Chen", "--email", "ana@example.com", "--priority", "P3"]
        compare("new (vs python -c 'import sqlite3')",
                [sys.executable, "-c", "import sqlite3"], new, env, runs, 8.0)
        compare("new (vs a script inserting a ticket)",
                [sys.executable, "-c", FLOOR_NEW, copy, "Printer offline",
                 "ana@example.com"], new, env, runs, 3.0)
    if "kb" in only:
        statements = root / "kb.json"
        kb_statements(home, "0x8004010F outlook", statements)
        compare("kb search '0x8004010F outlook'",
                [sys.executable, "-c", FLOOR_KB, db, str(statements)],
                [*cli, "kb", "search", "0x8004010F outlook"], env, runs, 3.0)


def bench_new_bulk(root: Path, records: int, runs: int) -> None:
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
    print(f"new --from - ({records:,} JSONL records)".ljust(46)
          + f"median {median:6.2f} s  = {records / median:,.0f} tickets/s "
          f"(best {records / min(results):,.0f}/s)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--store", type=Path,
                        help="a DESKCLI_HOME to reuse (seeded with --tickets if empty)")
    parser.add_argument("--ticket", type=int,
                        help="the ticket number for show and note (default: the middle "
                        "one; pin it to compare runs, since note and new add tickets)")
    parser.add_argument("--only", default="queue,show,note,new,kb",
                        help="comma list of: queue, show, note, new, kb, bulk")
    args = parser.parse_args()
    only = set(args.only.split(","))
    root = Path(tempfile.mkdtemp(prefix="deskcli-bench-"))
    try:
        home = args.store or root / "store"
        seed(home, args.tickets, None)
        bench_short(home, root, max(args.runs, 5), only, args.ticket)
        if "bulk" in only:
            bench_new_bulk(root, args.records, max(3, args.runs // 2))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
