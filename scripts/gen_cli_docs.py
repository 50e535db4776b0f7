"""Regenerate the command reference in docs/cli.md from ``deskcli --help``.

    python scripts/gen_cli_docs.py           # rewrite the generated blocks in place
    python scripts/gen_cli_docs.py --check   # exit 1 if docs/cli.md is out of date

Only the marked blocks change; the prose around them is written by hand.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from deskcli.cli.reference import fill

DOC = Path(__file__).resolve().parent.parent / "docs" / "cli.md"


def main() -> int:
    parser = argparse.ArgumentParser(description="Regenerate docs/cli.md.")
    parser.add_argument("--check", action="store_true", help="only report drift")
    args = parser.parse_args()
    current = DOC.read_text(encoding="utf-8")
    fresh = fill(current)
    if fresh == current:
        print(f"{DOC} is up to date", file=sys.stderr)
        return 0
    if args.check:
        print(f"{DOC} is out of date: run python scripts/gen_cli_docs.py", file=sys.stderr)
        return 1
    DOC.write_text(fresh, encoding="utf-8")
    print(f"rewrote {DOC}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
