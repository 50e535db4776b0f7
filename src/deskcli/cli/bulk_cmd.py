"""Several tickets at once from the shell: references from arguments or stdin, a preview
with ``--dry-run``, all or nothing by default, ``--keep-going`` to change what can be.

Every command that changes a ticket takes ``REF...``. With exactly one reference and
neither ``--dry-run`` nor ``--keep-going`` the command runs its single-ticket path and
prints what it always printed; otherwise it builds a ``BulkAction`` and runs it through
``services.bulk`` (the same service calls, ticket by ticket, in one transaction).

Exit codes: 0 every ticket changed (or needed no change); 2 some ticket was refused and
nothing was written (each refusal on stderr); 1 with ``--keep-going`` when some were
refused and the others were written. ``--dry-run`` exits with the code the real run
would give, and writes nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import typer

from deskcli.domain.bulk import read_ref_lines, unique_refs
from deskcli.domain.errors import InvalidInput

from . import output
from .exits import ExitCode, report, say
from .session import open_cli_desk

if TYPE_CHECKING:
    from deskcli.domain.bulk import BulkAction

#: Bad references listed before "... and N more".
MAX_NAMED = 10


def expand_refs(refs: Sequence[str], *, stdin_taken: bool = False) -> list[str]:
    """The references given, with ``-`` replaced by the lines of stdin (blank lines and
    ``#`` comments ignored). Refuses (exit 2, nothing written) text that is not a
    reference, naming each, and an empty list."""
    out: list[str] = []
    used_stdin = False
    for ref in refs:
        if ref == "-":
            if used_stdin or stdin_taken:
                raise InvalidInput("stdin can be read once: give - for the references or "
                                   "for the text, not both", field="ticket")
            used_stdin = True
            out.extend(read_ref_lines(sys.stdin.read()))
        else:
            out.append(ref)
    if not out:
        raise InvalidInput("no tickets named: give REF..., or - to read references from "
                           "stdin" + (" (stdin had none)" if used_stdin else ""),
                           field="ticket")
    _refs, bad = unique_refs(out)
    if bad:
        named = ", ".join(repr(text) for text in bad[:MAX_NAMED])
        more = f" and {len(bad) - MAX_NAMED} more" if len(bad) > MAX_NAMED else ""
        raise InvalidInput(f"not ticket references: {named}{more}; use a number such as "
                           "4521 or #4521, a provisional label such as L-3f9a-2, or a "
                           "ticket id (nothing was written)", field="ticket")
    return out


def is_bulk(refs: Sequence[str], dry_run: bool, keep_going: bool) -> bool:
    """Whether the command takes the bulk path (see the module docstring)."""
    return dry_run or keep_going or len(refs) != 1 or refs[0] == "-"


def run(refs: Sequence[str], build: Callable[[], BulkAction], *, dry_run: bool,
        keep_going: bool, stdin_taken: bool = False) -> None:
    """Preview (``dry_run``) or apply the action to every ticket; report and exit."""
    from deskcli.services.bulk import BulkService

    names = expand_refs(refs, stdin_taken=stdin_taken)
    action = build()  # the shared parts are checked before any ticket is read
    with open_cli_desk() as desk:
        service = BulkService(desk.tickets, one_shot=True)
        if dry_run:
            result = service.preview(names, action)
            output.write_text("\n".join(result.lines()))
        else:
            result = service.apply(names, action, keep_going=keep_going)
            if result.applied:
                for outcome in [*result.changed, *result.unchanged]:
                    say(outcome.line())
                if result.changed:
                    from .tickets import send_queued

                    send_queued(desk)
    for outcome in result.refused:
        report(outcome.line())
    total = len(result.outcomes)
    if dry_run:
        if result.refused:
            raise typer.Exit(int(ExitCode.FAILED if keep_going else ExitCode.BAD_INPUT))
        return
    if not result.applied:
        report(f"nothing was written: {len(result.refused)} of {total} tickets refused "
               "(fix them, or use --keep-going to change the others)")
        raise typer.Exit(int(ExitCode.BAD_INPUT))
    say(result.headline())
    if result.refused:
        raise typer.Exit(int(ExitCode.FAILED))
