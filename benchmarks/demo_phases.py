"""Where ``deskcli demo --tickets N`` spends its time, statement by statement, in one
process.

Run:  python benchmarks/demo_phases.py --tickets 100000 [--home DIR]

Runs the ``demo`` command in this process on a fresh profile (``--home``, removed
afterwards unless ``--keep``), with the store's connection wrapped so that every
statement is timed (wall and the calling thread's CPU, ``time.thread_time``) and
counted under a label taken from its text: the rows of each table, the knowledge base's
and the queue's text indexes, the index builds, commits, the journal-mode switches.
The row generator's own thread is timed as a whole. Printed: one line per label (calls,
wall seconds, CPU seconds, CPU µs per ticket), then the writer's and the generator's CPU,
the time the writer waited for rows, and the process's user and system time. Works on
any checkout (``PYTHONPATH`` says which): it wraps what it finds.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import sqlite3
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ACC: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])


def label(sql: str) -> str:
    text = " ".join(sql.split())[:120]
    for pattern, name in (
            (r"^INSERT INTO (main\.)?(\w+)\(\2\) VALUES", "fts command {2}"),
            (r"^INSERT INTO (main\.)?(\w+)", "insert {2}"),
            (r"^CREATE (UNIQUE )?INDEX (IF NOT EXISTS )?(\w+)", "create index {3}"),
            (r"^CREATE (TRIGGER|VIRTUAL)", "create trigger/table"),
            (r"^DROP", "drop"),
            (r"^COMMIT", "commit"),
            (r"^BEGIN", "begin"),
            (r"^PRAGMA (main\.)?journal_mode", "journal_mode switch"),
            (r"^PRAGMA wal_checkpoint", "checkpoint"),
            (r"^DELETE", "delete"),
            (r"^UPDATE", "update"),
            (r"^SELECT", "select")):
        found = re.match(pattern, text, re.IGNORECASE)
        if found:
            return name.format(*([None] + list(found.groups())))
    return text[:40]


class Timed:
    """A connection whose statements are timed by label; everything else passes through."""

    def __init__(self, inner: sqlite3.Connection) -> None:
        object.__setattr__(self, "_inner", inner)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._inner, name, value)

    def _timed(self, method: str, sql: str, *args: Any) -> Any:
        cpu, wall = time.thread_time(), time.perf_counter()
        try:
            result = getattr(self._inner, method)(sql, *args)
            return result
        finally:
            slot = ACC[label(sql)]
            slot[0] += 1
            slot[1] += time.perf_counter() - wall
            slot[2] += time.thread_time() - cpu

    def execute(self, sql: str, *args: Any) -> Any:
        return self._timed("execute", sql, *args)

    def executemany(self, sql: str, *args: Any) -> Any:
        return self._timed("executemany", sql, *args)

    def executescript(self, sql: str) -> Any:
        return self._timed("executescript", sql)

    def __enter__(self) -> Any:
        return self._inner.__enter__()

    def __exit__(self, *exc: Any) -> Any:
        return self._inner.__exit__(*exc)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--home", type=Path, default=None)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="demo-phases-"))
    os.environ["DESKCLI_HOME"] = str(home)
    os.environ.setdefault("DESKCLI_TECH", "bench")

    from deskcli.services import demo
    from deskcli.storage import store as store_mod

    original_init = store_mod.Store.__init__

    def init(self: Any, connection: Any, *rest: Any, **kw: Any) -> None:
        original_init(self, Timed(connection), *rest, **kw)

    store_mod.Store.__init__ = init  # type: ignore[method-assign]

    generator: dict[str, float] = {}
    run = demo._Producer._run

    def timed_run(self: Any) -> None:
        started = time.thread_time()
        try:
            run(self)
        finally:
            generator["cpu"] = time.thread_time() - started

    demo._Producer._run = timed_run  # type: ignore[method-assign]
    waited = [0.0, 0.0]
    take = demo._Producer.next

    def timed_next(self: Any) -> Any:
        cpu, wall = time.thread_time(), time.perf_counter()
        try:
            return take(self)
        finally:
            waited[0] += time.perf_counter() - wall
            waited[1] += time.thread_time() - cpu

    demo._Producer.next = timed_next  # type: ignore[method-assign]
    write = demo._Rows.write

    def timed_write(self: Any, bulk: Any) -> None:
        cpu, wall = time.thread_time(), time.perf_counter()
        try:
            write(self, bulk)
        finally:
            slot = ACC["(rows: Python + inserts)"]
            slot[0] += 1
            slot[1] += time.perf_counter() - wall
            slot[2] += time.thread_time() - cpu

    demo._Rows.write = timed_write  # type: ignore[method-assign]

    from deskcli.cli import demo_cmd

    started, cpu0 = time.perf_counter(), time.thread_time()
    demo_cmd.demo(tickets=args.tickets, open_share=None)
    wall = time.perf_counter() - started
    writer = time.thread_time() - cpu0
    usage = resource.getrusage(resource.RUSAGE_SELF)
    n = args.tickets
    print(f"{'label':34} {'calls':>7} {'wall s':>8} {'cpu s':>8} {'cpu µs/t':>9}")
    for name, (calls, w, c) in sorted(ACC.items(), key=lambda kv: -kv[1][2]):
        if w >= 0.05 or c >= 0.05:
            print(f"{name:34} {int(calls):7d} {w:8.2f} {c:8.2f} {c / n * 1e6:9.1f}")
    print(f"writer thread cpu {writer:.1f} s ({writer / n * 1e6:.0f} µs/t); waited for rows "
          f"{waited[0]:.1f} s wall; generator thread cpu {generator.get('cpu', 0):.1f} s "
          f"({generator.get('cpu', 0) / n * 1e6:.0f} µs/t)")
    print(f"whole command wall {wall:.1f} s; process user {usage.ru_utime:.1f} s sys "
          f"{usage.ru_stime:.1f} s; peak RSS {usage.ru_maxrss / 1024:.0f} MiB; "
          f"load {os.getloadavg()[0]:.1f}")
    if not args.keep:
        shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
