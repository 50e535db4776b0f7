"""Opening the technician's desk for one command, and the settings every command shares.

Commands never build a store themselves: they ask ``open_cli_desk()``, which tests replace
(``desk_factory``) with a desk on a fake clock, so CLI tests are exact.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from deskcli.domain.errors import DeskError
from deskcli.services.desk import Desk, open_desk
from deskcli.storage.store import StoreError

from .exits import ExitCode, fail

#: How commands get a desk; swapped out by tests for one with a FakeClock and fixed ids.
desk_factory: Callable[[], Desk] = open_desk


@contextmanager
def open_cli_desk() -> Iterator[Desk]:
    """The desk for one command. A config file, checklist file or database that cannot be
    used is a failure of the environment, not of what was typed: exit 1."""
    try:
        desk = desk_factory()
    except (DeskError, StoreError) as error:
        fail(str(error), ExitCode.FAILED)
    try:
        yield desk
    finally:
        desk.close()
