"""Moving a ticket through its checklist and workflow: ``step``, ``escalate``, ``resolve``,
``close`` and ``reopen``. The gates and note-quality rules are the domain's, so a refusal
here reads exactly like the one in the full-screen app."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from deskcli.domain.errors import InvalidInput

from . import bulk_cmd
from .exits import say
from .params import DryRun, KeepGoing, Refs, opt, ref_of
from .session import open_cli_desk
from .tickets import send_queued


def parse_values(pairs: list[str] | None) -> dict[str, Any]:
    """``--value key=value`` pairs; a key given twice collects a list (for list fields)."""
    values: dict[str, Any] = {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise InvalidInput(f"--value {pair!r} is not KEY=VALUE, e.g. --value "
                               "method=callback", field="value")
        if key in values:
            previous = values[key]
            values[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            values[key] = value
    return values


def step(
    refs: Refs,
    step_key: Annotated[str, typer.Argument(metavar="STEP-KEY", show_default=False,
                                            help="The step's key, as listed by deskcli "
                                            "checklist show.")],
    value: Annotated[list[str] | None, opt(
        "What the step collects, as KEY=VALUE; repeat for each field (and to give a list "
        "several entries).", param_decls=["--value", "-v"], metavar="KEY=VALUE")] = None,
    skip: Annotated[str | None, opt(
        "Skip the step instead, with the reason it was not done (required, goes on the "
        "timeline and into show).", metavar="REASON")] = None,
    dry_run: DryRun = False,
    keep_going: KeepGoing = False,
) -> None:
    """Complete a checklist step with what it collects, or skip it with a reason.

    The step's gates apply: for example no account or credential work before the
    caller's identity is verified, and a resolution note must be specific. A ticket closes
    only when every step that applies is done or skipped with a reason.

    Examples:

    \b
      deskcli step 4521 verify_identity --value method=callback \\
          --value detail="called back +1 555 0100 from the directory"
      deskcli step 4521 check_changes --value findings="password changed yesterday" \\
          --value sources=event-log --value sources=intune
      deskcli step 4521 test_with_user --skip "caller unreachable after two attempts"
      deskcli checklist show tier1    # lists the steps and what each collects
    """
    if skip is not None and value:
        raise InvalidInput("give either --value (complete the step) or --skip (skip "
                           "it with a reason), not both", field="skip")
    if bulk_cmd.is_bulk(refs, dry_run, keep_going):
        from deskcli.domain.bulk import BulkAction

        values = parse_values(value)
        bulk_cmd.run(refs, lambda: BulkAction.complete_step(step_key, values, skip=skip),
                     dry_run=dry_run, keep_going=keep_going)
        return
    [ref] = refs
    if skip is not None:
        with open_cli_desk() as desk:
            row = desk.tickets.skip_step(ref, step_key, skip)
        say(f"{ref_of(row)}: step {step_key} skipped: {' '.join(skip.split())}")
        return
    values = parse_values(value)
    with open_cli_desk() as desk:
        row = desk.tickets.complete_step(ref, step_key, values)
        send_queued(desk)
    say(f"{ref_of(row)}: step {step_key} done")


def escalate(
    refs: Refs,
    queue: Annotated[str | None, opt("Team queue to hand over to, e.g. networking.",
                                     metavar="QUEUE")] = None,
    repro: Annotated[str | None, opt("Steps that reproduce the problem.")] = None,
    tried: Annotated[str | None, opt("What was already tried.")] = None,
    impact: Annotated[str | None, opt("Who is affected and how badly.")] = None,
    error: Annotated[str | None, opt("Exact error text (default: the ticket's own).")
                     ] = None,
    asset: Annotated[str | None, opt("Affected asset (default: the ticket's own).")] = None,
    dry_run: DryRun = False,
    keep_going: KeepGoing = False,
) -> None:
    """Escalate to a Tier 2 queue with handoff notes.

    Refused unless the queue, repro steps, error text, what was tried and the user
    impact are all given, so the ticket does not bounce back.

    Examples:

    \b
      deskcli escalate 4521 --queue networking \\
          --repro "connect to VPN, wait 5 minutes" --tried "reinstalled GlobalProtect" \\
          --impact "whole sales team cannot reach the CRM"
    """
    if bulk_cmd.is_bulk(refs, dry_run, keep_going):
        from deskcli.domain.bulk import BulkAction

        handoff = {"queue": queue, "repro": repro, "tried": tried, "impact": impact,
                   "error": error, "asset": asset}
        bulk_cmd.run(refs, lambda: BulkAction.escalate(handoff), dry_run=dry_run,
                     keep_going=keep_going)
        return
    [ref] = refs
    with open_cli_desk() as desk:
        row = desk.tickets.escalate(ref, queue=queue, repro=repro, tried=tried,
                                    impact=impact, error=error, asset=asset)
    say(f"{ref_of(row)}: escalated to {row['queue']}")


def resolve(
    refs: Refs,
    root_cause: Annotated[str | None, opt("What actually caused the problem.")] = None,
    resolution: Annotated[str | None, opt(
        "What fixed it, specifically: the system, setting or command, or a KB id.")] = None,
    category: Annotated[str | None, opt(
        "What the work turned out to be: incident, request, problem or change.",
        metavar="TYPE")] = None,
    children: Annotated[bool | None, typer.Option(
        "--children/--no-children", show_default=False,
        help="Also resolve the open tickets linked under it (deskcli link), with the "
        "same root cause and resolution; each caller is told about their own ticket. "
        "Without either flag you are asked on a terminal, and not in a script.")] = None,
    dry_run: DryRun = False,
    keep_going: KeepGoing = False,
) -> None:
    """Resolve a ticket, from any open status.

    First-contact resolution is the common case at Tier 1.

    The resolution note must be specific enough for the next technician to repeat. A
    resolution or root cause naming account or credential work (a password, MFA, an
    unlock, access) is refused while the caller's identity is not verified.

    Examples:

    \b
      deskcli resolve 4521 --root-cause "stale token after the password change" \\
          --resolution "Cleared Outlook entries in Credential Manager; see KB 4567"
    """
    if bulk_cmd.is_bulk(refs, dry_run, keep_going):
        from deskcli.domain.bulk import BulkAction

        bulk_cmd.run(refs, lambda: BulkAction.resolve(
            root_cause=root_cause, resolution=resolution, category=category,
            children=bool(children)), dry_run=dry_run, keep_going=keep_going)
        return
    [ref] = refs
    with open_cli_desk() as desk:
        kids = desk.tickets.open_children(desk.tickets.find(ref)["id"])
        if kids and children is None:
            children = _ask_children(kids)
        row = desk.tickets.resolve(ref, root_cause=root_cause, resolution=resolution,
                                   category=category, children=bool(children))
        send_queued(desk)
    say(f"{ref_of(row)}: resolved")
    if kids and children:
        say(f"  and its {_count(len(kids), 'child', 'children')}: "
            + ", ".join(ref_of(kid) for kid in kids))
    elif kids:
        plain = " ".join(ref_of(kid).lstrip("#") for kid in kids)
        say(f"  {_count(len(kids), 'open child', 'open children')} left open: "
            + ", ".join(ref_of(kid) for kid in kids)
            + f" (resolve them with: deskcli resolve {plain} --root-cause ... "
            "--resolution ...)")


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _ask_children(kids: list[dict[str, Any]]) -> bool:
    """On a terminal, ask whether the children go too; in a script, they do not (a
    script says --children when it means it)."""
    import sys

    if not sys.stdin.isatty():
        return False
    names = ", ".join(ref_of(kid) for kid in kids[:10]) + (" ..." if len(kids) > 10 else "")
    count = _count(len(kids), "open child", "open children")
    return bool(typer.confirm(f"Also resolve its {count} ({names}) with this resolution, "
                              "telling each caller?", default=False, err=True))


def close(
    refs: Refs,
    category: Annotated[str | None, opt(
        "Resolution category: incident, request, problem or change (default: the "
        "ticket's type).", metavar="TYPE")] = None,
    dry_run: DryRun = False,
    keep_going: KeepGoing = False,
) -> None:
    """Close a resolved ticket, or several.

    Time must have been logged on it, every checklist step that applies must be done or
    skipped with a reason (deskcli step REF KEY --skip "why"), and account or credential
    work needs a verified caller. A refusal names what is missing.

    Examples:

    \b
      deskcli close 4521
      deskcli close 4521 --category request
    """
    if bulk_cmd.is_bulk(refs, dry_run, keep_going):
        from deskcli.domain.bulk import BulkAction

        bulk_cmd.run(refs, lambda: BulkAction.close(category=category), dry_run=dry_run,
                     keep_going=keep_going)
        return
    [ref] = refs
    with open_cli_desk() as desk:
        row = desk.tickets.close(ref, category=category)
    say(f"{ref_of(row)}: closed as {row['resolution_category']}")


def reopen(
    refs: Refs,
    reason: Annotated[str | None, opt("Why the fix did not hold (required).")] = None,
    dry_run: DryRun = False,
    keep_going: KeepGoing = False,
) -> None:
    """Reopen a resolved or closed ticket.

    The reason is required and goes on the timeline.

    Examples:

    \b
      deskcli reopen 4521 --reason "prompt is back after the laptop restarted"
    """
    if bulk_cmd.is_bulk(refs, dry_run, keep_going):
        from deskcli.domain.bulk import BulkAction

        bulk_cmd.run(refs, lambda: BulkAction.reopen(reason=reason), dry_run=dry_run,
                     keep_going=keep_going)
        return
    [ref] = refs
    with open_cli_desk() as desk:
        row = desk.tickets.reopen(ref, reason=reason)
    say(f"{ref_of(row)}: reopened")
