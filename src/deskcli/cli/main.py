"""The ``deskcli`` entry point: the Typer app, the root options, and error handling.

``deskcli`` alone opens the full-screen app; with a subcommand it does scripted work. Every
failure ends in one line on stderr and a documented exit code (``exits.ExitCode``):
domain errors, store errors and usage errors alike, never a traceback.

Commands are loaded lazily: only the module of the command being run is imported and
turned into a click command, which keeps start-up within a small multiple of a bare
``python -c "import sqlite3"`` (see benchmarks/bench_cli.py).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import Annotated, Any

import typer
import typer.main
from typer.core import TyperGroup

from deskcli import __version__

from . import output
from .commands import COMMANDS, SUMMARIES
from .exits import ExitCode, report
from .guard import run_guarded
from .output import ColorMode

__all__ = ["COMMANDS", "SUMMARIES", "DeskGroup", "app", "run", "run_guarded"]

def load_command(name: str) -> Any:
    """Import one command's module and build its click command with Typer."""
    module_name, attribute = COMMANDS[name]
    target = getattr(importlib.import_module(f"deskcli.cli.{module_name}"), attribute)
    if not isinstance(target, typer.Typer):
        single = typer.Typer(rich_markup_mode=None, add_completion=False)
        single.command(name)(target)
        target = single
    command = typer.main.get_command(target)
    command.name = name
    return command


class DeskGroup(TyperGroup):
    """The root command: lazy subcommands, and one error policy for all of them."""

    _loaded: dict[str, Any] = {}

    def list_commands(self, ctx: Any) -> list[str]:
        return [*super().list_commands(ctx), *COMMANDS]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        found = super().get_command(ctx, cmd_name)
        if found is not None or cmd_name not in COMMANDS:
            return found
        if cmd_name not in self._loaded:
            self._loaded[cmd_name] = load_command(cmd_name)
        return self._loaded[cmd_name]

    def shell_complete(self, ctx: Any, incomplete: str) -> list[Any]:
        """Command names with their summaries from ``SUMMARIES`` (no command module is
        imported for this), then the root's own options."""
        from typer._click.core import Command
        from typer._click.shell_completion import CompletionItem
        from typer._click.utils import make_default_short_help

        results = [CompletionItem(name, help=make_default_short_help(SUMMARIES[name]))
                   for name in COMMANDS if name.startswith(incomplete)]
        results.extend(Command.shell_complete(self, ctx, incomplete))
        return results

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             windows_expand_args: bool = True, **extra: Any) -> Any:
        code = run_guarded(lambda: super(DeskGroup, self).main(
            args=args, prog_name=prog_name, complete_var=complete_var,
            standalone_mode=False, windows_expand_args=windows_expand_args, **extra))
        if standalone_mode:
            sys.exit(code)
        return code


app = typer.Typer(
    cls=DeskGroup,
    name="deskcli",
    rich_markup_mode=None,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    add_completion=True,
)


def _version(value: bool) -> None:
    if value:
        output.write_text(f"deskcli {__version__}")
        raise typer.Exit(0)


@app.callback(invoke_without_command=True)
def root(
    ctx: typer.Context,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
    color: Annotated[ColorMode, typer.Option(
        "--color", case_sensitive=False,
        help="Colour in tables: auto (a terminal without NO_COLOR), always or never.")
    ] = ColorMode.AUTO,
) -> None:
    """A terminal-first console for IT service-desk technicians.

    Run deskcli with no command to open the full-screen app. The commands below do the
    same work from scripts: data goes to stdout, messages to stderr. Exit codes: 0 ok,
    1 the operation failed (e.g. no such ticket), 2 bad usage or input (nothing was
    written), 130 interrupted.

    Examples:

    \b
      deskcli                          # the full-screen app
      deskcli queue --mine             # your open tickets, most urgent first
      deskcli queue | cut -f1,2 | sort -k2
    """
    output.color_mode = color
    if ctx.invoked_subcommand is None:
        raise typer.Exit(launch_tui())


def launch_tui() -> int:
    """Imported only here, so no scripted command pays for loading Textual. This is the
    one import of ``deskcli.tui`` the CLI may make (the layer contract in pyproject.toml
    names it; tests/test_layers.py fails on any other)."""
    try:
        from deskcli.tui.app import main as tui_main
    except ModuleNotFoundError as error:
        if error.name not in ("deskcli.tui.app", "textual"):
            raise
        report("the full-screen app is not available in this installation; see "
               "'deskcli --help' for the commands")
        return int(ExitCode.FAILED)
    return int(tui_main() or 0)


def run() -> None:
    """Console-script entry point (``deskcli``)."""
    app(prog_name="deskcli")
