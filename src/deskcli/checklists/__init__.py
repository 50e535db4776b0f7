"""Checklists shipped with deskcli, and loading of the ones a team adds.

The built-in Tier 1 checklist lives beside this file as ``tier1.toml``. Teams drop their
own ``*.toml`` files into ``<config dir>/checklists/``; a team file with the same key
as a built-in one replaces it.

May import: ``domain`` only (the checklist model and its parser); the services load
checklists through ``load_all``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from deskcli.domain.errors import ChecklistFileError

if TYPE_CHECKING:
    from deskcli.domain.checklist import Checklist

DEFAULT_KEY = "tier1"


def parse_text(text: str, source: str) -> Checklist:
    import tomllib  # loaded when a checklist is read, not to ask which ones exist

    from deskcli.domain.checklist import parse_checklist

    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        # tomllib reports "... (at line N, column M)"; keep its words, lead with the file.
        raise ChecklistFileError(f"{source}: not valid TOML: {error}") from None
    return parse_checklist(document, source=source, text=text)


def _builtin_files() -> Any:
    """The files beside this module, as ``importlib.resources`` would list them for an
    installed package; that module (zipfile, tempfile, ...) loads only for a package that
    is not a folder, since every command that opens a ticket reads these."""
    here = Path(__file__).parent
    if here.is_dir():
        return here.iterdir()
    from importlib import resources  # pragma: no cover - a zipped install

    return resources.files(__package__).iterdir()  # pragma: no cover


def builtin_keys() -> frozenset[str]:
    """The built-in checklists' keys without reading them: each file is named after its
    key (``tests/domain/test_checklist_file.py`` keeps it so)."""
    return frozenset(entry.name.removesuffix(".toml") for entry in _builtin_files()
                     if entry.name.endswith(".toml"))


def has_team_files(config_dir: Path | None) -> bool:
    """Whether the team added checklist files (which must then be read and checked)."""
    folder = config_dir / "checklists" if config_dir else None
    return bool(folder and folder.is_dir() and any(folder.glob("*.toml")))


def builtin() -> dict[str, Checklist]:
    out = {}
    for entry in _builtin_files():
        if entry.name.endswith(".toml"):
            checklist = parse_text(entry.read_text(encoding="utf-8"), f"built-in {entry.name}")
            out[checklist.key] = checklist
    return out


def load_all(config_dir: Path | None) -> dict[str, Checklist]:
    """Built-in checklists, overlaid by the team's files in ``config_dir/checklists``."""
    found = builtin()
    folder = config_dir / "checklists" if config_dir else None
    if folder and folder.is_dir():
        for path in sorted(folder.glob("*.toml")):
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as error:
                raise ChecklistFileError(f"{path}: cannot be read: {error}") from None
            checklist = parse_text(text, str(path))
            found[checklist.key] = checklist
    return found
