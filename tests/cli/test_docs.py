"""docs/cli.md cannot drift: its reference is regenerated from --help and compared."""

from __future__ import annotations

from pathlib import Path

import pytest

from deskcli.cli.main import COMMANDS
from deskcli.cli.reference import command_paths, fill, help_text

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
PATHS = list(command_paths())


def test_every_top_level_command_is_reachable() -> None:
    assert {path[0] for path in PATHS if path} == set(COMMANDS)


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "deskcli")
def test_every_command_has_help_with_an_example(path: tuple[str, ...]) -> None:
    text = help_text(path)
    summary = text.split("\n\n")[1].strip()
    assert summary, f"deskcli {' '.join(path)} has no help text"
    assert "Example" in text, f"deskcli {' '.join(path)} --help shows no example"


def test_docs_match_the_generated_reference() -> None:
    current = DOC.read_text(encoding="utf-8")
    assert fill(current) == current, (
        "docs/cli.md is out of date: run python scripts/gen_cli_docs.py")


def test_every_command_appears_in_the_docs() -> None:
    current = DOC.read_text(encoding="utf-8")
    for path in PATHS:
        assert f"### `{' '.join(('deskcli', *path))}`" in current
