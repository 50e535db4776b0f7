"""``deskcli rules …``: the rules in force, what they would do, running the time-based ones.

Rules live in ``rules.toml`` in the config folder (docs/rules.md). The rules code loads
only inside these commands and in a desk whose config folder has that file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from . import output
from .exits import ExitCode, fail, say
from .params import opt
from .session import open_cli_desk

if TYPE_CHECKING:
    from deskcli.services.rules import Firing

app = typer.Typer(
    name="rules", no_args_is_help=True, rich_markup_mode=None,
    help="""Rules that route, raise, escalate, follow up and close tickets by themselves.

    Rules are written in rules.toml in the config folder (docs/rules.md): each names an
    event (create, update, reply or schedule), conditions that must all hold and the
    actions to take. Event rules run inside the change that sets them off; time-based
    (schedule) rules run in the open console and in 'deskcli rules run' (for cron). A
    store joined to a team server leaves every rule to the server.

    Examples:

    \b
      deskcli rules check                   # is the file right? (exit 2 if not)
      deskcli rules list
      deskcli rules test --at +3d           # what would fire in three days
      */5 * * * * deskcli rules run         # a crontab line
    """)

LIST_KEYS = ("name", "on", "if", "then", "enabled", "line")
FIRING_KEYS = ("rule", "ticket", "on", "changes", "refused")


def _changes_text(changes: dict[str, Any]) -> str:
    return "; ".join(f"{k}={v}" for k, v in changes.items())


def _write_firings(firings: list[Firing], fmt: output.Format | None) -> None:
    chosen = output.pick_format(fmt)
    if chosen is output.Format.JSON:
        output.write_text(output.dumps([f.as_json() for f in firings]))
        return
    if chosen is output.Format.JSONL:
        for firing in firings:
            output.write_text(output.dumps(firing.as_json()).replace("\n", " "))
        return
    output.write_rows(((f.rule, f.ticket, f.event, _changes_text(f.changes),
                        "; ".join(f.refused)) for f in firings), FIRING_KEYS, chosen)


def _runner(desk: Any) -> Any:
    from deskcli.services.rules import build_runner

    if desk.rules is not None:
        return desk.rules
    return build_runner(desk)


@app.command("check")
def check() -> None:
    """Check rules.toml: every problem on its own line as FILE:LINE: PROBLEM.

    Checks the format, every condition and action, and what needs the configuration:
    snippets named by reply, chat channels named by notify, groups named by assign.
    Exit 0 when the file is right (or there is none), 2 when it has problems.

    Example:

    \b
      deskcli rules check && echo ok
    """
    from deskcli.config import load_config
    from deskcli.domain.errors import DeskError
    from deskcli.domain.rules import RulesFileError
    from deskcli.paths import resolve_paths
    from deskcli.services.rules import check_against_config, load_rules, rules_path

    paths = resolve_paths()
    path = rules_path(paths.config_dir)
    if not path.is_file():
        say(f"no rules file at {path}: no rules are in force")
        return
    try:
        ruleset = load_rules(path)
    except RulesFileError as error:
        for line in error.message.splitlines():
            say(line)
        raise typer.Exit(int(ExitCode.BAD_INPUT)) from None
    try:
        config = load_config(paths.config_file)
    except DeskError as error:
        fail(str(error), ExitCode.FAILED)
    snippets: dict[str, str] = {}
    if any(rule.then.reply for rule in ruleset.rules):
        from deskcli.services.notify_templates import load_snippets

        snippets = load_snippets(paths.config_dir, config.notify)
    from deskcli.services.desk import open_desk
    from deskcli.services.rules import _validator, assignment_factory

    try:
        desk = open_desk(paths, rules=False)
    except DeskError as error:
        fail(str(error), ExitCode.FAILED)
    try:
        validate = _validator(assignment_factory(desk))
        ruleset = load_rules(path)
    finally:
        desk.close()
    try:
        check_against_config(ruleset, snippets=snippets, notify=config.notify,
                             validate_assign=validate)
    except RulesFileError as error:
        for line in error.message.splitlines():
            say(line)
        raise typer.Exit(int(ExitCode.BAD_INPUT)) from None
    say(f"{path}: {len(ruleset.rules)} rule(s), no problems")


@app.command("list")
def list_rules(fmt: output.FormatOption = None) -> None:
    """The rules in force, in the order they run.

    Example:

    \b
      deskcli rules list --format json
    """
    from deskcli.domain.rules import summarise

    with open_cli_desk() as desk:
        runner = _runner(desk)
        rows = summarise(runner.ruleset.rules)
    chosen = output.pick_format(fmt)
    if chosen is output.Format.JSON:
        output.write_text(output.dumps(rows))
        return
    output.write_rows(([row[k] for k in LIST_KEYS] for row in rows), LIST_KEYS, chosen)


@app.command("test")
def test_rules(
    ticket: Annotated[str | None, opt("Only this ticket (#4521); also shows its event "
                                      "rules whose conditions hold now.",
                                      param_decls=("--ticket", "-t"), metavar="REF")] = None,
    at: Annotated[str | None, opt("Evaluate at this time: 2026-11-24T14:00 (UTC), with an "
                                  "offset, or +DURATION such as +3d.", metavar="TIME")] = None,
    fmt: output.FormatOption = None,
) -> None:
    """What would fire, changing nothing.

    Each line is one rule on one ticket; in JSON each item has rule, ticket and changes
    (field to new value, plus note, reply and notify when the rule sends one).

    Examples:

    \b
      deskcli rules test
      deskcli rules test --ticket 4521 --at +2h --format json
    """
    from deskcli.domain.rules import parse_at

    with open_cli_desk() as desk:
        moment = parse_at(at, desk.now()) if at else desk.now()
        runner = _runner(desk)
        ticket_id = desk.tickets.find(ticket)["id"] if ticket else None
        firings = runner.test(moment, ticket_id)
    _write_firings(firings, fmt)


@app.command("run")
def run_rules(fmt: output.FormatOption = None) -> None:
    """Run the time-based rules once (for cron) and print what they did.

    A store joined to a team server runs no rules (the server does): exit 1 there. Exit
    0 otherwise, also when nothing fired; actions a rule could not take are listed in the
    refused column and on the ticket's timeline.

    Example:

    \b
      */5 * * * * deskcli rules run --format jsonl >> /var/log/deskcli-rules.log
    """
    with open_cli_desk() as desk:
        if desk.store.meta("server_url") is not None:
            fail("this store is joined to a team server, which runs the rules; nothing "
                 "was run here", ExitCode.FAILED)
        runner = desk.rules
        if runner is None:
            say("no rules file: nothing to run (docs/rules.md)")
            firings: list[Firing] = []
        else:
            runner.run_schedule()
            firings = runner.take_fired()
            if desk.outbound is not None:
                from .notify_cmd import send_after_change

                _write_firings(firings, fmt)
                send_after_change(desk)
                return
    _write_firings(firings, fmt)
