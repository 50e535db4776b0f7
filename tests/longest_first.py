"""Start the longest tests first, so that the suite does not end with one worker busy.

With ``--dist loadgroup`` xdist hands tests to workers one at a time in collection order,
so a 30-second test collected last starts when the others are nearly done, and every
other worker idles until it ends. Workers (and only workers: ``-n 0`` keeps file order)
move the tests listed in ``longest_first.txt`` to the front, longest first: the greedy
longest-processing-time-first order, so the last tests to start are short ones.

The list is the seconds each test took in a suite run (``--durations=80`` of
``python -m pytest``, 4 workers on 2 cores). A test not in it keeps its place; a stale
line costs nothing but a little ordering. Regenerate it after a large change with
``python -m pytest --durations=80 | python tests/longest_first.py > tests/longest_first.txt``
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

#: Seconds (call + setup + teardown) and node id per line, longest first.
TABLE = Path(__file__).with_suffix(".txt")


def _seconds() -> dict[str, float]:
    pairs = (line.split(None, 1) for line in TABLE.read_text().splitlines() if line.strip())
    return {name.strip(): float(seconds) for seconds, name in pairs}


def longest_first(items: list[pytest.Item]) -> None:
    """Reorder ``items`` in place: the listed tests first, longest first; the rest after
    them in collection order (``sort`` is stable)."""
    seconds = _seconds()
    items.sort(key=lambda item: -seconds.get(item.nodeid, 0.0))


def _table_from_durations(text: str) -> str:
    """The TABLE lines from pytest's ``--durations`` report (phases of a test summed)."""
    total: dict[str, float] = {}
    for match in re.finditer(r"^([0-9.]+)s (?:call|setup|teardown) +(\S+)$", text, re.M):
        total[match[2]] = total.get(match[2], 0.0) + float(match[1])
    return "\n".join(f"{s:5.1f} {name}" for name, s in
                     sorted(total.items(), key=lambda pair: -pair[1]) if s >= 3.5)


if __name__ == "__main__":
    print(_table_from_durations(sys.stdin.read()))
