"""Moving a ticket through its checklist and workflow: ``step``, ``escalate``, ``resolve``,
``close`` and ``reopen``. The gates and note-quality rules are the domain's, so a refusal
here reads exactly like the one in the full-screen app."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from deskcli.domain.errors import InvalidInput

from .exits import say
from .params import Ref, opt, ref_of
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
    ref: Ref,
    step_key: Annotated[str, typer.Argument(metavar="STEP-KEY", show_default=False,
                                            help="The step's key, as listed by deskcli "
                                            "checklist show.")],
    value: Annotated[list[str] | None, opt(
        "What the step collects, as KEY=VALUE; repeat for each field (and to give a list "
        "several entries).", param_decls=["--value", "-v"], metavar="KEY=VALUE")] = None,
    skip: Annotated[str | None, opt(
        "Skip the step instead, with the reason it was not done (required, goes on the "
        "timeline and into show).", metavar="REASON")] = None,
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
    if skip is not None:
        if value:
            raise InvalidInput("give either --value (complete the step) or --skip (skip "
                               "it with a reason), not both", field="skip")
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
    ref: Ref,
    queue: Annotated[str | None, opt("Team queue to hand over to, e.g. networking.",
                                     metavar="QUEUE")] = None,
    repro: Annotated[str | None, opt("Steps that reproduce the problem.")] = None,
    tried: Annotated[str | None, opt("What was already tried.")] = None,
    impact: Annotated[str | None, opt("Who is affected and how badly.")] = None,
    error: Annotated[str | None, opt("Exact error text (default: the ticket's own).")
                     ] = None,
    asset: Annotated[str | None, opt("Affected asset (default: the ticket's own).")] = None,
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
    with open_cli_desk() as desk:
        row = desk.tickets.escalate(ref, queue=queue, repro=repro, tried=tried,
                                    impact=impact, error=error, asset=asset)
    say(f"{ref_of(row)}: escalated to {row['queue']}")


def resolve(
    ref: Ref,
    root_cause: Annotated[str | None, opt("What actually caused the problem.")] = None,
    resolution: Annotated[str | None, opt(
        "What fixed it, specifically: the system, setting or command, or a KB id.")] = None,
    category: Annotated[str | None, opt(
        "What the work turned out to be: incident, request, problem or change.",
        metavar="TYPE")] = None,
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
    with open_cli_desk() as desk:
        row = desk.tickets.resolve(ref, root_cause=root_cause, resolution=resolution,
                                   category=category)
        send_queued(desk)
    say(f"{ref_of(row)}: resolved")


def close(
    ref: Ref,
    category: Annotated[str | None, opt(
        "Resolution category: incident, request, problem or change (default: the "
        "ticket's type).", metavar="TYPE")] = None,
) -> None:
    """Close a resolved ticket.

    Time must have been logged on it, every checklist step that applies must be done or
    skipped with a reason (deskcli step REF KEY --skip "why"), and account or credential
    work needs a verified caller. A refusal names what is missing.

    Examples:

    \b
      deskcli close 4521
      deskcli close 4521 --category request
    """
    with open_cli_desk() as desk:
        row = desk.tickets.close(ref, category=category)
    say(f"{ref_of(row)}: closed as {row['resolution_category']}")


def reopen(
    ref: Ref,
    reason: Annotated[str | None, opt("Why the fix did not hold (required).")] = None,
) -> None:
    """Reopen a resolved or closed ticket.

    The reason is required and goes on the timeline.

    Examples:

    \b
      deskcli reopen 4521 --reason "prompt is back after the laptop restarted"
    """
    with open_cli_desk() as desk:
        row = desk.tickets.reopen(ref, reason=reason)
    say(f"{ref_of(row)}: reopened")
