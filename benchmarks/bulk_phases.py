"""Where ``deskcli new --from FILE`` spends its CPU, phase by phase, in one process.

Run:  python benchmarks/bulk_phases.py [--records 10000] [--runs 3]

Each run makes a fresh store (the first ``deskcli queue`` of an empty profile) in a
child process that imports deskcli, wraps the functions each phase runs in CPU timers
(``time.process_time``), and runs the command as ``deskcli`` would. Printed per run:
imports, reading the JSONL, checking the records, the checklist look-up, building rows
and ops (and within it, buffering them and encoding the ops' values), the SQL inserts,
``create_many`` as a whole (which also holds filling the text index after the rows),
and the process's user and system time. The timers cost a
little themselves (about 1 µs a call); compare the phases, not the totals, with
``bench_bulk.py``. The records are ``bench_bulk.py``'s.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r'''
import functools, resource, sys, time
started = time.process_time()
from deskcli.cli import launch
from deskcli.cli import tickets as cli_tickets
from deskcli.domain import intake
from deskcli.services import tickets as svc
from deskcli.storage import batch as batch_mod
imported = time.process_time()
acc = {}

def timed(f, label):
    @functools.wraps(f)
    def wrapper(*a, **k):
        t = time.process_time()
        try:
            return f(*a, **k)
        finally:
            acc[label] = acc.get(label, 0.0) + time.process_time() - t
    return wrapper

def wrap(owner, name, label):
    setattr(owner, name, timed(getattr(owner, name), label))

wrap(cli_tickets, "parse_records", "reading the JSONL")
wrap(intake.NewTicket, "from_mapping", "checking the records")
wrap(svc.TicketService, "check_draft", "does the checklist exist")
wrap(svc.TicketService, "insert_ticket", "building rows and ops")
wrap(batch_mod.BatchWriter, "insert", "  buffering rows and ops")
# Every flush (bulk creation writes what it holds every 1,000 tickets, and at the end).
wrap(batch_mod.BatchWriter, "flush", "SQL inserts (flush)")
wrap(svc.TicketService, "create_many", "create_many as a whole")
if hasattr(batch_mod, "fast_encoder"):
    fast = batch_mod.fast_encoder
    batch_mod.fast_encoder = lambda: timed(fast(), "  encoding the ops' values")
else:  # before orjson: the module's encoder
    batch_mod.ENCODE = timed(batch_mod.ENCODE, "  encoding the ops' values")
sys.argv = ["deskcli", "new", "--from", sys.argv[1]]
try:
    launch.run()
except SystemExit:
    pass
usage = resource.getrusage(resource.RUSAGE_SELF)
print(f"{'imports':32s} {imported - started:6.3f}", file=sys.stderr)
for label, seconds in acc.items():
    print(f"{label:32s} {seconds:6.3f}", file=sys.stderr)
print(f"{'process: user / system':32s} {usage.ru_utime:6.3f} / {usage.ru_stime:.3f}",
      file=sys.stderr)
'''


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_bulk import records

    with tempfile.TemporaryDirectory(prefix="bulk-phases-") as tmp:
        base = Path(tmp)
        source = base / "import.jsonl"
        source.write_text("\n".join(json.dumps(r) for r in records(args.records)) + "\n")
        child = base / "child.py"
        child.write_text(CHILD)
        for run in range(args.runs):
            home = base / f"run{run}"
            env = {**os.environ, "DESKCLI_HOME": str(home), "DESKCLI_TECH": "bench"}
            subprocess.run([sys.executable, "-m", "deskcli", "queue"], env=env, check=True,
                           stdout=subprocess.DEVNULL)
            done = subprocess.run([sys.executable, str(child), str(source)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  text=True, check=True)
            print(f"run {run + 1}:")
            print("\n".join("  " + line for line in done.stderr.splitlines()
                            if not line.startswith("created")))


if __name__ == "__main__":
    main()
