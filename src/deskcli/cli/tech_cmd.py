"""``deskcli server tech add|set|list``: technicians with their groups and shifts, on the
team server, for the assignment rules (round-robin and least-loaded skip whoever is off
shift). SQLAlchemy is imported inside the commands, like the other server commands.
"""

from __future__ import annotations

from typing import Annotated

import typer

from deskcli.domain.calendar import BusinessCalendar, parse_shift_text
from deskcli.domain.roster import parse_groups

from . import output
from .exits import say

tech_app = typer.Typer(
    name="tech", no_args_is_help=True, rich_markup_mode=None,
    help="""Technicians' groups and shifts on a team server (for assignment rules).

    A shift is a time zone then DAYS=HOURS: "Europe/London mon-fri=09:00-17:00
    sat=10:00-13:00" (several ranges with commas; "22:00-06:00" runs over midnight).
    A technician without a shift is always available. See docs/rules.md.

    Example:

    \b
      deskcli server tech add eli --client "Northwind Dental" --group tier2 \\
        --shift "Europe/London mon-fri=08:00-16:00"
      deskcli server tech set eli --group tier2 --group billing
      deskcli server tech list
    """)

Groups = Annotated[list[str] | None, typer.Option(
    "--group", help="A group the technician belongs to; repeat for more (replaces the "
                    "groups they had).")]
Shift = Annotated[str | None, typer.Option(
    "--shift", help="When they work: 'ZONE DAYS=HH:MM-HH:MM ...', e.g. "
                    "'Europe/London mon-fri=09:00-17:00', or 'none' for always available.")]


def _shift(text: str | None) -> tuple[BusinessCalendar | None, bool]:
    """(the shift, whether to clear it), checked before anything is written."""
    if text is None:
        return None, False
    if text.strip().lower() == "none":
        return None, True
    return parse_shift_text(text, "--shift"), False


def add(
    handle: Annotated[str, typer.Argument(help="Short login name, e.g. dana.")],
    name: Annotated[str | None, typer.Option(help="Full name.")] = None,
    tier: Annotated[int, typer.Option(help="Support tier: 1, 2 or 3.")] = 1,
    client: Annotated[list[str] | None, typer.Option(
        "--client", help="A client (customer) the technician works for; repeat for more.")]
    = None,
    admin: Annotated[bool, typer.Option("--admin", help="Sees every client.")] = False,
    group: Groups = None,
    shift: Shift = None,
    database_url: Annotated[str | None, typer.Option(
        "--database-url", envvar="DESKCLI_SERVER_DATABASE_URL",
        help="sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST/DB. Default: "
             "server.db in the deskcli data folder.")] = None,
) -> None:
    """Add a technician and print their token, once.

    The server keeps only the token's hash: hand the token to the technician for
    'deskcli login' and do not store it anywhere else. Groups and a shift are optional;
    assignment rules use them. 'deskcli server add-tech' is the same command.

    Example:

    \b
      deskcli server tech add eli --client Acme --group tier2 \\
        --shift "America/New_York mon-fri=09:00-17:00"
    """
    from deskcli.clock import SystemClock
    from deskcli.domain.timefmt import to_iso
    from deskcli.server.auth import add_tech as create
    from deskcli.server.roster import set_roster

    from .sync_cmd import _server_session

    groups = parse_groups(group or [], "--group")
    calendar, clear = _shift(shift)
    with _server_session(database_url) as session:
        issued = create(session, handle, name=name, tier=tier, clients=client or [],
                        admin=admin, now_iso=to_iso(SystemClock().now()))
        if groups or calendar is not None or clear:
            session.flush()
            set_roster(session, handle, groups=groups, shift=calendar, clear_shift=clear)
        session.commit()
    say(f"technician {issued.handle} added; the token below is shown only this once")
    output.write_text(issued.token)


def set_(
    handle: Annotated[str, typer.Argument(help="The technician to change.")],
    group: Groups = None,
    clear_groups: Annotated[bool, typer.Option(
        "--clear-groups", help="Take the technician out of every group.")] = False,
    shift: Shift = None,
    database_url: Annotated[str | None, typer.Option(
        "--database-url", envvar="DESKCLI_SERVER_DATABASE_URL",
        help="sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST/DB. Default: "
             "server.db in the deskcli data folder.")] = None,
) -> None:
    """Change a technician's groups or shift; what you do not give stays as it was.

    Example:

    \b
      deskcli server tech set eli --group tier2 --shift "Europe/London mon-fri=08:00-16:00"
      deskcli server tech set eli --shift none
    """
    from deskcli.domain.errors import InvalidInput
    from deskcli.server.roster import set_roster

    from .sync_cmd import _server_session

    if group and clear_groups:
        raise InvalidInput("give --group or --clear-groups, not both")
    if not group and not clear_groups and shift is None:
        raise InvalidInput("nothing to change: give --group, --clear-groups or --shift")
    groups = parse_groups(group, "--group") if group else (frozenset() if clear_groups
                                                          else None)
    calendar, clear = _shift(shift)
    with _server_session(database_url) as session:
        set_roster(session, handle, groups=groups, shift=calendar, clear_shift=clear)
        session.commit()
    say(f"technician {handle} updated")


def list_(
    database_url: Annotated[str | None, typer.Option(
        "--database-url", envvar="DESKCLI_SERVER_DATABASE_URL",
        help="sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST/DB. Default: "
             "server.db in the deskcli data folder.")] = None,
    fmt: Annotated[output.Format | None, typer.Option(
        "--format", help="table, tsv, csv, json or jsonl.")] = None,
) -> None:
    """List active technicians with their groups and shifts.

    Example:

    \b
      deskcli server tech list --format json
    """
    from deskcli.server.roster import load_roster

    from .sync_cmd import _server_session

    with _server_session(database_url) as session:
        roster = load_roster(session)
    rows = [(t.handle, ",".join(sorted(t.groups)),
             t.shift.describe() if t.shift is not None else "always") for t in roster]
    output.write_rows(rows, ["handle", "groups", "shift"], output.pick_format(fmt))


tech_app.command("add")(add)
tech_app.command("set")(set_)
tech_app.command("list")(list_)
