"""``deskcli report`` speed against a floor of hand-written SQL aggregates (issue 7).

Run:  python benchmarks/bench_report.py [--tickets 100000] [--runs 7]

Seeds a store with ``deskcli demo``'s generator (full timelines: replies, waits on the
caller, escalations, reopens, surveys and answers), then times
``deskcli report --since 365d --format tsv`` against ``report_floor.py``, a script that
computes the same figures in SQLite the most direct way (per-ticket facts in one
temporary table, aggregates and medians in SQL) and prints the same TSV rows. Before
timing, both are run on one window and their output must be equal, row for row (every
figure, count and recurring issue), or the script stops. Target: at most 2x. Floor and
command alternate so machine load hits both alike.

Peak memory (issue 20): each process's own peak resident size (``os.wait4``), deskcli's
against the floor's, with a ceiling of 150 MiB for deskcli. ``--store PATH`` measures an
existing store instead of seeding one (build a million-ticket store once and reuse it:
``DESKCLI_HOME=/tmp/x deskcli demo --tickets 1000000``, then ``--store /tmp/x``).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench_cli import child_env, compare, deskcli_command, seed

#: The floor: the same figures by plain SQL, nothing of deskcli imported.
FLOOR_SCRIPT = Path(__file__).with_name("report_floor.py")


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
    """The peak resident memory of one run of ``cmd``, in MiB, as GNU time reports it.

    Not ``wait4`` from here: Linux carries a process's high-water mark across ``fork``
    and ``exec``, so a child of this script (which has seeded a store in process) would
    report at least this script's own size; ``/usr/bin/time`` is a small parent."""
    with tempfile.NamedTemporaryFile("r") as out:
        child = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", out.name, *cmd],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        if child.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed ({child.returncode}): "
                             f"{child.stderr.decode()[-500:]}")
        return int(out.read().split()[-1]) / 1024  # KiB


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


def check_floor(home: Path, env: dict[str, str], db: str) -> None:
    """The floor must print the very rows deskcli prints for one window (whole days,
    the form both accept): every figure, count and recurring issue; else its time says
    nothing, and the script stops."""
    from datetime import UTC, datetime, timedelta

    today = datetime.now(UTC).date()
    since, until = today - timedelta(days=366), today + timedelta(days=1)
    ours = subprocess.run([*deskcli_command(), "report", "--since", str(since), "--until",
                           str(until), "--format", "tsv"], env=env, capture_output=True,
                          check=True, text=True).stdout
    floor = subprocess.run([sys.executable, str(FLOOR_SCRIPT), db, f"{since}T00:00:00Z",
                            f"{until}T00:00:00Z"], env=env, capture_output=True, check=True,
                           text=True).stdout
    if ours != floor:
        diff = [f"  deskcli: {a}\n  floor:   {b}" for a, b in
                zip(ours.splitlines(), floor.splitlines(), strict=False) if a != b]
        raise SystemExit("the floor's figures differ from deskcli's:\n" + "\n".join(diff[:5]))
    print(f"floor checked: the same {len(ours.splitlines())} rows as deskcli "
          f"({since} to {until})")


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
        check_floor(home, env, db)
        floor = [sys.executable, str(FLOOR_SCRIPT), db, since, until]
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
