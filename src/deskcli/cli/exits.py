"""Exit codes and the one-line error report every command ends with when it fails.

The mapping from domain errors to exit codes is decided here, once, so no command can
pick its own. See docs/cli.md ("Exit codes") for the reasoning given to users.
"""

from __future__ import annotations

import sys
from enum import IntEnum
from typing import NoReturn

from deskcli.domain.errors import ChecklistFileError, DeskError, NotFound, OperationFailed


class ExitCode(IntEnum):
    """What a script can learn from ``$?`` after running deskcli."""

    def __new__(cls, value: int, doc: str) -> ExitCode:
        # Each code carries its own docstring, so docs/cli.md is generated from here.
        member = int.__new__(cls, value)
        member._value_ = value
        member.__doc__ = doc
        return member

    OK = 0, "The command did what was asked."
    FAILED = 1, ("A well-formed request that could not be carried out: the ticket does not "
                 "exist, the store (damaged, not a deskcli file, on a full or read-only "
                 "disk), the config file or a checklist file cannot be used, or a "
                 "--keep-going batch was only partly written.")
    BAD_INPUT = 2, ("Bad usage or input, including a change the rules refuse (an invalid "
                    "status transition, a vague resolution note). Nothing was written.")
    INTERRUPTED = 130, "Stopped with Ctrl-C (128 + SIGINT, as shells report it)."


def code_for(error: DeskError) -> ExitCode:
    """``NotFound`` is a failure of a valid request; every other domain error means the
    input has to change before the command can succeed, so it is bad input."""
    if isinstance(error, NotFound | OperationFailed | ChecklistFileError):
        # A team checklist file that cannot be used is the environment, not what was
        # typed (it is read when a command first needs the checklists).
        return ExitCode.FAILED
    return ExitCode.BAD_INPUT


def say(message: str) -> None:
    """A message for the person at the terminal: always stderr, never mixed into data.

    Messages quote stored text (a summary, a client's name): its control characters are
    shown as inert stand-ins, so a message can never drive the terminal."""
    from deskcli.domain.inert import visible

    sys.stderr.write(visible(message, multiline=True) + "\n")
    sys.stderr.flush()


def report(message: str) -> None:
    """One error line in the ``deskcli: error: ...`` shape scripts can grep for."""
    say(f"deskcli: error: {message}")


def fail(message: str, code: ExitCode = ExitCode.BAD_INPUT) -> NoReturn:
    report(message)
    # Typer is loaded only now: the short commands' fast path runs without it.
    import typer

    raise typer.Exit(int(code))
