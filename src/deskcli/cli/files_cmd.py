"""Files in and out of the store: ``attach``, ``attachment`` (save one back out)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from . import bulk_cmd
from .exits import ExitCode, fail, say
from .params import DryRun, KeepGoing, Refs, ref_of
from .session import open_cli_desk


def attach(
    refs: Refs,
    file: Annotated[str, typer.Argument(metavar="FILE", show_default=False,
                                        help="The file to attach (a screenshot, a log).")],
    follow_symlinks: Annotated[bool, typer.Option(
        "--follow-symlinks", help="Attach what a symbolic link points to; without it a "
        "link is refused.")] = False,
    dry_run: DryRun = False,
    keep_going: KeepGoing = False,
) -> None:
    """Attach a file to a ticket; its content is copied into the store.

    Only regular files are read, up to attachment_max_mb (10 MiB unless config.toml says
    otherwise), counting the bytes actually read. The content is stored by its SHA-256
    hash and checked against it whenever it is saved back out.

    Examples:

    \b
      deskcli attach 4521 ~/Desktop/outlook-error.png
      deskcli attach 4521 /var/log/vpn/current.log --follow-symlinks
    """
    if bulk_cmd.is_bulk(refs, dry_run, keep_going):
        from deskcli.domain.bulk import BulkAction

        bulk_cmd.run(refs, lambda: BulkAction.attach(file, follow_symlinks=follow_symlinks),
                     dry_run=dry_run, keep_going=keep_going)
        return
    [ref] = refs
    with open_cli_desk() as desk:
        attachment_id = desk.tickets.attach(ref, file, follow_symlinks=follow_symlinks)
        row = desk.tickets.find(ref)
    say(f"{ref_of(row)}: attached {Path(file).name} (attachment {attachment_id})")


def attachment(
    attachment_id: Annotated[str, typer.Argument(
        metavar="ID", show_default=False,
        help="The attachment's id, or the start of it ('deskcli show REF --format json' "
             "lists them).")],
    output_path: Annotated[str | None, typer.Option(
        "--output", "-o", metavar="PATH",
        help="Write the content to this file (created 0600; an existing file is not "
             "overwritten). Default: standard output.")] = None,
) -> None:
    """Save an attachment's content, after checking it against its SHA-256 hash.

    Content that does not match its hash is never written out: the command says so and
    exits 1 (run 'deskcli doctor' to check the whole store).

    Examples:

    \b
      deskcli attachment 01934f2c -o outlook-error.png
      deskcli attachment 01934f2c | less
    """
    if not attachment_id.strip():
        fail("give an attachment id ('deskcli show REF --format json' lists them)")
    with open_cli_desk() as desk:
        row, data = desk.tickets.attachment(attachment_id.strip())
    if output_path is None:
        if sys.stdout.isatty() and b"\0" in data:
            fail(f"{row['filename']} is binary: save it with --output PATH", ExitCode.BAD_INPUT)
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    target = Path(output_path).expanduser()
    try:
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL
                             | getattr(os, "O_CLOEXEC", 0), 0o600)
    except FileExistsError:
        fail(f"{output_path} already exists: choose another name or remove it first")
    except OSError as error:
        fail(f"cannot write {output_path}: {error.strerror}", ExitCode.FAILED)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
    say(f"saved {row['filename']} ({len(data)} bytes, SHA-256 checked) to {target}")
