"""Parents, children and duplicates: ``link``, ``unlink`` and ``merge``."""

from __future__ import annotations

from typing import Annotated

import typer

from . import bulk_cmd
from .exits import say
from .params import DryRun, KeepGoing, Refs, ref_of
from .session import open_cli_desk


def link(
    refs: Refs,
    parent: Annotated[str, typer.Option(
        "--parent", metavar="REF", show_default=False,
        help="The ticket they belong under: the incident they duplicate, the problem "
        "that caused them.")],
    dry_run: DryRun = False,
    keep_going: KeepGoing = False,
) -> None:
    """Link tickets under a parent ticket.

    The parent lists its children (deskcli show); resolving it with --children resolves
    them too, with its resolution, each caller told about their own ticket. A link stays
    within one client, and a ticket cannot end up under itself.

    Examples:

    \b
      deskcli link 4522 4523 4530 --parent 4521
      deskcli queue --tag erp-outage --format ids | grep -vx 4521 | deskcli link - --parent 4521
      deskcli resolve 4521 --children --root-cause "..." --resolution "..."
    """
    from deskcli.domain.bulk import BulkAction

    if bulk_cmd.is_bulk(refs, dry_run, keep_going):
        bulk_cmd.run(refs, lambda: BulkAction.link(parent), dry_run=dry_run,
                     keep_going=keep_going)
        return
    [ref] = refs
    with open_cli_desk() as desk:
        row = desk.tickets.link(ref, parent)
        above = desk.tickets.find(parent)
    say(f"{ref_of(row)}: linked under {ref_of(above)}")


def unlink(refs: Refs) -> None:
    """Take tickets out from under their parent.

    Examples:

    \b
      deskcli unlink 4530
    """
    names = bulk_cmd.expand_refs(refs)
    with open_cli_desk() as desk:
        rows = [desk.tickets.find(ref) for ref in names]
        with desk.store.transaction():
            done = [desk.tickets.unlink(row["id"]) for row in rows]
    for row in done:
        say(f"{ref_of(row)}: no longer under a parent")


def merge(
    refs: Refs,
    into: Annotated[str, typer.Option(
        "--into", metavar="REF", show_default=False,
        help="The ticket to keep: the duplicates are closed into it.")],
    dry_run: DryRun = False,
    keep_going: KeepGoing = False,
) -> None:
    """Merge duplicate tickets into the one to keep.

    Each duplicate is closed as "merged into #N"; its notes, time, attachments and
    timeline stay on record and show under the target (deskcli show); its caller
    becomes a party of the target, so their email replies thread there. Refused across
    clients.

    Examples:

    \b
      deskcli merge 4522 --into 4521
      deskcli merge 4522 4523 --into 4521 --dry-run
    """
    from deskcli.domain.bulk import BulkAction

    if bulk_cmd.is_bulk(refs, dry_run, keep_going):
        bulk_cmd.run(refs, lambda: BulkAction.merge(into), dry_run=dry_run,
                     keep_going=keep_going)
        return
    [ref] = refs
    with open_cli_desk() as desk:
        row = desk.tickets.merge(ref, into)
        target = desk.tickets.find(into)
    say(f"{ref_of(row)}: merged into {ref_of(target)} and closed")
