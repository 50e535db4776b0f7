"""Team server and sync commands: ``serve``, ``server …`` (admin), ``login``, ``logout``, ``sync``.

FastAPI, uvicorn, SQLAlchemy and httpx are imported inside the commands, so the rest of
the CLI never pays for them.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from deskcli.domain.errors import DeskError, InvalidInput
from deskcli.paths import resolve_paths

from . import output
from .exits import ExitCode, fail, say
from .session import open_cli_desk

server_app = typer.Typer(
    name="server", no_args_is_help=True, rich_markup_mode=None,
    help="""Administer a team server's technicians (run on the server machine).

    Tokens are printed once and only their hashes are kept; rotate a token by revoking it
    and adding the technician again.

    Example:

    \b
      deskcli server add-tech dana --client "Northwind Dental"
      deskcli server techs
    """)

DatabaseUrl = Annotated[str | None, typer.Option(
    "--database-url", envvar="DESKCLI_SERVER_DATABASE_URL",
    help="sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST/DB. Default: "
         "server.db in the deskcli data folder.")]


def _database_url(url: str | None) -> str:
    if url:
        if not url.startswith(("sqlite:///", "postgresql")):
            fail(f"{url!r} is not a supported database URL: use sqlite:///PATH or "
                 "postgresql+psycopg://USER:PASSWORD@HOST/DB")
        return url
    from deskcli.server.db import sqlite_url

    return sqlite_url(resolve_paths().data_dir / "server.db")


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8765,
    database_url: DatabaseUrl = None,
    workers: Annotated[int, typer.Option(min=1, max=64,
                                         help="Worker processes (PostgreSQL only).")] = 1,
) -> None:
    """Run the team server that technicians' deskcli sync with.

    When the server's config.toml has [intake.mailboxes], the server also fetches them
    and the tickets reach every technician by sync (docs/email.md). When its config
    folder has a rules.toml, the server runs the rules for every technician
    (docs/rules.md).

    Example:

    \b
      deskcli serve --host 0.0.0.0 --port 8765 \\
        --database-url postgresql+psycopg://deskcli:secret@db/deskcli
    """
    import os

    import uvicorn

    url = _database_url(database_url)
    if workers > 1 and url.startswith("sqlite"):
        fail("several workers need PostgreSQL: SQLite allows one writer at a time")
    from deskcli.server.app import create_app
    from deskcli.server.db import ServerDatabaseError

    try:
        app = create_app(url)
    except (ServerDatabaseError, ValueError) as error:  # a bad URL or setting
        fail(str(error))
    except Exception as error:  # the database cannot be reached or opened
        fail(f"cannot open the server database: {type(error).__name__}: {error}",
             ExitCode.FAILED)
    say(f"deskcli team server on http://{host}:{port} (database: {url.split('@')[-1]})")
    from deskcli.paths import resolve_paths
    from deskcli.server import intake

    local = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    fetcher = intake.start(server_url=f"http://{local}:{port}", database_url=url,
                           paths=resolve_paths(), log=say)
    if fetcher is not None:
        say(f"fetching mail from: {', '.join(fetcher.mailboxes)} (docs/email.md)")
    from deskcli.server import rules as server_rules

    try:
        server_rules.start(server_url=f"http://{local}:{port}", database_url=url,
                           paths=resolve_paths(), log=say)
    except DeskError as error:  # a broken rules.toml: named, and the server does not start
        fail(str(error))
    if workers == 1:
        uvicorn.run(app, host=host, port=port, log_level="info")
    else:
        os.environ["DESKCLI_SERVER_DATABASE_URL"] = url
        uvicorn.run("deskcli.server.asgi:create", factory=True, host=host, port=port,
                    workers=workers, log_level="info")


def _open_server_database(database_url: str | None) -> Any:
    """The server database's engine, at the schema this deskcli needs: a database at
    another schema revision is refused (exit 2, nothing written) with what to run."""
    from deskcli.server.db import ServerDatabaseError, init_database, make_engine
    from deskcli.server.revisions import SchemaOutOfDate, SchemaUnknown

    try:
        engine = make_engine(_database_url(database_url))
    except ServerDatabaseError as error:
        fail(str(error), ExitCode.FAILED)
    try:
        init_database(engine)
    except (SchemaOutOfDate, SchemaUnknown) as error:
        engine.dispose()
        fail(str(error))
    except Exception as error:  # the database cannot be reached or opened
        engine.dispose()
        fail(f"cannot open the server database: {type(error).__name__}: {error}",
             ExitCode.FAILED)
    return engine


def _server_session(database_url: str | None) -> Any:
    from sqlmodel import Session

    return Session(_open_server_database(database_url))


def revoke(handle: Annotated[str, typer.Argument(help="The technician to lock out.")],
           database_url: DatabaseUrl = None) -> None:
    """Revoke a technician's token at once (rotate by revoking, then add-tech again).

    Example:

    \b
      deskcli server revoke dana && deskcli server add-tech dana --client Acme
    """
    from deskcli.server.auth import revoke as do_revoke

    with _server_session(database_url) as session:
        do_revoke(session, handle)
        session.commit()
    say(f"technician {handle} can no longer sync")


def techs(database_url: DatabaseUrl = None,
          fmt: Annotated[output.Format | None, typer.Option(
              "--format", help="table, tsv, csv, json or jsonl.")] = None) -> None:
    """List the technicians and the clients each one works for.

    Example:

    \b
      deskcli server techs --format json
    """
    from deskcli.server.auth import techs as listing

    with _server_session(database_url) as session:
        rows = [(t.handle, t.name, t.tier, "admin" if t.is_admin else ",".join(clients),
                 "revoked" if t.revoked else "active")
                for t, clients in listing(session)]
    output.write_rows(rows, ["handle", "name", "tier", "clients", "status"],
                      output.pick_format(fmt))


def ops(op: Annotated[str | None, typer.Option(
            "--op", help="Show only this op id.")] = None,
        record: Annotated[str | None, typer.Option(
            "--record", help="Only ops on this record id (a ticket's, a note's...).")] = None,
        tech: Annotated[str | None, typer.Option(
            "--tech", help="Only ops pushed by this technician.")] = None,
        since: Annotated[int, typer.Option(
            min=0, help="Only ops after this feed sequence number.")] = 0,
        limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many.")] = 50,
        retract: Annotated[str | None, typer.Option(
            "--retract", metavar="OP_ID",
            help="Withdraw this op from the feed (needs --reason); stores apply the "
                 "retraction on their next sync.")] = None,
        reason: Annotated[str | None, typer.Option(
            help="Why the op is retracted; kept with the retraction in the feed.")] = None,
        database_url: DatabaseUrl = None,
        fmt: Annotated[output.Format | None, typer.Option(
            "--format", help="table, tsv, csv, json or jsonl.")] = None) -> None:
    """Inspect the change feed, and retract an op that stores cannot use.

    The feed is never edited: a retraction is a new op that every store of the op's
    client applies. A retracted field change is replaced by the value that wins without
    it; a retracted note or other added record is removed; a store that had set the op
    aside ('deskcli sync --quarantined') drops it.

    Example:

    \b
      deskcli server ops --record 0193a5c2-7d1e-7b11-8f00-3c2b1a0e9d77
      deskcli server ops --retract 0193a5c2-... --reason "malformed value from deskcli 0.9"
    """
    from deskcli.server.ops import list_ops
    from deskcli.server.ops import retract as do_retract

    if retract is not None:
        import time

        from deskcli.clock import SystemClock, new_id
        from deskcli.domain.timefmt import to_iso

        if not (reason or "").strip():
            fail("say why the op is retracted with --reason: it is kept with the "
                 "retraction in the feed")
        with _server_session(database_url) as session:
            done = do_retract(session, retract, reason=reason or "", by="admin",
                              now_iso=to_iso(SystemClock().now()),
                              now_ms=time.time_ns() // 1_000_000, new_id=new_id)
            session.commit()
        say(f"op {retract} retracted (feed sequence {done.seq}); stores apply it on their "
            "next sync")
        return
    with _server_session(database_url) as session:
        found = list_ops(session, op_id=op, entity_id=record, tech=tech, since=since,
                         limit=limit)
        pick = output.pick_format(fmt)
        full = pick in (output.Format.JSON, output.Format.JSONL)
        rows = [(o.seq, o.op_id, o.received_at, o.tech, o.origin, o.entity, o.entity_id,
                 o.kind, o.field, o.status,
                 o.value if full or len(o.value) <= 60 else o.value[:57] + "...")
                for o in found]
    output.write_rows(rows, ["seq", "op_id", "received_at", "tech", "origin", "entity",
                             "entity_id", "kind", "field", "status", "value"], pick)


def login(
    server: Annotated[str, typer.Option("--server", help="The team server's URL.")],
    tech: Annotated[str, typer.Option("--tech", help="Your technician handle.")],
    token_stdin: Annotated[bool, typer.Option(
        "--token-stdin", help="Read the token from standard input instead of a prompt.")]
    = False,
) -> None:
    """Connect this store to a team server and keep your token in the OS keyring.

    Tickets you numbered while working alone get provisional labels until the server
    numbers them on the first sync, so no two technicians ever share a number.

    Example:

    \b
      deskcli login --server https://desk.example.com --tech dana
    """
    from deskcli.sync.client import SyncClient, SyncReport
    from deskcli.sync.credentials import (
        Credentials,
        delete_token,
        load,
        normalise_url,
        save_token,
    )

    url = normalise_url(server)
    if token_stdin:
        token = sys.stdin.readline().strip()
    else:
        token = typer.prompt("Token", hide_input=True).strip()
    if not token:
        raise InvalidInput("no token given: paste the token from 'deskcli server add-tech'")
    with open_cli_desk() as desk:
        client = SyncClient(desk, Credentials(url, token, "login"))
        try:
            info = client.whoami()
            if info["handle"] != tech:
                fail(f"that token belongs to {info['handle']!r}, not {tech!r}")
            # The keyring before anything is written: a login it cannot keep must change
            # nothing (no store joined, no numbers taken from the server).
            previous = load(url, tech, environ={})
            save_token(url, tech, token)  # a keyring that reads but cannot write fails here
            try:
                client.join(tech)
                client.ensure_lease(SyncReport(server=url))  # numbers for offline work, now
            except BaseException:
                if previous is not None:
                    save_token(url, tech, previous.token)
                else:
                    delete_token(url, tech)
                raise
        finally:
            client.close()
    say(f"logged in to {url} as {tech}; run 'deskcli sync' to send and fetch changes")


def logout() -> None:
    """Forget the token for this store's team server (the store keeps its data).

    Example:

    \b
      deskcli logout
    """
    from deskcli.sync.credentials import delete_token

    with open_cli_desk() as desk:
        server, handle = desk.store.meta("server_url"), desk.store.meta("server_tech")
        if not (server and handle):
            fail("this store is not logged in to a team server", ExitCode.FAILED)
        delete_token(server, handle)
    say(f"token for {handle} at {server} removed from the keyring")


def sync(fmt: Annotated[output.Format | None, typer.Option(
             "--format", help="json prints the full report on stdout.")] = None,
         rejected: Annotated[bool, typer.Option(
             "--rejected", help="List the changes the server refused, and why; no sync.")]
         = False,
         quarantined: Annotated[bool, typer.Option(
             "--quarantined",
             help="List the changes received from the server that this machine could not "
                  "apply and set aside, and why; no sync.")] = False) -> None:
    """Send this store's changes to the team server and fetch everyone else's.

    Safe to interrupt and to run again: nothing is sent or applied twice. Uses the login
    from 'deskcli login', or DESKCLI_SERVER and DESKCLI_TOKEN for scripts.

    Example:

    \b
      deskcli sync --format json | python3 -m json.tool
    """
    from deskcli.sync import credentials
    from deskcli.sync.client import SyncClient

    if quarantined:
        with open_cli_desk() as desk:
            rows: list[tuple[Any, ...]] = [
                (r["quarantined_at"], r["entity"], r["entity_id"], r["field"] or r["kind"],
                 r["tech"], r["op_id"], r["reason"]) for r in desk.store.sync.quarantined()]
        output.write_rows(rows, ["quarantined_at", "entity", "entity_id", "change", "tech",
                                 "op_id", "reason"], output.pick_format(fmt))
        return
    if rejected:
        with open_cli_desk() as desk:
            refused = [(r["rejected_at"], r["entity"], r["entity_id"], r["field"] or r["kind"],
                        r["reason"]) for r in desk.store.sync.rejections()]
        output.write_rows(refused, ["rejected_at", "entity", "entity_id", "change", "reason"],
                          output.pick_format(fmt))
        return
    with open_cli_desk() as desk:
        creds = credentials.load(desk.store.meta("server_url"), desk.store.meta("server_tech"))
        if creds is None:
            fail("not connected to a team server: run 'deskcli login --server URL --tech "
                 "HANDLE', or set DESKCLI_SERVER and DESKCLI_TOKEN", ExitCode.FAILED)
        client = SyncClient(desk, creds)
        try:
            report = client.sync()
        finally:
            client.close()
    if fmt is output.Format.JSON or fmt is output.Format.JSONL:
        output.write_text(output.dumps(report.as_dict()))
    say(f"sent {report.pushed} change(s), received {report.pulled}; "
        f"{report.unsent} unsent" + (f"; {report.conflicts} conflict(s) flagged"
                                     if report.conflicts else "")
        + (f"; {len(report.rejected)} change(s) refused by the server" if report.rejected
           else ""))
    if report.quarantined:
        say(f"{report.quarantined} change(s) from the server could not be applied here and "
            "were set aside (sync goes on without them); 'deskcli sync --quarantined' lists "
            "them")
    if report.released:
        say(f"{report.released} change(s) set aside earlier could be applied now")
    if report.deferred:
        say(f"{len(report.deferred)} change(s) made the server fail; they stay queued and "
            "are sent again next time")
    for item in report.rejected:
        say(f"  refused {item['op_id']}: {item['reason']}")
    if report.rejected:
        say("these changes stay on this machine only; 'deskcli sync --rejected' lists them")
        raise typer.Exit(int(ExitCode.FAILED))


def new_epoch(database_url: DatabaseUrl = None) -> None:
    """Mark a restored database as a new history; run it before starting the server.

    On their next sync, clients send every change they ever made again and fetch the feed
    from the start; changes the server already has are recognised and applied once.

    Example:

    \b
      deskcli server new-epoch --database-url sqlite:////srv/deskcli/server.db
    """
    from deskcli.server.db import new_epoch as bump

    engine = _open_server_database(database_url)
    epoch = bump(engine)
    engine.dispose()
    say(f"the server database now has epoch {epoch}; clients will resend on their next sync")


def upgrade(database_url: DatabaseUrl = None) -> None:
    """Upgrade the server database to the schema this deskcli needs.

    'deskcli serve' refuses to start on a database made by an older deskcli and says to
    run this. First stop every 'deskcli serve' using the database and back it up. The
    upgrade runs in one transaction: if it fails, the database is left as it was.

    Example:

    \b
      deskcli server upgrade --database-url postgresql+psycopg://deskcli:secret@db/deskcli
    """
    from deskcli.server.db import ServerDatabaseError, make_engine
    from deskcli.server.revisions import SchemaUnknown
    from deskcli.server.revisions import upgrade as run_upgrade

    url = _database_url(database_url)
    try:
        engine = make_engine(url)
    except ServerDatabaseError as error:
        fail(str(error), ExitCode.FAILED)
    try:
        done = run_upgrade(engine)
    except SchemaUnknown as error:
        fail(str(error))
    except Exception as error:  # unreachable, or a revision failed: rolled back
        fail(f"the server database was not upgraded (it is as it was): "
             f"{type(error).__name__}: {error}", ExitCode.FAILED)
    finally:
        engine.dispose()
    where = url.split("@")[-1]
    if done.before is None and not done.adopted:
        say(f"the server database {where} was empty: created it at schema revision "
            f"{done.after}")
        return
    if done.adopted:
        say(f"the server database {where} had no schema revision recorded: its tables are "
            f"those of revision {done.before}, now recorded")
    if done.before != done.after:
        say(f"upgraded the server database {where} from schema revision {done.before} to "
            f"{done.after}")
    elif not done.adopted:
        say(f"the server database {where} is already at schema revision {done.after}, the "
            "newest this deskcli knows: nothing to do")


def _register_commands() -> None:
    from .tech_cmd import add, tech_app

    # ``add-tech`` came first and is in every team's notes; ``tech add`` joined it with
    # the groups and shift that assignment rules use. One command under both names, so
    # the two can never drift apart.
    server_app.command("add-tech")(add)
    server_app.command("new-epoch")(new_epoch)
    server_app.command("ops")(ops)
    server_app.command("revoke")(revoke)
    server_app.command("techs")(techs)
    server_app.command("upgrade")(upgrade)
    server_app.add_typer(tech_app, name="tech")


_register_commands()
