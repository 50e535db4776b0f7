"""``deskcli notify …``: test a channel, look at the outbound queue, send what is due.

Sending is network work, so httpx and the adapters load only inside these commands. A P1
page that cannot go out is never quiet: every command that sends reports it on stderr in
capitals and exits 1 while the page is undelivered.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from deskcli.services.desk import Desk

from . import output
from .exits import ExitCode, fail, say
from .params import Ref, opt, ref_of
from .session import open_cli_desk

if TYPE_CHECKING:
    from deskcli.services.notify import NotifyService

app = typer.Typer(
    name="notify", no_args_is_help=True, rich_markup_mode=None,
    help="""Pages, incident chat posts and caller email: test, inspect and send.

    Messages are queued with the ticket change that causes them (intake, P1, page step,
    resolve, close) and sent by the full-screen app in the background, by any command
    that queues one, or by 'deskcli notify send' from cron. Channels and templates are
    set up in the [notify] section of config.toml (docs/notifications.md).

    Examples:

    \b
      deskcli notify test pagerduty        # a low-severity test event, resolved at once
      deskcli notify status                # what is waiting or has failed
      */5 * * * * deskcli notify send      # a crontab line: retry what is due
    """)

STATUS_KEYS = ("ticket", "purpose", "channel", "to", "state", "attempts", "next_try",
               "last_error")


def _service(desk: Desk) -> NotifyService:
    from deskcli.services.notify import NotifyService

    return NotifyService(desk)


def report_pages(rows: list[dict[str, object]]) -> None:
    """The loud part: every undelivered P1 page, one line each, on stderr."""
    for row in rows:
        ref = ref_of(row)
        say(f"deskcli: P1 PAGE NOT DELIVERED: {ref} via {row['channel']} "
            f"({row['state']}, {row['attempts']} attempt"
            f"{'' if row['attempts'] == 1 else 's'}): {row['last_error']}")


@app.command("test")
def test_channel(
    channel: Annotated[str, typer.Argument(metavar="CHANNEL", show_default=False,
                                           help="A channel name from config.toml.")],
    to: Annotated[str | None, opt("Email channels: the address to write to (default: the "
                                  "channel's own from address).", metavar="EMAIL")] = None,
) -> None:
    """Send a test message through one channel and say what the receiver answered.

    Pagers get a low-severity event that is resolved straight away, so nobody is woken.
    Exit 0 when the receiver accepted it, 1 when it did not (the reason is printed),
    2 when the channel is unknown or its settings or secret are missing.

    Examples:

    \b
      deskcli notify test pd
      deskcli notify test mail --to me@example.org
    """
    with open_cli_desk() as desk:
        result = _service(desk).test(channel, to=to)
    if not result.ok:
        fail(f"{channel}: {result.detail}", ExitCode.FAILED)
    say(f"{channel}: ok ({result.detail})")


@app.command("status")
def status(
    everything: Annotated[bool, typer.Option("--all", "-a", help="Include messages already "
                                             "sent or withdrawn.")] = False,
    fmt: Annotated[output.Format | None, typer.Option(
        "--format", "-f", case_sensitive=False,
        help="table on a terminal, tsv when piped; or csv, json, jsonl.")] = None,
) -> None:
    """List the outbound queue: waiting, being sent and failed messages.

    Exit 1 while any P1 page is undelivered after a failed attempt.

    Example:

    \b
      deskcli notify status --all --format jsonl | jq -c 'select(.state == "failed")'
    """
    chosen = output.pick_format(fmt)
    with open_cli_desk() as desk:
        service = _service(desk)
        rows = service.listing(everything=everything)
        pages = service.failing_pages()
    output.write_rows(((ref_of(r), r["purpose"], r["channel"], r["recipient"] or "",
                        r["state"], r["attempts"],
                        r["not_before"] if r["state"] == "queued" else "",
                        r["last_error"] or "") for r in rows), STATUS_KEYS, chosen)
    if pages:
        report_pages(pages)
        raise typer.Exit(int(ExitCode.FAILED))


@app.command("send")
def send() -> None:
    """Send every message that is due now, once, and report.

    Failures are retried later with growing waits (see [notify.retry]); run this from
    cron or a timer to keep the queue moving when the full-screen app is closed.
    Exit 1 when a message failed for good or a P1 page is still undelivered.

    Example:

    \b
      */5 * * * * deskcli notify send 2>> ~/deskcli-notify.log
    """
    with open_cli_desk() as desk:
        service = _service(desk)
        try:
            report = service.send_due()
        finally:
            service.close()
    say(f"sent {len(report.sent)}, retrying {len(report.retrying)}, failed "
        f"{len(report.failed)}" + (f", withdrawn {len(report.cancelled)}"
                                   if report.cancelled else ""))
    if report.failing_pages:
        report_pages(report.failing_pages)
    if report.failing_pages or report.failed:
        raise typer.Exit(int(ExitCode.FAILED))


@app.command("update")
def update(
    ref: Ref,
    text: Annotated[str | None, typer.Argument(
        metavar="TEXT", show_default=False,
        help="What to tell the caller; - reads stdin. Omit with --template.")] = None,
    template: Annotated[str | None, opt("A canned response to send (see 'deskcli notify "
                                        "snippets').", metavar="NAME")] = None,
) -> None:
    """Give the caller a checkpoint update: a reply on the ticket, emailed to them.

    The reply restarts the communication checkpoint; the email goes through the queue.

    Examples:

    \b
      deskcli notify update 4521 "Still on it: the vendor answers by 15:00."
      deskcli notify update 4521 --template working
    """
    with open_cli_desk() as desk:
        service = _service(desk)
        body = _body(service, desk, ref, text, template)
        ticket, queued = service.update(ref, body)
        say(f"{ref_of(ticket)}: update added" + (", email queued" if queued else
                                                 " (no email: the caller has no address "
                                                 "or email is not set up)"))
        send_after_change(desk)


@app.command("ack")
def acknowledge(ref: Ref) -> None:
    """Tell the pager the on-call engineer has the P1, so it stops escalating.

    Example:

    \b
      deskcli notify ack 4521
    """
    with open_cli_desk() as desk:
        _service(desk).acknowledge_page(ref)
        ticket = desk.tickets.find(ref)
        say(f"{ref_of(ticket)}: page acknowledgement queued")
        send_after_change(desk)


@app.command("retry")
def retry(ref: Annotated[str | None, typer.Argument(
        metavar="REF", show_default=False,
        help="Only this ticket's messages (default: all).")] = None) -> None:
    """Make failed and waiting messages due now, after fixing a channel's settings.

    Example:

    \b
      deskcli notify retry && deskcli notify send
    """
    with open_cli_desk() as desk:
        count = _service(desk).retry(ref)
    say(f"{count} message(s) due again; run 'deskcli notify send'")


@app.command("snippets")
def snippets() -> None:
    """List the canned responses (name, then text), built-in and your team's.

    Example:

    \b
      deskcli notify snippets | grep -i vpn
    """
    with open_cli_desk() as desk:
        found = _service(desk).snippets()
    output.write_rows(sorted(found.items()), ("name", "text"),
                      output.pick_format(None))


def _body(service: NotifyService, desk: Desk, ref: str, text: str | None,
          template: str | None) -> str:
    if text is not None and template is not None:
        fail("give the text or --template NAME, not both")
    if template is not None:
        return service.snippet(template, desk.tickets.find(ref))
    if text is None:
        fail("say what to tell the caller: give TEXT, - for stdin, or --template NAME")
    return sys.stdin.read() if text == "-" else text


def send_after_change(desk: Desk) -> None:
    """After a command queued messages, try them at once (no daemon on the CLI).

    A page that cannot go out turns the command's exit into 1 with the loud report; the
    change itself is committed and the page stays queued for the next try.
    """
    if desk.outbound is None:
        return
    from deskcli.domain.errors import DeskError

    service = _service(desk)
    if not service.has_due():
        return
    try:
        report = service.send_due()
    except DeskError as error:  # a missing secret: the change stands, the page waits
        say(f"deskcli: messages queued but not sent: {error.message}")
        if service.queue.listing(("queued",)) and any(
                r["purpose"] == "page" for r in service.queue.listing(("queued",))):
            say("deskcli: P1 PAGE NOT DELIVERED: fix the channel settings, then run "
                "'deskcli notify send'")
            raise typer.Exit(int(ExitCode.FAILED)) from None
        return
    finally:
        service.close()
    if report.failing_pages:
        report_pages(report.failing_pages)
        raise typer.Exit(int(ExitCode.FAILED))
