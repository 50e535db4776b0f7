"""``deskcli mail …``: take tickets from the support mailboxes, and see how that is going.

IMAP is network work, so imapclient and the intake code load only inside these commands.
Mailboxes are set up in the ``[intake.mailboxes.NAME]`` tables of config.toml
(docs/email.md); each one's password comes from the environment or the keyring.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Annotated

import typer

from deskcli.services.desk import Desk

from . import output
from .exits import ExitCode, fail, say
from .session import open_cli_desk

if TYPE_CHECKING:
    from deskcli.services.mail import MailIntake

app = typer.Typer(
    name="mail", no_args_is_help=True, rich_markup_mode=None,
    help="""Tickets by email: fetch the support mailboxes, check them, see their state.

    A new message becomes a ticket (channel email, identity not verified); a reply lands
    on its ticket as a note from the caller; auto-replies, bounces and list mail never
    open a ticket. Each message is taken in exactly once and then moved to the
    processed or refused folder. Set mailboxes up in config.toml (docs/email.md).

    Examples:

    \b
      deskcli mail test support            # log in and check the folders, fetch nothing
      deskcli mail fetch                   # one pass over every mailbox
      */2 * * * * deskcli mail fetch       # a crontab line
      deskcli mail status --format json | jq '.[] | select(.failures > 0)'
    """)

STATUS_KEYS = ("mailbox", "host", "folder", "last_fetch", "last_success", "failures",
               "tickets", "replies", "notes", "refused", "parked", "last_error")


def _intake(desk: Desk) -> MailIntake:
    from deskcli.services.mail import for_desk

    return for_desk(desk)


@app.command("fetch")
def fetch(
    mailbox: Annotated[str | None, typer.Option(
        "--mailbox", "-m", metavar="NAME", show_default=False,
        help="Only this mailbox (default: every configured one).")] = None,
    keep_watching: Annotated[bool, typer.Option(
        "--watch", "-w", help="Keep fetching, a pass every [intake] watch_interval "
                              "(default 60s), until Ctrl-C.")] = False,
) -> None:
    """Take new mail in: one line per message on stderr saying what became of it.

    Exit 0 when every message was handled (taken in as a ticket or reply, or refused with
    its reason), 1 when a mailbox could not be reached or logged into (nothing is lost:
    what was not fetched stays in the mailbox for the next pass), 2 when the mailbox is
    unknown or has no password.

    Examples:

    \b
      deskcli mail fetch
      deskcli mail fetch --mailbox support --watch
    """
    from deskcli.intake.imap import connect, password_for
    from deskcli.services.mail import MailFetcher, mailbox_names

    from .notify_cmd import send_after_change

    with open_cli_desk() as desk:
        boxes = mailbox_names(desk.config.intake, mailbox)
        for box in boxes:
            password_for(box)  # a missing password is a setup problem: exit 2 up front
        fetcher = MailFetcher(_intake(desk), connect, on_line=say)
        interval = desk.config.intake.watch_interval.total_seconds()
        while True:
            failed = False
            for box in boxes:
                report = fetcher.fetch(box)
                failed = failed or report.error is not None
            if desk.outbound is not None:
                send_after_change(desk)
            if not keep_watching:
                break
            pause(interval)
    if failed:
        raise typer.Exit(int(ExitCode.FAILED))


def pause(seconds: float) -> None:
    """The wait between --watch passes (replaced in tests)."""
    time.sleep(seconds)


@app.command("status")
def status(
    fmt: Annotated[output.Format | None, typer.Option(
        "--format", "-f", case_sensitive=False,
        help="table on a terminal, tsv when piped; or csv, json, jsonl.")] = None,
) -> None:
    """Each mailbox's last fetch, failures in a row, what its mail became, last error.

    Counts are all time; the JSON form also has the last 24 hours. Exit 1 when a mailbox's
    last fetch failed.

    Example:

    \b
      deskcli mail status --format json
    """
    chosen = output.pick_format(fmt)
    with open_cli_desk() as desk:
        rows = _intake(desk).status()
    if not rows:
        fail("no mailboxes are configured: add an [intake.mailboxes.NAME] table to "
             "config.toml (see docs/email.md)", ExitCode.BAD_INPUT)
    if chosen is output.Format.JSON:
        output.write_text(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        output.write_rows(((r["mailbox"], r["host"], r["folder"], r["last_fetch"] or "",
                            r["last_success"] or "", r["failures"],
                            r["counts"].get("ticket", 0), r["counts"].get("reply", 0),
                            r["counts"].get("note", 0), r["counts"].get("refused", 0),
                            r["counts"].get("parked", 0), r["last_error"] or "")
                           for r in rows), STATUS_KEYS, chosen)
    if any(r["last_error"] for r in rows):
        raise typer.Exit(int(ExitCode.FAILED))


@app.command("test")
def test_mailbox(
    name: Annotated[str, typer.Argument(metavar="NAME", show_default=False,
                                        help="A mailbox name from config.toml.")],
) -> None:
    """Log into a mailbox and check its folders, without fetching or moving anything.

    The processed and refused folders are listed as missing if they do not exist yet
    (the first fetch creates them). Exit 0 when the login worked and the folder exists,
    1 when the server cannot be reached or refuses the login, 2 for an unknown mailbox
    or a missing password.

    Example:

    \b
      DESKCLI_INTAKE_SUPPORT_PASSWORD=... deskcli mail test support
    """
    from deskcli.intake.imap import connect
    from deskcli.services.mail import MailboxUnreachable, mailbox_names

    with open_cli_desk() as desk:
        box = mailbox_names(desk.config.intake, name)[0]
    try:
        session = connect(box)
    except MailboxUnreachable as error:
        fail(f"{name}: {error}", ExitCode.FAILED)
    try:
        folders = set(session.folders())
        waiting = None
        if box.folder in folders:
            waiting = session.examine(box.folder)
    except MailboxUnreachable as error:
        fail(f"{name}: {error}", ExitCode.FAILED)
    finally:
        session.close()
    lines = [f"{name}: logged in to {box.host}:{box.port} as {box.username} "
             f"({box.security.value})"]
    for label, folder in (("folder", box.folder), ("processed_folder", box.processed_folder),
                          ("refused_folder", box.refused_folder)):
        state = "ok" if folder in folders else (
            "MISSING" if label == "folder" else "missing (created on the first fetch)")
        lines.append(f"  {label} {folder!r}: {state}")
    if waiting is not None:
        lines.append(f"  {waiting} message(s) waiting in {box.folder!r}")
    for line in lines:
        say(line)
    if box.folder not in folders:
        fail(f"{name}: folder {box.folder!r} does not exist on the server; folders: "
             f"{', '.join(sorted(folders))}", ExitCode.FAILED)
