"""Cold start of the console on 100,000 tickets, against a bare Textual app's floor.

Each run is a fresh interpreter started with ``python -c``, timed from launch to exit:

* floor:   a minimal Textual app showing a 200-row DataTable, exiting after its first paint;
* deskcli: the real app on a store seeded with ``services.demo.seed``, exiting as soon as
           the queue shows its first page (the moment a technician can press a key).

Runs alternate (floor, deskcli, floor, ...) after one unmeasured warm-up of each, so disk
cache and CPU noise hit both alike. The issue's bar: deskcli's median at most 1.5x the
floor's. Not part of the test suite; run it by hand:

    python benchmarks/bench_tui_start.py [--tickets 100000] [--runs 7] [--home DIR]

``--ticket`` measures opening a ticket from the queue and going back instead (issue 20),
in one running console (120x40, 60 fps; ``ticket_paint.py`` does it and says how):

* open:   from the enter key handed to the app until the terminal write of the paint
          that completes the ticket's screen (the last write that changed what the
          terminal shows before the app settles; checked against a fresh render of the
          whole screen); floor: a key that pushes a plain one-label screen, to its paint;
* escape: from the escape key to the write that completes the queue (its first page
          re-read); floor: escape popping the plain screen;
* the same for a ticket with 1,000 timeline events (added to the store once), and for
  each ``--pin REF`` (tickets of chosen shapes: the target holds for any ticket); these
  are opened by calling ``open_ticket``, the clock starting at the call.

The pilot's waits for idle are not in any figure. Each figure is the median of ``--runs``
(at least 5) in wall time and in the process's CPU time (on a machine shared with other
work the CPU time is the steadier of the two), with the floor from the same run. Targets
(wall): open under 100 ms, escape under 30 ms. Exit 1 when a target is missed or a paint
taken as full was not (``NOT A FULL PAINT``). ``BENCH_TRACE=1`` prints every paint.
"""

from __future__ import annotations

import argparse
import json
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


def big_ticket(home: Path, events: int = 1000) -> str:
    """A ticket with ``events`` timeline events (notes), made once per store."""
    env = {**os.environ, "DESKCLI_HOME": str(home), "DESKCLI_TECH": "bench"}
    code = (
        "from deskcli.services.desk import open_desk\n"
        "from deskcli.domain.intake import NewTicket\n"
        "with open_desk() as desk:\n"
        "    row = desk.store.db.execute(\"SELECT number FROM tickets WHERE summary = "
        "'Bench: a ticket with a long timeline'\").fetchone()\n"
        "    if row is None:\n"
        "        row = desk.tickets.create(NewTicket.from_mapping({'summary': "
        "'Bench: a ticket with a long timeline', 'caller': 'Ana Chen'}))\n"
        f"        for n in range({events}):\n"
        "            desk.tickets.add_note(f\"#{row['number']}\", f'monitoring check {n}', "
        "internal=True)\n"
        "    print(row['number'])\n")
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                         capture_output=True, text=True).stdout.split()
    return f"#{out[-1]}"


def ticket_bench(home: Path, runs: int, pinned: list[str] | None = None) -> int:
    ref = big_ticket(home)
    env = {**os.environ, "DESKCLI_HOME": str(home), "TEXTUAL": ""}
    script = Path(__file__).with_name("ticket_paint.py")
    done = subprocess.run([sys.executable, str(script), str(max(runs, 5)), ref,
                           *(pinned or [])], env=env, check=True, stdout=subprocess.PIPE,
                          text=True)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    ok = True
    rows = [("open", "floor_open", 0.100), ("escape", "floor_escape", 0.030),
            ("open_big", "floor_open", 0.100), ("escape_big", "floor_escape", 0.030)]
    for pin in pinned or []:
        rows += [(f"open {pin}", "floor_open", 0.100), (f"escape {pin}", "floor_escape", 0.030)]
    print(f"median of {max(runs, 5)} rounds, ms from the key (or the call) to the terminal "
          "write that completes the screen; paints: writes until settled (after the full one)")
    for what, floor, target in rows:
        mine, base = figures[what], figures[floor]
        wall, cpu = mine["wall"], mine["cpu"]
        ok = ok and wall <= target
        print(f"{what:<13} wall {wall * 1000:6.1f} (max {mine['wall_max'] * 1000:6.1f}, "
              f"floor {base['wall'] * 1000:5.1f}, "
              f"{wall / base['wall']:4.1f}x)  cpu {cpu * 1000:5.1f} (floor "
              f"{base['cpu'] * 1000:5.1f}, {cpu / max(base['cpu'], 1e-6):4.1f}x)  "
              f"paints {mine['paints']:g} ({mine['idle_paints']:g})  "
              f"target {target * 1000:.0f}: {'ok' if wall <= target else 'OVER'}")
    for mismatch in figures["mismatches"]:
        print(f"NOT A FULL PAINT: {mismatch}")
    print(f"load average {' '.join(f'{n:.2f}' for n in os.getloadavg())}")
    return 0 if ok and not figures["mismatches"] else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--home", type=Path, help="reuse (or create) a seeded profile here")
    parser.add_argument("--ticket", action="store_true",
                        help="measure opening a ticket and going back instead")
    parser.add_argument("--pin", action="append", default=[], metavar="REF",
                        help="with --ticket: also open this ticket each round and report "
                             "it on its own line (a P1 at its paging step, a resolved "
                             "one, a long description ...); may be repeated")
    args = parser.parse_args()
    if args.ticket:
        with tempfile.TemporaryDirectory(prefix="deskcli-bench-") as scratch:
            home = args.home or Path(scratch)
            seed(home, args.tickets)
            return ticket_bench(home, args.runs, args.pin)

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
