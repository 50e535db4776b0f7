"""Cold start of the console on 100,000 tickets, against a bare Textual app's floor.

Each run is a fresh interpreter started with ``python -c``, timed from launch to exit:

* floor:   a minimal Textual app showing a 200-row DataTable, exiting after its first paint;
* deskcli: the real app on a store seeded with ``services.demo.seed``, exiting as soon as
           the queue shows its first page (the moment a technician can press a key).

Runs alternate (floor, deskcli, floor, ...) after one unmeasured warm-up of each, so disk
cache and CPU noise hit both alike. The issue's bar: deskcli's median at most 1.5x the
floor's. Not part of the test suite; run it by hand:

    python benchmarks/bench_tui_start.py [--tickets 100000] [--runs 7] [--home DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FLOOR = """
from textual.app import App, ComposeResult
from textual.widgets import DataTable

class Floor(App):
    def compose(self) -> ComposeResult:
        yield DataTable()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("#", "P", "Status", "Left", "Caller", "Client", "Summary", "Owner")
        table.add_rows([(f"#{1000 + i}", "P2", "open", "1h05m", "Ana Chen", "Northwind",
                         "Outlook keeps asking for a password", "dana") for i in range(200)])
        self.call_after_refresh(self.exit)

Floor().run(headless=True, size=(120, 40))
"""

DESKCLI = """
from deskcli.tui.app import DeskApp
from deskcli.services.desk import open_desk
from deskcli.tui.widgets.queue_table import QueueTable

class Timed(DeskApp):
    def on_queue_table_page_shown(self, message: QueueTable.PageShown) -> None:
        if message.total:
            self.exit()

with open_desk() as desk:
    Timed(desk, offer_samples=False).run(headless=True, size=(120, 40))
"""


def seed(home: Path, tickets: int) -> None:
    """Fill ``home`` with sample tickets once; later runs reuse the store."""
    env = {**os.environ, "DESKCLI_HOME": str(home)}
    code = (
        "from deskcli.services.desk import open_desk\n"
        "from deskcli.services import demo\n"
        "from deskcli.clock import new_id\n"
        "with open_desk() as desk:\n"
        "    if desk.store.tickets.count() == 0:\n"
        f"        demo.seed(desk.store, count={tickets}, now=desk.now(),\n"
        "                  policy=desk.config.sla, new_id=new_id)\n"
        "    print(desk.store.tickets.count(), desk.store.queue.count())\n")
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                         capture_output=True, text=True).stdout.split()
    print(f"store: {int(out[0]):,} tickets, {int(out[1]):,} open "
          f"(ready in {time.perf_counter() - started:.1f}s)")


def timed(code: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--home", type=Path, help="reuse (or create) a seeded profile here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="deskcli-bench-") as scratch:
        home = args.home or Path(scratch)
        seed(home, args.tickets)
        env = {**os.environ, "DESKCLI_HOME": str(home), "TEXTUAL": ""}
        timed(FLOOR, env), timed(DESKCLI, env)  # warm-up: bytecode and disk cache
        floor: list[float] = []
        desk: list[float] = []
        for _ in range(args.runs):
            floor.append(timed(FLOOR, env))
            desk.append(timed(DESKCLI, env))
    floor_median, desk_median = statistics.median(floor), statistics.median(desk)
    ratio = desk_median / floor_median
    print(f"floor  (200-row DataTable): median {floor_median * 1000:.0f} ms  "
          f"runs {', '.join(f'{t * 1000:.0f}' for t in floor)}")
    print(f"deskcli ({args.tickets:,} tickets):  median {desk_median * 1000:.0f} ms  "
          f"runs {', '.join(f'{t * 1000:.0f}' for t in desk)}")
    print(f"ratio {ratio:.2f}x (target <= 1.5x): {'ok' if ratio <= 1.5 else 'TOO SLOW'}")
    return 0 if ratio <= 1.5 else 1


if __name__ == "__main__":
    sys.exit(main())
