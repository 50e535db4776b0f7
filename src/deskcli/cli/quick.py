"""The work of the short commands (``queue``, ``show``, ``note``, ``new``, ``kb search``),
importable without Typer or click.

A technician runs these many times an hour, and most of their time used to be start-up:
loading Typer and click alone costs about three times a bare ``python -c "import
sqlite3"``. So each command is two parts. Its Typer declaration (``queue.py``,
``tickets.py``, ``kb_cmd.py``) owns the options, the help and the errors a bad command
line gets, and calls the function here with the parsed values. The fast path
(``launch.py``) calls the same function with the same values when it can read the
command line exactly as click would, and hands everything else to Typer. What a command
does is therefore written once, here.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from . import output
from .exits import say
from .session import open_cli_desk

if TYPE_CHECKING:
    from deskcli.services.desk import Desk


class QueueFormat(StrEnum):
    """``--format`` of the queue: the listing formats plus ``ids``."""

    TABLE = "table"
    TSV = "tsv"
    CSV = "csv"
    JSON = "json"
    JSONL = "jsonl"
    IDS = "ids"


class NewFormat(StrEnum):
    NUMBER = "number"
    JSON = "json"
    JSONL = "jsonl"


class ShowFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


# ---------------------------------------------------------------------------- queue

QUEUE_LABELS = {"number": "#", "priority": "Pri", "status": "Status", "sla_state": "SLA",
                "time_left": "Left", "client": "Client", "caller": "Caller",
                "assignee": "Assignee", "summary": "Summary", "type": "Type", "tags": "Tags"}
#: Table columns never cut short on a narrow terminal: the codes a technician scans for.
QUEUE_FIXED = frozenset({"number", "ref", "id", "priority", "status", "type", "sla_state",
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


def _without_empty_tags(rows: Iterator[Any], keys: list[str], tags_key: str
                        ) -> tuple[Iterator[Any], list[str]]:
    """The default table leaves out the tags column when no row has a tag, so a desk that
    does not use tags keeps its summaries as wide as before (the table is read in full
    before it is drawn anyway). TSV and the other formats always keep the column."""
    at = keys.index(tags_key)
    listed = list(rows)
    if any(row[at] for row in listed):
        return iter(listed), keys
    return (row[:at] + row[at + 1:] for row in listed), keys[:at] + keys[at + 1:]


def queue(*, status: list[str] | None, priority: list[str] | None,
          ticket_type: list[str] | None, client: str | None, assignee: str | None,
          tag: list[str] | None, mine: bool, at_risk: bool, breached: bool, show_all: bool,
          limit: int | None, fmt: QueueFormat | None, fields: str | None, header: bool,
          csv_safe: bool) -> None:
    """``deskcli queue`` (see its help in ``queue.py``)."""
    from deskcli.domain.enums import Priority, Status, TicketType
    from deskcli.domain.errors import InvalidInput
    from deskcli.domain.tags import parse_tags
    from deskcli.domain.timefmt import to_iso

    from . import fields as fields_mod
    from .output import Format

    ids_only = fmt is QueueFormat.IDS
    if ids_only:
        if fields is not None:
            raise InvalidInput("--format ids prints only references: leave out --fields",
                               field="fields")
        # References, one per line, as "deskcli new" prints numbers: ready for "-".
        fmt, fields, header = QueueFormat.TSV, "ref", False
    chosen = output.pick_format(Format(fmt.value) if fmt is not None else None)
    output.check_header_option(chosen, header, csv_safe)
    default = (list(fields_mod.FIELDS) if chosen in (Format.JSON, Format.JSONL)
               else fields_mod.DEFAULT_TEXT_FIELDS)
    keys = output.parse_fields(fields, list(fields_mod.FIELDS), default)
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
        source: Iterator[Any] = desk.queue(limit=limit, tags=tags, **filters)
        if fields_mod.TAGS in keys:
            source = fields_mod.with_tags(source, desk.tags_of_many,
                                          as_list=chosen in (Format.JSON, Format.JSONL))
        rows: Iterator[Any] = map(fields_mod.projector(keys, now), source)
        if chosen is Format.TABLE and fields is None:
            rows, keys = _without_empty_tags(rows, keys, fields_mod.TAGS)
        if ids_only:  # 4521, as "deskcli new" prints it: no "#" to quote in a shell
            rows = ((str(row[0]).lstrip("#"),) for row in rows)
        count = output.write_rows(rows, keys, chosen, header=header, labels=QUEUE_LABELS,
                                  style=_style, fixed=QUEUE_FIXED, csv_safe=csv_safe)
    if count == 0 and chosen is Format.TABLE:
        say("no tickets match" + ("" if show_all else " (add --all to include closed ones)"))


# ----------------------------------------------------------------------------- show

def show(*, ref: str, fmt: ShowFormat) -> None:
    """``deskcli show`` (see its help in ``tickets.py``)."""
    from deskcli.domain.kb import short_handle
    from deskcli.services.kb import KbService

    from .render import detail_json, detail_text

    with open_cli_desk() as desk:
        detail = desk.tickets.detail(ref)
        now = desk.now()
        kb = KbService.for_desk(desk)
        repeat = kb.seen_before(detail.ticket)
        links = kb.links_of_ticket(detail.ticket["id"])
        if fmt is ShowFormat.JSON:
            document = detail_json(detail, now)
            document["kb_links"] = [{"article": short_handle(link["article_id"]),
                                     "title": link["title"], "at": link["at"]}
                                    for link in links]
            document["seen_before"] = None if repeat is None else {
                "count": repeat.count, "codes": repeat.codes, "latest": repeat.latest_ref,
                "latest_fix": repeat.latest_fix}
            output.write_text(output.dumps(document))
        else:
            text = detail_text(detail, now)
            if links:
                text += "\n\nKB articles used:\n" + "\n".join(
                    f"  {short_handle(link['article_id'])}  {link['title']}" for link in links)
            if repeat is not None:
                text += (f"\n\nSeen {repeat.count} time{'s' if repeat.count != 1 else ''} "
                         f"before ({', '.join(repeat.codes)}); latest {repeat.latest_ref}: "
                         f"{repeat.latest_fix or 'no fix recorded'}")
            output.write_text(text)


# ----------------------------------------------------------------------------- note

def note_arguments(refs: Sequence[str] | None, text: str | None, template: str | None
                   ) -> tuple[list[str], str | None]:
    """The tickets and the text of ``note REF... [TEXT]``, checked: with --template
    there is no TEXT, so the last word given is a ticket too."""
    from .exits import fail

    names = list(refs or [])
    if template is not None and text is not None:
        names, text = [*names, text], None
    if not names and text is not None:
        names, text = [text], None
    if not names:
        fail("name the ticket: deskcli note REF... TEXT (see deskcli note --help)")
    if text is not None and template is not None:
        fail("give the note text or --template NAME, not both")
    if text is None and template is None:
        fail("say what the note is: give TEXT, - for stdin, or --template NAME")
    return names, text


def note_one(ref: str, text: str | None, template: str | None, internal: bool) -> None:
    """A note on one ticket (several go through ``bulk_cmd``)."""
    from deskcli.domain.numbering import display_ref

    body = sys.stdin.read() if text == "-" else text
    with open_cli_desk() as desk:
        if template is not None or (body and "/" in body):
            from deskcli.services.notify import NotifyService

            service = NotifyService(desk)
            ticket = desk.tickets.find(ref)
            body = (service.snippet(template, ticket) if template is not None
                    else service.expand(body or "", ticket))
        row = desk.tickets.add_note(ref, body or "", internal=internal)
        send_queued(desk)
    say(f"{display_ref(row['number'], row['provisional'])}: "
        f"{'internal note' if internal else 'reply'} added")


# ------------------------------------------------------------------------------ new

def bare_number(number: int | None, provisional: str | None) -> str:
    """The number without '#', so ``n=$(deskcli new ...)`` is ready to pass on."""
    return str(number) if number is not None else str(provisional)


def new_one(given: dict[str, Any], fmt: NewFormat) -> None:
    """``deskcli new`` from its flags (``--from`` is ``tickets._new_from``)."""
    from deskcli.domain.intake import NewTicket

    draft = NewTicket.from_mapping(given)
    with open_cli_desk() as desk:
        row = desk.tickets.create(draft)
        if fmt is NewFormat.NUMBER:
            output.write_text(bare_number(row["number"], row["provisional"]))
        else:
            from .render import ticket_json

            output.write_text(output.dumps(ticket_json(row, desk.now())))
        send_queued(desk)


def send_queued(desk: Desk) -> None:
    """Send what the change queued (a P1 page, an acknowledgement) straight away."""
    if desk.outbound is not None:
        from .notify_cmd import send_after_change

        send_after_change(desk)


# ------------------------------------------------------------------------ kb search

#: The columns of ``kb search``.
SEARCH_FIELDS = ("kind", "ref", "title", "score", "snippet", "at", "client")


def kb_search(*, query: str, client: str | None, tag: str | None, since: str | None,
              kind: str | None, limit: int, fmt: output.Format | None, header: bool,
              csv_safe: bool) -> None:
    """``deskcli kb search`` (see its help in ``kb_cmd.py``)."""
    from deskcli.services.kb import KbService

    chosen = output.pick_format(fmt)
    output.check_header_option(chosen, header, csv_safe)
    with open_cli_desk() as desk:
        hits = KbService.for_desk(desk).search(query, client=client, tag=tag, since=since,
                                               kind=kind, limit=limit)
    rows = [tuple(hit.as_row()[key] for key in SEARCH_FIELDS) for hit in hits]
    output.write_rows(rows, SEARCH_FIELDS, chosen, header=header, csv_safe=csv_safe)
    if not hits:
        say("nothing matched")
