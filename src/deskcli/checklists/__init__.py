"""Checklists shipped with deskcli, and loading of the ones a team adds.

The built-in Tier 1 checklist lives beside this file as ``tier1.toml``. Teams drop their
own ``*.toml`` files into ``<config dir>/checklists/``; a team file with the same key
as a built-in one replaces it.

May import: ``domain`` only (the checklist model and its parser); the services load
checklists through ``load_all``.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deskcli.domain.errors import ChecklistFileError

if TYPE_CHECKING:
    from deskcli.domain.checklist import Checklist

DEFAULT_KEY = "tier1"


def parse_text(text: str, source: str) -> Checklist:
    from deskcli.domain.checklist import parse_checklist

    return parse_checklist(_decoded(text, source), source=source, text=text)


def _decoded(text: str, source: str) -> dict[str, Any]:
    import tomllib  # loaded when a checklist is read, not to ask which ones exist

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        # tomllib reports "... (at line N, column M)"; keep its words, lead with the file.
        raise ChecklistFileError(f"{source}: not valid TOML: {error}") from None


# --- the decoded built-in files, kept beside the store -------------------------------
#
# ``deskcli new`` records its first step from the built-in checklist, and decoding
# ``tier1.toml`` (loading ``tomllib`` and running it) was a fifth of the command's own
# work (issue 20). So the decoded document of each built-in file is kept in the data
# folder, as ``marshal`` data (plain dicts, lists and strings; no code runs on reading
# it), next to the very text it was decoded from. It is used only when that text is
# byte for byte the file's text now, with the same format and Python version, from a
# file only this user can read or write; the document is then checked by
# ``parse_checklist`` exactly as a freshly decoded one (a document it refuses is
# decoded again from the text, so errors name the real file). Any other case decodes
# the file and writes the cache anew; a cache that cannot be written is not used.

#: Bumped whenever what is cached changes shape.
_CACHE_FORMAT = 1


def _cache_key(text: str) -> tuple[Any, ...]:
    return (_CACHE_FORMAT, sys.version_info[:2], text)


def _cached_document(cache: Path, text: str) -> dict[str, Any] | None:
    """The document cached for ``text`` at ``cache``, or None (see above)."""
    try:
        descriptor = os.open(cache, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        info = os.fstat(descriptor)
        if (hasattr(os, "getuid") and info.st_uid != os.getuid()) or info.st_mode & 0o077:
            return None  # not this user's alone: decode the file instead
        with os.fdopen(descriptor, "rb") as stream:
            descriptor = -1
            raw = stream.read()
    except OSError:
        return None
    finally:
        if descriptor >= 0:
            os.close(descriptor)
    try:
        key, document = marshal.loads(raw)
    except Exception:  # truncated, another Python's format, not ours: decode instead
        return None
    if key != _cache_key(text) or not isinstance(document, dict):
        return None
    return document


def _write_cache(cache: Path, text: str, document: dict[str, Any]) -> None:
    """Keep ``document`` for ``text`` at ``cache``, readable by this user only (0600),
    written whole under a temporary name then renamed, so a reader never sees half."""
    try:
        data = marshal.dumps((_cache_key(text), document))
    except ValueError:  # a value marshal cannot hold (a TOML date): nothing to keep
        return
    temporary = cache.with_name(f".{cache.name}.{os.getpid()}.tmp")
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL
                             | getattr(os, "O_CLOEXEC", 0), 0o600)
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(data)
        os.replace(temporary, cache)
    except OSError:  # a read-only or full disk: the next command decodes again
        with contextlib.suppress(OSError):
            temporary.unlink()


def _builtin_checklist(text: str, source: str, cache: Path | None) -> Checklist:
    from deskcli.domain.checklist import parse_checklist

    if cache is not None:
        document = _cached_document(cache, text)
        if document is not None:
            try:
                return parse_checklist(document, source=source, text=text)
            except ChecklistFileError:
                pass  # not what the text decodes to: decode it, and say what is wrong
    document = _decoded(text, source)
    checklist = parse_checklist(document, source=source, text=text)
    if cache is not None:
        _write_cache(cache, text, document)
    return checklist


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


def builtin(cache_dir: Path | None = None) -> dict[str, Checklist]:
    """The built-in checklists; with ``cache_dir`` (the store's folder, which only its
    owner can enter), their decoded documents are kept there (see above)."""
    out = {}
    for entry in _builtin_files():
        if entry.name.endswith(".toml"):
            cache = (cache_dir / f".checklist-{entry.name}.marshal" if cache_dir is not None
                     and cache_dir.is_dir() else None)
            checklist = _builtin_checklist(entry.read_text(encoding="utf-8"),
                                           f"built-in {entry.name}", cache)
            out[checklist.key] = checklist
    return out


def load_all(config_dir: Path | None, cache_dir: Path | None = None) -> dict[str, Checklist]:
    """Built-in checklists, overlaid by the team's files in ``config_dir/checklists``
    (those are decoded and checked every time; ``cache_dir`` as for ``builtin``)."""
    found = builtin(cache_dir)
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
