"""Errors the domain raises, each carrying a message fit to show a technician.

On the CLI, ``NotFound`` and ``OperationFailed`` exit 1, as does any error in opening
the desk (a config or checklist file that cannot be used), and every other one exits 2
(``cli/exits.py``); the TUI shows the message inline. The wording is written once, here
and in the rules that raise them, so both front ends say exactly the same thing.
"""

from __future__ import annotations


class DeskError(Exception):
    """Base class: something the user should be told about in one clear line."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        #: The input field the problem belongs to, so a form can show it inline.
        self.field = field

    def __str__(self) -> str:
        return self.message


class InvalidInput(DeskError):
    """The input itself is malformed (bad email, unknown priority, empty summary)."""


class Refused(DeskError):
    """The input is well-formed but a rule forbids it (a transition, a gate)."""


class NotFound(DeskError):
    """A ticket, caller, client or step that does not exist."""


class OperationFailed(DeskError):
    """The request was fine but could not be carried out (a server out of reach)."""


class ChecklistFileError(DeskError):
    """A checklist file that cannot be used; the message names file, line and problem."""
