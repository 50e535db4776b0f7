"""The generated parts of docs/cli.md: exit codes, queue fields and every command's --help.

docs/cli.md is hand-written prose with marked blocks that only this module writes
(``<!-- BEGIN GENERATED: name -->`` … ``<!-- END GENERATED: name -->``).
``scripts/gen_cli_docs.py`` rewrites the blocks; ``tests/cli/test_docs.py`` fails when the
checked-in file differs from a fresh rendering, so the reference cannot drift from the
code. Only the doc tooling imports this module.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import typer.main
from typer.testing import CliRunner

from .exits import ExitCode
from .fields import DEFAULT_TEXT_FIELDS, FIELDS
from .main import app

_BLOCK = re.compile(r"(<!-- BEGIN GENERATED: (?P<name>[\w-]+) -->\n)(?P<body>.*?)"
                    r"(<!-- END GENERATED: (?P=name) -->)", re.DOTALL)


def command_paths() -> Iterator[tuple[str, ...]]:
    """Every visible command path, root first, in the order ``--help`` lists them."""
    root = typer.main.get_command(app)

    def walk(command: Any, path: tuple[str, ...], parent: Any) -> Iterator[tuple[str, ...]]:
        yield path
        context = command.context_class(command, info_name=path[-1] if path else "deskcli",
                                        parent=parent)
        for name in getattr(command, "list_commands", lambda ctx: [])(context):
            child = command.get_command(context, name)
            if child is not None and not child.hidden:
                yield from walk(child, (*path, name), context)

    yield from walk(root, (), None)


def help_text(path: tuple[str, ...]) -> str:
    """``deskcli PATH --help`` exactly as a user sees it (80 columns, no colour)."""
    result = CliRunner().invoke(app, [*path, "--help"], prog_name="deskcli",
                                env={"NO_COLOR": "1", "COLUMNS": "80"})
    if result.exit_code != 0:
        raise RuntimeError(f"deskcli {' '.join(path)} --help failed: {result.output}")
    return result.stdout.rstrip() + "\n"


def _commands() -> str:
    parts = []
    for path in command_paths():
        title = " ".join(("deskcli", *path))
        parts.append(f"### `{title}`\n\n```text\n{help_text(path)}```\n")
    return "\n".join(parts)


def _exit_codes() -> str:
    rows = ["| Code | Name | Meaning |", "| ---: | --- | --- |"]
    rows += [f"| {int(code)} | `{code.name}` | {code.__doc__} |" for code in ExitCode]
    return "\n".join(rows) + "\n"


def _fields() -> str:
    rows = ["| Field | Meaning |", "| --- | --- |"]
    for name, meaning in FIELDS.items():
        marker = " (default column)" if name in DEFAULT_TEXT_FIELDS else ""
        rows.append(f"| `{name}` | {meaning}{marker} |")
    return "\n".join(rows) + "\n"


GENERATORS: dict[str, Callable[[], str]] = {
    "exit-codes": _exit_codes,
    "queue-fields": _fields,
    "commands": _commands,
}


def fill(document: str) -> str:
    """``document`` with every generated block rendered afresh."""
    missing = set(GENERATORS) - {m["name"] for m in _BLOCK.finditer(document)}
    if missing:
        raise ValueError(f"docs/cli.md lacks the generated block(s): {', '.join(missing)}")
    return _BLOCK.sub(lambda m: m.group(1) + "\n" + GENERATORS[m["name"]]() + "\n"
                      + m.group(4), document)
