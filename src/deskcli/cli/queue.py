"""``deskcli queue``: the open queue, what to pick up next first, in any of the output formats.

This module declares the command for Typer; its work is ``quick.queue``, which the fast
path (``launch.py``) also runs without Typer. Rows stream from ``store.queue.rows`` as
plain tuples; the work only picks the fields asked for and adds the two computed ones
(``sla_state`` through the domain's ``classify``, and ``time_left``). That keeps a
100,000-row listing close to the speed of a bare ``sqlite3`` read.
"""

from __future__ import annotations

from typing import Annotated

import typer

from deskcli.domain.enums import Status, TicketType

from . import completion, output, quick
from .fields import DEFAULT_TEXT_FIELDS
from .quick import QueueFormat


def queue(
    status: Annotated[list[str] | None, typer.Option(
        "--status", "-s", help="Only these statuses (repeat or comma-separate): "
        + ", ".join(Status), show_default=False, metavar="STATUS",
        autocompletion=completion.statuses)] = None,
    priority: Annotated[list[str] | None, typer.Option(
        "--priority", "-p", help="Only these priorities, e.g. P1,P2.",
        show_default=False, metavar="P1-P4", autocompletion=completion.priorities)] = None,
    ticket_type: Annotated[list[str] | None, typer.Option(
        "--type", "-t", help="Only these types: " + ", ".join(TicketType),
        show_default=False, metavar="TYPE", autocompletion=completion.types)] = None,
    client: Annotated[str | None, typer.Option(help="Only this client (any case).",
                                                              metavar="NAME")] = None,
    assignee: Annotated[str | None, typer.Option(help="Only tickets owned by this technician.",
                                                                metavar="TECH")
                        ] = None,
    tag: Annotated[list[str] | None, typer.Option(
        "--tag", help="Only tickets carrying this tag (repeat or comma-separate: every "
        "tag given).", show_default=False, metavar="TAG")] = None,
    mine: Annotated[bool, typer.Option("--mine", help="Only tickets assigned to you "
                                       "(the configured technician).")] = False,
    at_risk: Annotated[bool, typer.Option("--at-risk", help="Only tickets whose SLA is at "
                                          "risk (add --breached for both).")] = False,
    breached: Annotated[bool, typer.Option("--breached", help="Only tickets whose SLA is "
                                           "breached.")] = False,
    show_all: Annotated[bool, typer.Option("--all", "-a", help="Include resolved and closed "
                                           "tickets.")] = False,
    limit: Annotated[int | None, typer.Option("--limit", "-n", min=1, metavar="N",
                                              help="At most this many rows.")] = None,
    fmt: Annotated[QueueFormat | None, typer.Option(
        "--format", "-f", case_sensitive=False,
        help="Output format: table, tsv, csv, json, jsonl, or ids (only the ticket "
        "references, one per line, for piping into another command). Default: table on "
        "a terminal, tsv when piped.", show_default=False)] = None,
    fields: Annotated[str | None, typer.Option(
        help="Comma-separated fields to show, in order (see docs/cli.md for the list). "
        "Default: " + ", ".join(DEFAULT_TEXT_FIELDS) + "; every field for json/jsonl.",
        metavar="LIST")] = None,
    header: output.HeaderOption = True,
    csv_safe: output.CsvSafeOption = False,
) -> None:
    """List the open queue, what to pick up next first.

    Open P1s nobody has answered yet come first, then tickets by the deadline of their
    next SLA clock (breached first), as in the console (docs/user-guide.md, "The queue").
    Data goes to stdout (a table on a terminal, TSV when piped); filters combine with AND.

    Examples:

    \b
      deskcli queue --mine --at-risk --breached
      deskcli queue --priority P1,P2 --format json
      deskcli queue --tag outage --fields number,summary,tags
      deskcli queue --tag outage --format ids | deskcli note - "Fixed at 10:40, please retry"
      deskcli queue --fields number,priority,summary --no-header | sort -k2
      deskcli queue --all --format csv > tickets.csv
      deskcli queue --all --format csv --csv-safe > for-a-spreadsheet.csv
    """
    quick.queue(status=status, priority=priority, ticket_type=ticket_type, client=client,
                assignee=assignee, tag=tag, mine=mine, at_risk=at_risk, breached=breached,
                show_all=show_all, limit=limit, fmt=fmt, fields=fields, header=header,
                csv_safe=csv_safe)
