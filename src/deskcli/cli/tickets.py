"""Creating and looking at tickets: ``new``, ``show``, ``set``, ``note`` and ``log-time``."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from deskcli.domain.enums import Channel, Status, TicketType, Verification
from deskcli.domain.errors import DeskError, InvalidInput
from deskcli.domain.intake import NewTicket
from deskcli.domain.tags import parse_tags

from . import bulk_cmd, completion, output, quick
from .exits import ExitCode, report, say
from .params import DryRun, KeepGoing, OptionalRefs, Ref, Refs, opt, ref_of
from .quick import NewFormat, ShowFormat, send_queued
from .records import Problem, parse_records, read_source
from .render import ticket_json
from .session import open_cli_desk

#: Most problems listed before "... and N more": enough to fix a file, not a flood.
MAX_REPORTED = 20


def new(
    summary: Annotated[str | None, opt("One line saying what is wrong (required).")] = None,
    caller: Annotated[str | None, opt("Caller's name.", metavar="NAME")] = None,
    email: Annotated[str | None, opt("Caller's email address.", metavar="EMAIL")] = None,
    phone: Annotated[str | None, opt("Caller's phone number.", metavar="PHONE")] = None,
    verified: Annotated[str | None, opt(
        "How the caller's identity was verified: " + ", ".join(Verification) + ".",
        autocompletion=completion.verifications, metavar="METHOD")] = None,
    verbatim: Annotated[str | None, opt("The issue in the caller's own words.")] = None,
    error: Annotated[str | None, opt("Exact error text, codes included.")] = None,
    priority: Annotated[str | None, opt(
        "P1 (most urgent) to P4; default P3.", autocompletion=completion.priorities,
        metavar="P1-P4")] = None,
    ticket_type: Annotated[str | None, opt(
        "Type: " + ", ".join(TicketType) + "; default incident.", param_decls=["--type"],
        autocompletion=completion.types, metavar="TYPE")] = None,
    channel: Annotated[str | None, opt(
        "How it reached you: " + ", ".join(Channel) + "; default phone.",
        autocompletion=completion.channels, metavar="CHANNEL")] = None,
    client: Annotated[str | None, opt("Client / organisation (created if new).",
                                      metavar="NAME")] = None,
    asset: Annotated[str | None, opt("Affected asset, e.g. LAPTOP-0231.")] = None,
    category: Annotated[str | None, opt("Category, e.g. email or network.")] = None,
    assignee: Annotated[str | None, opt("Technician who owns it.", metavar="TECH")] = None,
    users_affected: Annotated[str | None, opt("How many users are affected.", metavar="N")] = None,
    doing: Annotated[str | None, opt("What the caller was doing when it happened.")] = None,
    source: Annotated[str | None, opt(
        "Create tickets from a JSON object, a JSON array or JSON Lines in FILE (- for "
        "stdin), with the same keys as these options.", param_decls=["--from"],
        metavar="FILE")] = None,
    keep_going: Annotated[bool, typer.Option(
        "--keep-going", help="With --from: write the valid records and report the bad "
        "ones (default: one bad record and nothing is written).")] = False,
    fmt: Annotated[NewFormat, typer.Option(
        "--format", "-f", case_sensitive=False,
        help="number: the ticket number alone; json: the ticket (an array with --from); "
        "jsonl: one ticket per line.")] = NewFormat.NUMBER,
) -> None:
    """Open a new ticket and print its number.

    Values are checked by the same rules as the full-screen app; with --from, every
    record is checked before anything is written.

    Examples:

    \b
      n=$(deskcli new --summary "Outlook keeps asking for a password" \\
            --caller "Ana Chen" --email ana@example.com --verified callback --priority P3)
      deskcli show "$n"
      deskcli new --from tickets.jsonl
      monitoring-export | deskcli new --from - --keep-going --format jsonl
    """
    flags = {"summary": summary, "caller": caller, "email": email, "phone": phone,
             "verified": verified, "verbatim": verbatim, "error": error,
             "priority": priority, "type": ticket_type, "channel": channel,
             "client": client, "asset": asset, "category": category, "assignee": assignee,
             "users_affected": users_affected, "doing": doing}
    given = {key: value for key, value in flags.items() if value is not None}
    if source is not None:
        if given:
            names = ", ".join("--" + key.replace("_", "-") for key in given)
            raise InvalidInput(f"--from cannot be combined with ticket options ({names}): "
                               "put those keys in the records")
        _new_from(source, keep_going, fmt)
        return
    if keep_going:
        raise InvalidInput("--keep-going only applies with --from")
    quick.new_one(given, fmt)


def _new_from(source: str, keep_going: bool, fmt: NewFormat) -> None:
    """Bulk create: every record is checked first; then one transaction writes them all."""
    text, name = read_source(source)
    records, problems = parse_records(text)
    with open_cli_desk() as desk:
        drafts: list[NewTicket] = []
        memo: dict[tuple[Any, ...], Any] = {}  # each distinct value checked once
        for record in records:
            try:
                draft = NewTicket.from_mapping(record.value, memo)
                desk.tickets.check_draft(draft)
            except DeskError as error:
                problems.append(Problem(record.line, error.message))
                continue
            drafts.append(draft)
        problems.sort(key=lambda problem: problem.line)
        for problem in problems[:MAX_REPORTED]:
            report(f"{name}:{problem.line}: {problem.message}")
        if len(problems) > MAX_REPORTED:
            report(f"... and {len(problems) - MAX_REPORTED} more problems")
        if problems and not keep_going:
            report(f"{_count(len(problems), 'problem')} in {name}; nothing was written "
                   "(fix them, or use --keep-going to write the valid records)")
            raise typer.Exit(int(ExitCode.BAD_INPUT))
        created = desk.tickets.create_many(drafts) if drafts else []
        now = desk.now()
        if fmt is NewFormat.NUMBER:
            if created:
                output.write_text("\n".join(ref.lstrip("#") for _, ref in created))
        else:
            tickets = [ticket_json(desk.tickets.find(ticket_id), now)
                       for ticket_id, _ in created]
            if fmt is NewFormat.JSON:
                output.write_text(output.dumps(tickets))
            elif tickets:
                output.write_text("\n".join(output.dumps(t) for t in tickets))
        if created:
            send_queued(desk)
    say(f"created {_count(len(created), 'ticket')}"
        + (f"; skipped {_count(len(problems), 'invalid record')}" if problems else ""))
    if problems:
        raise typer.Exit(int(ExitCode.FAILED))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def show(
    ref: Ref,
    fmt: Annotated[ShowFormat, typer.Option("--format", "-f", case_sensitive=False,
                                            help="text for people, json for programs.")
                   ] = ShowFormat.TEXT,
) -> None:
    """Show a ticket with its checklist progress and timeline.

    Examples:

    \b
      deskcli show 4521
      deskcli show '#4521' --format json | python3 -m json.tool
    """
    quick.show(ref=ref, fmt=fmt)


def set_fields(
    refs: Refs,
    status: Annotated[str | None, opt(
        "New status: " + ", ".join(Status) + ".", autocompletion=completion.statuses,
        metavar="STATUS")] = None,
    priority: Annotated[str | None, opt("P1 to P4.", autocompletion=completion.priorities,
                                        metavar="P1-P4")
                        ] = None,
    assignee: Annotated[str | None, opt("Technician who owns it (\"\" to unassign).",
                                             metavar="TECH")
                        ] = None,
    ticket_type: Annotated[str | None, opt(
        "Type: " + ", ".join(TicketType) + ".", param_decls=["--type"],
        autocompletion=completion.types, metavar="TYPE")] = None,
    category: Annotated[str | None, opt("Category.")] = None,
    asset: Annotated[str | None, opt("Affected asset.")] = None,
    channel: Annotated[str | None, opt(
        "Channel: " + ", ".join(Channel) + ".", autocompletion=completion.channels,
        metavar="CHANNEL")] = None,
    queue: Annotated[str | None, opt("Team queue.")] = None,
    summary: Annotated[str | None, opt("One-line summary.")] = None,
    client: Annotated[str | None, opt("Client / organisation.", metavar="NAME")] = None,
    impact: Annotated[str | None, opt("Impact: high, medium or low.", metavar="LEVEL")] = None,
    urgency: Annotated[str | None, opt("Urgency: high, medium or low.", metavar="LEVEL")] = None,
    error: Annotated[str | None, opt("Exact error text.")] = None,
    reason: Annotated[str | None, opt("Why (recorded on the timeline with a status "
                                      "change; required to reopen).")] = None,
    tag: Annotated[list[str] | None, opt(
        "Add this tag: one lower-case word (letters, digits, hyphens). Repeat or "
        "comma-separate for several.", metavar="TAG")] = None,
    untag: Annotated[list[str] | None, opt(
        "Remove this tag. Repeat or comma-separate for several.", metavar="TAG")] = None,
    settled: Annotated[bool, typer.Option(
        "--settled", help="Clear the conflict flag once the two versions on the timeline "
                          "are settled.")] = False,
    dry_run: DryRun = False,
    keep_going: KeepGoing = False,
) -> None:
    """Change the fields and tags of one ticket or several.

    Each change is recorded on the ticket's timeline.

    Status changes follow the workflow: a move it does not allow is refused with the
    moves that are allowed.

    Examples:

    \b
      deskcli set 4521 --status in-progress --assignee dana
      deskcli set 4521 --priority P2 --category email
      deskcli set 4521 --status pending-caller --reason "waiting for the error screenshot"
      deskcli set 4521 --tag outage --untag vip
      deskcli set 4521 4522 4530 --priority P2 --dry-run
      deskcli queue --tag outage --format ids | deskcli set - --assignee dana
    """
    given = {"status": status, "priority": priority, "assignee": assignee,
             "type": ticket_type, "category": category, "asset": asset, "channel": channel,
             "queue": queue, "summary": summary, "client": client, "impact": impact,
             "urgency": urgency, "error_text": error}
    changes = {key: value for key, value in given.items() if value is not None}
    if settled:
        changes["flagged"] = ""
    adding, removing = parse_tags(tag or ()), parse_tags(untag or ())
    if not changes and not adding and not removing:
        raise InvalidInput("nothing to change: give at least one option, e.g. --status or "
                           "--priority (see deskcli set --help)")
    if bulk_cmd.is_bulk(refs, dry_run, keep_going):
        from deskcli.domain.bulk import BulkAction

        bulk_cmd.run(refs, lambda: BulkAction.set(changes, add_tags=adding,
                                                  remove_tags=removing, reason=reason),
                     dry_run=dry_run, keep_going=keep_going)
        return
    [ref] = refs
    with open_cli_desk() as desk:
        row = desk.tickets.update(ref, changes, reason=reason, add_tags=adding,
                                  remove_tags=removing)
        send_queued(desk)
        parts = [f"{key.replace('_', ' ')} {row.get(key) or '—'}"
                 if key != "client" else f"client {row.get('client_name') or '—'}"
                 for key in changes]
        if adding or removing:
            parts.append("tags " + (" ".join(desk.tickets.tags_of(row["id"])) or "—"))
    say(f"{ref_of(row)} updated: {', '.join(parts)}")


def note(
    refs: OptionalRefs = None,
    text: Annotated[str | None, typer.Argument(
        metavar="TEXT", show_default=False,
        help="The note; - reads it from stdin. Omit it with --template.")] = None,
    internal: Annotated[bool, typer.Option("--internal", "-i", help="An internal note for "
                                           "technicians, not a reply to the caller.")
                        ] = False,
    template: Annotated[str | None, opt(
        "Use a canned response, filled in for this ticket (list them with 'deskcli notify "
        "snippets'). /name words in TEXT are expanded too.", metavar="NAME")] = None,
    dry_run: DryRun = False,
    keep_going: KeepGoing = False,
) -> None:
    """Add a reply to the caller, or an internal note, on one ticket or several.

    Use --internal for a note only technicians see.

    A reply counts as the first response for the SLA. When email is set up
    ([notify] in config.toml) and the caller has an address, a reply is also emailed
    to them.

    Examples:

    \b
      deskcli note 4521 "Rebuilding your Outlook profile now; back to you in 20 minutes."
      deskcli note 4521 --internal "Credential Manager had two stale entries."
      journalctl -u vpn --since today | deskcli note 4521 --internal -
      deskcli note 4521 --template remote
      deskcli queue --tag outage --format ids | deskcli note - "Fixed at 10:40, please retry"
    """
    refs, text = quick.note_arguments(refs, text, template)
    if bulk_cmd.is_bulk(refs, dry_run, keep_going):
        _bulk_note(refs, text, template, internal, dry_run, keep_going)
        return
    [ref] = refs
    quick.note_one(ref, text, template, internal)


def _bulk_note(refs: list[str], text: str | None, template: str | None, internal: bool,
               dry_run: bool, keep_going: bool) -> None:
    """The same note on every ticket. A template or /snippet is filled in once, for the
    first ticket's values: a shared update says the same words to every caller (their
    own ticket number travels in each message's subject)."""
    from deskcli.domain.bulk import BulkAction

    body = sys.stdin.read() if text == "-" else text
    if template is not None or (body and "/" in body):
        names = bulk_cmd.expand_refs(refs, stdin_taken=text == "-")
        from deskcli.services.notify import NotifyService

        with open_cli_desk() as desk:
            service = NotifyService(desk)
            first = desk.tickets.find(names[0])
            body = (service.snippet(template, first) if template is not None
                    else service.expand(body or "", first))
        refs = names
    bulk_cmd.run(refs, lambda: BulkAction.note(body, internal=internal), dry_run=dry_run,
                 keep_going=keep_going, stdin_taken=text == "-")


def log_time(
    refs: Refs,
    duration: Annotated[str, typer.Argument(metavar="DURATION", show_default=False,
                                            help="Time spent: 1h15m, 90m, 1.5h, 1:15 or "
                                            "minutes.")],
    note_text: Annotated[str | None, opt("What the time was spent on.",
                                         param_decls=["--note"])] = None,
    dry_run: DryRun = False,
    keep_going: KeepGoing = False,
) -> None:
    """Log time spent on a ticket (each of several tickets gets the whole duration).

    A ticket cannot be closed until some time is logged.

    Examples:

    \b
      deskcli log-time 4521 1h15m --note "profile rebuild and test with the user"
      deskcli log-time 4521 20
    """
    if bulk_cmd.is_bulk(refs, dry_run, keep_going):
        from deskcli.domain.bulk import BulkAction

        bulk_cmd.run(refs, lambda: BulkAction.log_time(duration, note=note_text),
                     dry_run=dry_run, keep_going=keep_going)
        return
    [ref] = refs
    with open_cli_desk() as desk:
        minutes = desk.tickets.log_time(ref, duration, note=note_text)
        row = desk.tickets.find(ref)
    say(f"{ref_of(row)}: {minutes} min logged")
