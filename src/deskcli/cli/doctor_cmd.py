"""``deskcli doctor``: is this machine's deskcli in working order, and if not, why."""

from __future__ import annotations

from typing import Annotated

import typer

from deskcli.paths import resolve_paths

from . import output
from .exits import ExitCode, fail, say


def doctor(fmt: Annotated[output.Format | None, typer.Option(
               "--format", help="table (default), tsv, csv, json or jsonl.")] = None,
           salvage: Annotated[bool, typer.Option(
               "--salvage", help="If the store is damaged, copy every record that can "
               "still be read into a new store and keep the damaged file beside it. Close "
               "the console first.")] = False) -> None:
    """Check the store, config, checklists, credentials and file permissions.

    The store's pages are checked with SQLite's quick_check and every attachment against
    its SHA-256 hash; a damaged store is reported with how to recover it. Folders and
    files an older deskcli left readable by other users are narrowed to 0700/0600. Nothing
    else is changed and the team server is not contacted.

    With --salvage, a damaged store is replaced by a new one holding every record that can
    still be read; the damaged file is kept as deskcli.db.broken-TIMESTAMP. A store that
    syncs then fetches what was lost from the team server on its next sync.

    Exit codes: 0 everything usable (warnings allowed), 1 at least one check failed.

    Examples:

    \b
      deskcli doctor
      deskcli doctor --format json | jq '.[] | select(.status == "FAIL")'
      deskcli doctor --salvage
    """
    from deskcli.services.doctor import run_checks
    from deskcli.sync.credentials import load as find_token

    if salvage:
        _salvage()

    checks = run_checks(resolve_paths(), find_token=find_token)
    if fmt is None or fmt is output.Format.TABLE:  # long details: lines, not a grid
        output.write_text("\n".join(f"{c.status:<6}{c.topic:<18}{c.detail}" for c in checks))
    else:
        output.write_rows([(c.status, c.topic, c.detail) for c in checks],
                          ["status", "topic", "detail"], fmt)
    failed = sum(c.failed for c in checks)
    if failed:
        raise typer.Exit(int(ExitCode.FAILED))


def _salvage() -> None:
    from datetime import UTC, datetime

    from deskcli.services.doctor import salvage_store

    paths = resolve_paths()
    if not paths.database.exists():
        fail(f"there is no store at {paths.database} to salvage", ExitCode.FAILED)
    result = salvage_store(paths, datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"))
    if result is None:
        say(f"{paths.database} is sound (quick_check ok): nothing to salvage")
        return
    total = sum(result.copied.values())
    say(f"salvaged {total} row(s) into a new {paths.database}; the damaged file is kept "
        f"as {result.kept_at}")
    if result.damaged_tables:
        say("rows were lost from: " + ", ".join(result.damaged_tables)
            + (f" ({result.orphans_dropped} row(s) whose ticket or parent was lost were "
               "dropped)" if result.orphans_dropped else ""))
    if result.resync:
        say("the next 'deskcli sync' fetches everything from the team server again, "
            "bringing back what the damage took")
