"""Console queue pages at any depth: keyset pages against the LIMIT/OFFSET they replace.

Run:  python benchmarks/bench_history.py --store DESKCLI_HOME [--runs 5]

On the history view (every status: all the store's tickets) and the default open queue,
each page the console reads is timed, median of ``--runs``, in one process on one
connection (what the console's worker does):

* first page; the next page from the last key; the End key (the last page);
  a page up from there by key; a jump to the middle;
* "before": the same pages as ``store.queue.rows(limit=100, offset=...)``, the query the
  console ran until issue 20 (every page sorted all matching rows).

Target (issue 20): every page under 100 ms at a million tickets. Not part of the tests.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

PAGE = 100


def median_ms(read: Callable[[], Any], runs: int) -> float:
    read()  # warm the page cache
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        read()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, required=True, help="a seeded DESKCLI_HOME")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    from deskcli.domain.enums import Status
    from deskcli.paths import Paths
    from deskcli.services.desk import open_desk
    from deskcli.storage.queue_pages import QueuePages, key_of

    with open_desk(Paths(args.store / "data", args.store / "config")) as desk:
        store = desk.store
        pages = QueuePages(store)
        views: dict[str, dict[str, Any]] = {
            "history": {"statuses": [s.value for s in Status]},
            "open queue": {"statuses": None, "open_only": True},
        }
        for name, filters in views.items():
            total = store.queue.count(**filters)
            first = pages.page(0, PAGE, total=total, **filters)
            end_at = max(total - PAGE, 0)
            last = pages.page(end_at, PAGE, total=total, **filters)
            after, before = key_of(first[-1]), key_of(last[0])
            keyset = {
                "first page": lambda f=filters, t=total: pages.page(0, PAGE, total=t, **f),
                "next page (by key)": lambda f=filters, t=total, k=after: pages.page(
                    PAGE, PAGE, total=t, after=k, **f),
                "End (last page)": lambda f=filters, t=total, e=end_at: pages.page(
                    e, PAGE, total=t, **f),
                "page up from End (by key)": lambda f=filters, t=total, e=end_at,
                k=before: pages.page(max(e - PAGE, 0), PAGE, total=t, before=k, **f),
                "jump to the middle": lambda f=filters, t=total: pages.page(
                    t // 2, PAGE, total=t, **f),
            }
            offsets = {"first page": 0, "next page (by key)": PAGE, "End (last page)": end_at,
                       "page up from End (by key)": max(end_at - PAGE, 0),
                       "jump to the middle": total // 2}
            print(f"{name}: {total:,} tickets")
            for what, read in keyset.items():
                now = median_ms(read, args.runs)
                before = median_ms(lambda o=offsets[what], f=filters: list(
                    store.queue.rows(limit=PAGE, offset=o, **f)), max(1, args.runs // 2))
                print(f"  {what:<28} keyset {now:8.1f} ms   LIMIT/OFFSET {before:8.1f} ms   "
                      f"{'ok' if now < 100 else 'OVER 100 ms'}", flush=True)


if __name__ == "__main__":
    main()
