"""``deskcli doctor``: is this machine's deskcli in working order, and if not, why."""

from __future__ import annotations

from typing import Annotated

import typer

from deskcli.paths import resolve_paths

from . import output
from .exits import ExitCode


def doctor(fmt: Annotated[output.Format | None, typer.Option(
        "--format", help="table (default), tsv, csv, json or jsonl.")] = None) -> None:
    """Check the store, config, checklists, credentials and file permissions.

    The store's pages are checked with SQLite's quick_check and every attachment against
    its SHA-256 hash; a damaged store is reported with how to recover it. Folders and
    files an older deskcli left readable by other users are narrowed to 0700/0600. Nothing
    else is changed and the team server is not contacted.

    Exit codes: 0 everything usable (warnings allowed), 1 at least one check failed.

    Examples:

    \b
      deskcli doctor
      deskcli doctor --format json | jq '.[] | select(.status == "FAIL")'
    """
    from deskcli.services.doctor import run_checks

    checks = run_checks(resolve_paths())
    if fmt is None or fmt is output.Format.TABLE:  # long details: lines, not a grid
        output.write_text("\n".join(f"{c.status:<6}{c.topic:<18}{c.detail}" for c in checks))
    else:
        output.write_rows([(c.status, c.topic, c.detail) for c in checks],
                          ["status", "topic", "detail"], fmt)
    failed = sum(c.failed for c in checks)
    if failed:
        raise typer.Exit(int(ExitCode.FAILED))
