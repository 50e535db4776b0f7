"""Rules speed (issue 18): the time-based pass, and what event rules add to ``deskcli new``.

Run:  python benchmarks/bench_rules.py [--tickets 100000] [--runs 7] [--keep DIR]

1. A time-based pass over a store of ``--tickets`` sample tickets (``deskcli demo``'s
   generator: a real desk's history with a few hundred open) with 50 rules (20 on create,
   10 on update, 20 on schedule), against a floor of the plain SQL that selects each
   schedule rule's candidate tickets (the same WHERE clauses, ids only, through the same
   connection). Measured in-process, alternating floor and pass: a dry run (everything
   evaluated, nothing written) and the steady pass that follows a first real pass (the
   episodes are recorded, so nothing fires again: what cron runs every few minutes).
   Target: at most 3x the floor. The first real pass, which does the firing, is reported
   with its number of firings.
2. ``deskcli new`` in a store with those 50 rules against ``deskcli new`` in the same kind
   of store without a rules file. Target: at most 1.2x (event rules add at most 20%).

``--keep DIR`` builds the store there once and reuses it (a 100,000-ticket store takes a
while to build); without it everything lives in a temporary folder removed at the end.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bench_cli import child_env, compare, deskcli_command

WORDS = ["refund", "invoice", "password", "vpn", "printer", "outlook", "teams", "laptop",
         "wifi", "license", "mfa", "excel", "sharepoint", "onedrive", "phone", "badge",
         "monitor", "dock", "payroll", "backup"]
CATEGORIES = ["network", "email", "hardware", "access", "software"]


def rules_text() -> str:
    """50 rules a large desk could plausibly have."""
    rules: list[str] = []
    for n, word in enumerate(WORDS):  # 20 routing rules
        rules.append(f'[[rule]]\nname = "route {word}"\non = "create"\n'
                     f'if = {{ text_has = ["{word}", "{word}s"] }}\n'
                     f'then = {{ queue = "{CATEGORIES[n % 5]}-desk", category = '
                     f'"{CATEGORIES[n % 5]}" }}\n')
    for n in range(10):  # 10 update rules
        rules.append(f'[[rule]]\nname = "update {n}"\non = "update"\n'
                     f'if = {{ priority = ["P1"], category = ["{CATEGORIES[n % 5]}"] }}\n'
                     f'then = {{ queue = "major-{CATEGORIES[n % 5]}" }}\n')
    schedule = [
        'if = { status = ["new", "open"], priority = ["P1", "P2"], idle = "2h" }\n'
        'then = { note = "Untouched for two hours." }',
        'if = { status = ["pending-caller"], waiting = "3d" }\nthen = { note = "Nudge." }',
        'if = { status = ["resolved"], priority = ["P1"], waiting = "5d" }\n'
        'then = { close = true }',
        'if = { status = ["new", "open", "in-progress"], sla = ["breached"] }\n'
        'then = { note = "SLA breached." }',
        'if = { status = ["new", "open", "in-progress"], sla = ["at-risk"] }\n'
        'then = { note = "SLA at risk." }',
        'if = { status = ["escalated"], idle = "1d" }\nthen = { note = "Escalated, idle." }',
        'if = { status = ["in-progress"], silent = "1d" }\nthen = { note = "Silent a day." }',
        'if = { status = ["new"], age = "1h", business_hours = true }\n'
        'then = { priority = "P3" }',
        'if = { status = ["pending-third-party"], waiting = "2d", idle = "2d" }\n'
        'then = { note = "Chase the vendor." }',
        'if = { status = ["open"], text_has = ["outage", "down"], idle = "30m" }\n'
        'then = { priority = "P2" }',
    ]
    for n in range(20):  # 20 schedule rules (each condition twice, on other categories)
        body = schedule[n % len(schedule)]
        if n >= len(schedule):
            body = body.replace("if = { ", f'if = {{ category = ["{CATEGORIES[n % 5]}"], ', 1)
        rules.append(f'[[rule]]\nname = "schedule {n}"\non = "schedule"\n{body}\n')
    return "\n".join(rules)


def build(home: Path, tickets: int) -> None:
    from deskcli.clock import new_id
    from deskcli.paths import Paths
    from deskcli.services import demo
    from deskcli.services.desk import open_desk

    marker = home / "seeded"
    if marker.exists() and marker.read_text() == str(tickets):
        return
    shutil.rmtree(home, ignore_errors=True)
    started = time.perf_counter()
    with open_desk(Paths(home / "data", home / "config")) as desk:
        demo.seed(desk.store, count=tickets, now=desk.now(), policy=desk.config.sla,
                  new_id=new_id)
        open_count = desk.store.queue.count()
    marker.write_text(str(tickets))
    print(f"seeded {tickets:,} tickets ({open_count:,} open) in "
          f"{time.perf_counter() - started:.1f} s")


def bench_pass(home: Path, runs: int) -> float:
    from deskcli.paths import Paths
    from deskcli.services.desk import open_desk

    (home / "config").mkdir(parents=True, exist_ok=True)
    (home / "config" / "rules.toml").write_text(rules_text())
    desk = open_desk(Paths(home / "data", home / "config"))
    runner = desk.rules
    assert runner is not None
    # An hour on: the demo's open tickets have waits that run out.
    now = desk.now() + timedelta(hours=1)
    rules = runner.ruleset.for_event("schedule")

    def floor() -> int:
        return sum(len(runner.ledger.candidate_ids(runner.query_for(rule, now)))
                   for rule in rules)

    def dry() -> int:
        return len(runner.run_schedule(now, dry_run=True))

    def steady() -> int:
        return len(runner.run_schedule(now))

    def measure(label: str, work: object) -> float:
        assert callable(work)
        floor(), work()
        floors, passes = [], []
        for _ in range(runs):
            started = time.perf_counter()
            candidates = floor()
            floors.append(time.perf_counter() - started)
            started = time.perf_counter()
            work()
            passes.append(time.perf_counter() - started)
        f, p = statistics.median(floors), statistics.median(passes)
        ratio = p / f
        verdict = "ok" if ratio <= 3.0 else "OVER TARGET"
        print(f"{label:<44} floor {f * 1000:8.1f} ms  deskcli {p * 1000:8.1f} ms  "
              f"ratio {ratio:5.2f}x  (target <= 3x: {verdict}; {candidates:,} candidates)")
        return ratio

    worst = measure("time-based pass, dry run (50 rules)", dry)
    started = time.perf_counter()
    fired = len(runner.run_schedule(now))
    print(f"first real pass: {fired:,} firings in {time.perf_counter() - started:.2f} s")
    worst = max(worst, measure("time-based pass, steady (50 rules)", steady))
    desk.close()
    return worst


def bench_new(root: Path, runs: int) -> float:
    cli = deskcli_command()
    command = [*cli, "new", "--summary", "Printer on 3rd floor shows offline",
               "--caller", "Ana Chen", "--email", "ana@example.com", "--priority", "P3"]
    plain, ruled = root / "new-plain", root / "new-rules"
    for home in (plain, ruled):
        (home / "config").mkdir(parents=True, exist_ok=True)
    (ruled / "config" / "rules.toml").write_text(rules_text())
    # The floor is the same command in a store without rules; both stores run the
    # command in their own environment, so compare() runs each through a tiny wrapper.
    wrapper = [sys.executable, "-c",
               "import os, subprocess, sys; "
               "sys.exit(subprocess.call(sys.argv[2:], env={**os.environ, "
               "'DESKCLI_HOME': sys.argv[1]}))"]
    env = child_env(root)
    return compare("new with 50 rules (vs none)", [*wrapper, str(plain), *command],
                   [*wrapper, str(ruled), *command], env, runs, 1.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--keep", type=Path, default=None,
                        help="Build the store here once and reuse it.")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="deskcli-bench-rules-"))
    try:
        home = root / f"pass-{args.tickets}"
        build(home, args.tickets)
        worst = bench_pass(home, args.runs)
        over_new = bench_new(root, args.runs) > 1.2
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    if worst > 3.0 or over_new:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
