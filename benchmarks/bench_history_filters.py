"""Filtered history pages at scale: the count and each page the console reads, per filter.

Run:  python benchmarks/bench_history_filters.py --store DESKCLI_HOME [--runs 3]
      [--case assignee --case client ...]

The console's history view (every status) with one filter at a time, on one connection
(what the console's worker does): the count the view sizes its table by, the first page,
the End key (the last page), a jump to the middle and the next page from a key. Each is
the median of ``--runs`` after one warm read, in wall-clock ms, then the median CPU ms of
this process (``wall/cpu``: on a loaded machine the CPU figure is the steadier one). The
floor, read alternately with the pages, is the same history's unfiltered first page
(served by the queue key's index since issue 20): a filtered page should cost about what
an unfiltered one does.

Target (issue 20): every page and the count under 100 ms at a million tickets. Not part
of the tests.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

PAGE = 100
CASES: dict[str, dict[str, Any]] = {
    "assignee": {"assignee": "dana"},
    "assignee-case": {"assignee": "DANA"},
    "client": {"client": "Meridian Clinic"},
    "priority": {"priorities": ["P1"]},
    "priority-common": {"priorities": ["P3"]},
    "two-priorities": {"priorities": ["P1", "P2"]},
    "search": {"search": "printer"},
}


def timed(read: Callable[[], Any]) -> float:
    return timed_both(read)[0]


def timed_both(read: Callable[[], Any]) -> tuple[float, float]:
    """Wall-clock and CPU milliseconds of one read."""
    started, cpu = time.perf_counter(), time.process_time()
    read()
    return (time.perf_counter() - started) * 1000, (time.process_time() - cpu) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, required=True, help="a seeded DESKCLI_HOME")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--case", action="append", choices=sorted(CASES),
                        help="which filters (default: all but search)")
    args = parser.parse_args()

    from deskcli.domain.enums import Status
    from deskcli.paths import Paths
    from deskcli.services.desk import open_desk
    from deskcli.storage.queue_pages import QueuePages, key_of

    every = [s.value for s in Status]
    print(f"load average {os.getloadavg()[0]:.1f}", flush=True)
    with open_desk(Paths(args.store / "data", args.store / "config")) as desk:
        store = desk.store
        pages = QueuePages(store)
        floor_filters = {"statuses": every}
        floor_total = store.queue.count(**floor_filters)

        def floor() -> Any:
            return pages.page(0, PAGE, total=floor_total, **floor_filters)

        for name in args.case or [c for c in CASES if c != "search"]:
            print(measure(store, pages, name, {"statuses": every, **CASES[name]}, floor,
                          args.runs, key_of), flush=True)


def measure(store: Any, pages: Any, name: str, f: dict[str, Any],
            floor: Callable[[], Any], runs: int, key_of: Callable[[Any], Any]) -> str:
    """One filter's line: the cold count, then each read's median, floors alternating."""
    count_ms = timed(lambda: store.queue.count(**f))
    total = store.queue.count(**f)
    first = pages.page(0, PAGE, total=total, **f)
    after = key_of(first[-1]) if first else None
    reads: dict[str, Callable[[], Any]] = {
        "count": lambda: store.queue.count(**f),
        "first": lambda: pages.page(0, PAGE, total=total, **f),
        "next": lambda: pages.page(PAGE, PAGE, total=total, after=after, **f),
        "End": lambda: pages.page(max(total - PAGE, 0), PAGE, total=total, **f),
        "middle": lambda: pages.page(total // 2, PAGE, total=total, **f),
    }
    out = [f"{name:16} {total:>9,} rows  cold count {count_ms:8.1f}"]
    floors: list[float] = []
    for what, read in reads.items():
        read()
        times, cpus = [], []
        for _ in range(runs):
            floors.append(timed(floor))
            wall, cpu = timed_both(read)
            times.append(wall)
            cpus.append(cpu)
        out.append(f"{what} {statistics.median(times):7.1f}/{statistics.median(cpus):.1f}")
    out.append(f"(floor {statistics.median(floors):.1f} ms)")
    return "  ".join(out)


if __name__ == "__main__":
    main()
