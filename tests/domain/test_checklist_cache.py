"""The decoded built-in checklists kept beside the store (issue 20): used only for the
very text they were decoded from, only from a file private to the user, and checked by
``parse_checklist`` as a freshly decoded document is."""

from __future__ import annotations

import marshal
import os
import stat
import sys
from pathlib import Path
from typing import Any

import pytest

from deskcli import checklists
from deskcli.domain.errors import ChecklistFileError

TIER1_TEXT = (Path(checklists.__file__).with_name("tier1.toml")).read_text(encoding="utf-8")


def _cache(folder: Path) -> Path:
    return folder / ".checklist-tier1.toml.marshal"


def _counting_decoder(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    decoded: list[str] = []
    real = checklists._decoded

    def counting(text: str, source: str) -> dict[str, Any]:
        decoded.append(source)
        return real(text, source)

    monkeypatch.setattr(checklists, "_decoded", counting)
    return decoded


def test_the_second_load_reads_the_cache_and_gives_the_same_checklists(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    decoded = _counting_decoder(monkeypatch)
    first = checklists.builtin(tmp_path)
    assert decoded == ["built-in tier1.toml"]
    assert stat.S_IMODE(_cache(tmp_path).stat().st_mode) == 0o600
    assert first == checklists.builtin(tmp_path) == checklists.builtin()
    assert decoded == ["built-in tier1.toml", "built-in tier1.toml"]  # builtin() alone
    assert checklists.load_all(None, tmp_path) == first


def test_a_cache_of_other_text_is_not_used_and_is_rewritten(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    checklists.builtin(tmp_path)
    decoded = _counting_decoder(monkeypatch)
    edited = TIER1_TEXT.replace('title = "Tier 1', 'title = "Edited tier 1', 1)
    assert edited != TIER1_TEXT
    changed = checklists._builtin_checklist(edited, "built-in tier1.toml", _cache(tmp_path))
    assert decoded == ["built-in tier1.toml"] and changed.title.startswith("Edited")
    again = checklists._builtin_checklist(edited, "built-in tier1.toml", _cache(tmp_path))
    assert decoded == ["built-in tier1.toml"] and again == changed  # the new text's cache


@pytest.mark.parametrize("content", [
    b"", b"not marshal at all", marshal.dumps(["a", "list"]),
    marshal.dumps(((checklists._CACHE_FORMAT + 1, sys.version_info[:2], TIER1_TEXT), {})),
    marshal.dumps(((checklists._CACHE_FORMAT, (2, 7), TIER1_TEXT), {})),
    marshal.dumps((checklists._cache_key(TIER1_TEXT), ["not", "a", "table"])),
], ids=["empty", "garbage", "wrong shape", "old format", "other python", "not a table"])
def test_a_broken_or_foreign_cache_is_decoded_afresh(
        content: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _cache(tmp_path).write_bytes(content)
    os.chmod(_cache(tmp_path), 0o600)
    decoded = _counting_decoder(monkeypatch)
    assert checklists.builtin(tmp_path) == checklists.builtin()
    assert decoded[0] == "built-in tier1.toml"
    assert _cache(tmp_path).read_bytes() != content  # written anew


def test_a_cached_document_the_checker_refuses_is_decoded_from_the_text(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _cache(tmp_path).write_bytes(marshal.dumps(
        (checklists._cache_key(TIER1_TEXT), {"checklist": {"key": "Not A Key"}})))
    os.chmod(_cache(tmp_path), 0o600)
    decoded = _counting_decoder(monkeypatch)
    assert checklists.builtin(tmp_path) == checklists.builtin()
    assert decoded[0] == "built-in tier1.toml"


def test_a_cache_others_could_write_is_never_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    checklists.builtin(tmp_path)
    for mode in (0o640, 0o604, 0o620):
        os.chmod(_cache(tmp_path), mode)
        decoded = _counting_decoder(monkeypatch)
        assert checklists.builtin(tmp_path) == checklists.builtin()
        assert decoded[0] == "built-in tier1.toml"
        assert stat.S_IMODE(_cache(tmp_path).stat().st_mode) == 0o600  # replaced


def test_without_a_writable_folder_nothing_is_cached_and_all_still_works(
        tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder"
    assert checklists.builtin(missing) == checklists.builtin()
    assert not missing.exists()
    checklists._write_cache(missing / "x.marshal", TIER1_TEXT, {"a": 1})  # no error
    assert not missing.exists()


def test_a_bad_team_file_is_still_reported_with_a_cache(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    checklists.builtin(tmp_path / "data")
    folder = tmp_path / "config" / "checklists"
    folder.mkdir(parents=True)
    (folder / "team.toml").write_text("key = [broken\n")
    with pytest.raises(ChecklistFileError, match="team.toml.*not valid TOML"):
        checklists.load_all(tmp_path / "config", tmp_path / "data")
