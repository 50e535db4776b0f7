"""Parameter declarations shared by the ticket commands."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any

import typer

from deskcli.domain.numbering import display_ref

Ref = Annotated[str, typer.Argument(metavar="REF", show_default=False,
                                    help="Ticket: 4521, #4521, a provisional label or an id.")]
#: Several tickets: each REF as above, or - to read them from stdin, one per line (blank
#: lines and # comments ignored), e.g. from ``deskcli queue --format ids``.
Refs = Annotated[list[str], typer.Argument(
    metavar="REF...", show_default=False,
    help="Tickets: 4521, #4521, a provisional label or an id; several at once, or - to "
         "read them from stdin, one per line.")]
#: The same, for a command whose last argument is optional (``note REF... [TEXT]``): the
#: command checks that a reference was given.
OptionalRefs = Annotated[list[str] | None, typer.Argument(
    metavar="REF...", show_default=False,
    help="Tickets: 4521, #4521, a provisional label or an id; several at once, or - to "
         "read them from stdin, one per line.")]
DryRun = Annotated[bool, typer.Option(
    "--dry-run", help="Show what would change on each ticket, and which would be refused "
    "and why; write nothing.")]
KeepGoing = Annotated[bool, typer.Option(
    "--keep-going", help="With several tickets: change the ones that can be changed and "
    "name the refused ones (exit 1). Default: one refusal and nothing is written (exit 2).")]


def opt(help_text: str, *, param_decls: Sequence[str] = (), **kwargs: Any) -> Any:
    """An optional value documented by ``help_text``, shown without "[default: None]".

    Values stay plain text here on purpose: the domain parses them, so a bad value gets
    the same message as in the full-screen app instead of a generic parser error.
    """
    kwargs.setdefault("metavar", "TEXT")
    return typer.Option(*param_decls, help=help_text, show_default=False, **kwargs)


def ref_of(row: Mapping[str, Any]) -> str:
    """``#4521``, or the provisional label of a ticket not numbered yet."""
    return display_ref(row["number"], row["provisional"])
