"""The one error policy every command runs under, importable without Typer.

``run_guarded`` turns whatever a command raises into an exit code and one stderr line.
It lives apart from ``main`` (the Typer app) because the short commands' fast path
(``launch``) runs commands without loading Typer or click at all: their exceptions are
recognised here by class name, and the library is imported only on the rare path that
needs one of its objects.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from collections.abc import Callable
from typing import Any


def _named(error: BaseException, name: str) -> bool:
    """Whether ``error`` is (a subclass of) the parser library's class ``name``: Typer's
    vendored click, or click itself, without importing either to ask."""
    return any(cls.__name__ == name and cls.__module__.split(".")[0] in ("typer", "click")
               for cls in type(error).__mro__)


def _is_click_error(error: BaseException) -> bool:
    """Usage errors from the option parser (click's, vendored by Typer or not)."""
    return _named(error, "ClickException")


def run_guarded(invoke: Callable[[], Any]) -> int:
    """Call ``invoke`` and turn whatever it raises into an exit code and one stderr line."""
    from deskcli.domain.errors import DeskError
    from deskcli.storage.health import StoreError

    from .exits import ExitCode, code_for, report

    try:
        result = invoke()
    except DeskError as error:
        report(error.message)
        return int(code_for(error))
    except StoreError as error:
        report(str(error))
        return int(ExitCode.FAILED)
    except sqlite3.Error as error:
        # Raw sqlite3 errors come from the technician's store (the server's database
        # speaks through SQLAlchemy): name the file, and remember damage found in it.
        from deskcli.paths import resolve_paths
        from deskcli.storage.health import explain

        report(str(explain(error, resolve_paths().database)))
        return int(ExitCode.FAILED)
    except KeyboardInterrupt:
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        return int(ExitCode.OK)
    except Exception as error:
        if any(cls.__name__ == "Abort" and cls.__module__ == "typer.exceptions"
               for cls in type(error).__mro__):  # typer.Abort
            report("aborted")
            return int(ExitCode.FAILED)
        if type(error).__name__ == "NoArgsIsHelpError":  # a group run without a command
            sys.stderr.write(error.format_message() + "\n")  # type: ignore[attr-defined]
            return int(ExitCode.BAD_INPUT)
        if _is_click_error(error):
            context = getattr(error, "ctx", None)
            hint = f" (see '{context.command_path} --help')" if context is not None else ""
            report(error.format_message() + hint)  # type: ignore[attr-defined]
            code = int(getattr(error, "exit_code", 2))
            return int(ExitCode.BAD_INPUT) if code == 2 else code
        if os.environ.get("DESKCLI_DEBUG"):
            raise
        # A bug: say so in one line. The traceback is opt-in, so it can never leak data.
        report(f"internal error: {type(error).__name__}: {error} (set DESKCLI_DEBUG=1 "
               "to see the traceback, and please report it)")
        return int(ExitCode.FAILED)
    return result if isinstance(result, int) else int(ExitCode.OK)
