"""``deskcli queue``: the open queue, what to pick up next first, in any of the output formats.

Rows stream from ``store.queue.rows`` as plain tuples; this module only picks the fields
asked for and adds the two computed ones (``sla_state`` through the domain's
``classify``, and ``time_left``). That keeps a 100,000-row listing close to the speed of
a bare ``sqlite3`` read.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Annotated, Any

import typer

from deskcli.domain.enums import Priority, Status, TicketType
from deskcli.domain.errors import InvalidInput
from deskcli.domain.tags import parse_tags
from deskcli.domain.timefmt import to_iso

from . import completion, output
from . import fields as fields_mod
from .exits import say
from .fields import DEFAULT_TEXT_FIELDS, FIELDS
from .output import Format
from .session import open_cli_desk

LABELS = {"number": "#", "priority": "Pri", "status": "Status", "sla_state": "SLA",
          "time_left": "Left", "client": "Client", "caller": "Caller",
          "assignee": "Assignee", "summary": "Summary", "type": "Type", "tags": "Tags"}
#: Table columns never cut short on a narrow terminal: the codes a technician scans for.
FIXED = frozenset({"number", "ref", "id", "priority", "status", "type", "sla_state",
                   "time_left", "time_left_seconds", "created_at", "updated_at",
                   "first_response_at", "response_due", "resolve_due", "resolved_at",
                   "next_due"})
_STATE_STYLE = {"breached": "bold red", "at-risk": "yellow", "paused": "dim",
                "missed": "red", "met": "green"}


def _split(values: Sequence[str] | None) -> list[str]:
    """Repeated options and comma lists mean the same: ``--priority P1,P2``."""
    return [part.strip() for value in values or () for part in value.split(",") if part.strip()]


def _style(key: str, value: Any) -> str | None:
    if key == "sla_state":
        return _STATE_STYLE.get(str(value))
    if key == "priority" and value == "P1":
        return "bold"
    return None


def _without_empty_tags(rows: Iterator[Any], keys: list[str]
                        ) -> tuple[Iterator[Any], list[str]]:
    """The default table leaves out the tags column when no row has a tag, so a desk that
    does not use tags keeps its summaries as wide as before (the table is read in full
    before it is drawn anyway). TSV and the other formats always keep the column."""
    at = keys.index(fields_mod.TAGS)
    listed = list(rows)
    if any(row[at] for row in listed):
        return iter(listed), keys
    return (row[:at] + row[at + 1:] for row in listed), keys[:at] + keys[at + 1:]


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
    fmt: output.FormatOption = None,
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
      deskcli queue --fields number,priority,summary --no-header | sort -k2
      deskcli queue --all --format csv > tickets.csv
      deskcli queue --all --format csv --csv-safe > for-a-spreadsheet.csv
    """
    chosen = output.pick_format(fmt)
    output.check_header_option(chosen, header, csv_safe)
    default = (list(FIELDS) if chosen in (Format.JSON, Format.JSONL)
               else DEFAULT_TEXT_FIELDS)
    keys = output.parse_fields(fields, list(FIELDS), default)
    if mine and assignee:
        raise InvalidInput("--mine and --assignee both choose the assignee: give one")
    statuses = [Status.parse(s, what="status").value for s in _split(status)]
    priorities = [Priority.parse(p).value for p in _split(priority)]
    types = [TicketType.parse(t, what="type").value for t in _split(ticket_type)]
    tags = parse_tags(tag or ())
    with open_cli_desk() as desk:
        now = desk.now()
        filters: dict[str, Any] = {
            "statuses": statuses or None, "open_only": not show_all,
            "priorities": priorities, "types": types, "client": client,
            "assignee": desk.config.tech if mine else assignee,
        }
        now_iso = to_iso(now)
        if at_risk and breached:
            filters.update(risk_before=now_iso, due_after="")
        elif at_risk:
            filters.update(risk_before=now_iso, due_after=now_iso)
        elif breached:
            filters.update(due_before=now_iso)
        source: Iterator[Any] = desk.tickets.queue(limit=limit, tags=tags, **filters)
        if fields_mod.TAGS in keys:
            source = fields_mod.with_tags(source, desk.tickets.tags_of_many,
                                          as_list=chosen in (Format.JSON, Format.JSONL))
        rows: Iterator[Any] = map(fields_mod.projector(keys, now), source)
        if chosen is Format.TABLE and fields is None:
            rows, keys = _without_empty_tags(rows, keys)
        count = output.write_rows(rows, keys, chosen, header=header, labels=LABELS,
                                  style=_style, fixed=FIXED, csv_safe=csv_safe)
    if count == 0 and chosen is Format.TABLE:
        say("no tickets match" + ("" if show_all else " (add --all to include closed ones)"))
