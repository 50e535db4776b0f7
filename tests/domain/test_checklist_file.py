"""Checklist files: the built-in Tier 1 list, and clear errors for malformed team files."""

from __future__ import annotations

from pathlib import Path

import pytest

from deskcli import checklists
from deskcli.domain.checklist import FieldKind
from deskcli.domain.errors import ChecklistFileError

TIER1_STEPS = [
    "verify_identity", "capture_issue", "set_priority", "open_ticket",
    "record_errors", "check_changes", "reproduce", "search_kb", "scope_decision",
    "apply_fix", "escalate", "page_oncall", "test_with_user",
    "document_resolution", "update_kb", "log_time_close", "send_survey",
]

MINIMAL = """
[checklist]
key = "printers"
title = "Printer triage"

[[phase]]
key = "triage"
title = "Triage"

[[phase.step]]
key = "check_queue"
title = "Check the print queue"
guidance = "Look for a stuck job."

[[phase.step.field]]
key = "jobs"
label = "Jobs stuck"
kind = "number"
"""


def test_tier1_has_four_phases_and_seventeen_steps() -> None:
    tier1 = checklists.builtin()["tier1"]
    assert [p.key for p in tier1.phases] == ["intake", "diagnosis", "resolution", "closure"]
    assert [s.key for s in tier1.steps] == TIER1_STEPS


def test_tier1_guidance_and_fields_are_complete() -> None:
    tier1 = checklists.builtin()["tier1"]
    for step in tier1.steps:
        assert len(step.guidance) > 80, step.key
        for field in step.fields:
            if field.kind is FieldKind.CHOICE:
                assert field.choices, (step.key, field.key)
    kinds = {f.kind for s in tier1.steps for f in s.fields}
    assert {FieldKind.TEXT, FieldKind.PARAGRAPH, FieldKind.EMAIL, FieldKind.CHOICE,
            FieldKind.LIST, FieldKind.FILE, FieldKind.NUMBER} <= kinds


def test_tier1_conditions() -> None:
    tier1 = checklists.builtin()["tier1"]
    assert tier1.step("page_oncall").when[0].values == {"P1"}  # type: ignore[union-attr]
    assert tier1.step("apply_fix").gates == ("identity_for_account_work",)  # type: ignore[union-attr]
    assert tier1.step("escalate").action == "escalate"  # type: ignore[union-attr]


def test_each_built_in_file_is_named_after_its_key() -> None:
    """``builtin_keys`` (what ``deskcli new`` asks) reads the names, not the files."""
    assert checklists.builtin_keys() == set(checklists.builtin())


def test_asking_whether_a_checklist_exists_reads_team_files_only_when_there_are_some(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from deskcli.services.desk import LazyChecklists

    def unread(text: str, source: str) -> None:
        raise AssertionError(f"{source} was read")

    with monkeypatch.context() as patched:
        patched.setattr(checklists, "parse_text", unread)
        lazy = LazyChecklists(tmp_path)
        assert "tier1" in lazy and "printers" not in lazy
    folder = tmp_path / "checklists"
    folder.mkdir()
    (folder / "printers.toml").write_text(MINIMAL)
    assert "printers" in LazyChecklists(tmp_path) and "tier1" in LazyChecklists(tmp_path)
    (folder / "broken.toml").write_text("[checklist]\nkey = \n")
    with pytest.raises(ChecklistFileError, match="broken.toml"):
        assert "tier1" in LazyChecklists(tmp_path)


def test_team_file_is_loaded_and_overrides_by_key(tmp_path: Path) -> None:
    folder = tmp_path / "checklists"
    folder.mkdir()
    (folder / "printers.toml").write_text(MINIMAL)
    found = checklists.load_all(tmp_path)
    assert {"tier1", "printers"} <= set(found)
    assert found["printers"].steps[0].fields[0].kind is FieldKind.NUMBER


def _error(text: str, tmp_path: Path) -> str:
    folder = tmp_path / "checklists"
    folder.mkdir(exist_ok=True)
    path = folder / "team.toml"
    path.write_text(text)
    with pytest.raises(ChecklistFileError) as caught:
        checklists.load_all(tmp_path)
    message = caught.value.message
    assert message.startswith(str(path)), "the message names the file"
    return message


def test_broken_toml_names_file_and_line(tmp_path: Path) -> None:
    message = _error('[checklist]\nkey = "x"\ntitle = \n', tmp_path)
    assert "not valid TOML" in message and "line 3" in message


@pytest.mark.parametrize(("edit", "line", "problem"), [
    (('kind = "number"', 'kind = "slider"'), 16, "unknown kind 'slider'"),
    (('key = "check_queue"', 'key = "Check Queue"'), 11, "lowercase letters"),
    (('guidance = "Look for a stuck job."\n', ""), 11, "missing required key 'guidance'"),
    (('kind = "number"', 'kind = "number"\nmaps_to = "colour"'), 16, "unknown ticket field"),
    (('guidance = "Look for a stuck job."',
      'guidance = "x"\ngates = ["full_moon"]'), 11, "unknown gate 'full_moon'"),
    (('guidance = "Look for a stuck job."',
      'guidance = "x"\nwhen = { weather = ["rain"] }'), 11, "unknown attribute 'weather'"),
    (('guidance = "Look for a stuck job."',
      'guidance = "x"\nrequires = ["later_step"]'), 11, "not an earlier step"),
    (('guidance = "Look for a stuck job."',
      'guidance = "x"\naction = "launch"'), 11, "unknown action 'launch'"),
])
def test_schema_errors_name_the_line_and_problem(tmp_path: Path, edit: tuple[str, str],
                                                 line: int, problem: str) -> None:
    message = _error(MINIMAL.replace(*edit), tmp_path)
    assert problem in message
    assert f"line {line}" in message


def test_missing_checklist_table(tmp_path: Path) -> None:
    assert "missing the [checklist] table" in _error('title = "x"\n', tmp_path)


def test_duplicate_step_keys(tmp_path: Path) -> None:
    doubled = MINIMAL + MINIMAL[MINIMAL.index("[[phase.step]]"):]
    assert "used twice" in _error(doubled, tmp_path)


def test_choice_without_choices(tmp_path: Path) -> None:
    message = _error(MINIMAL.replace('kind = "number"', 'kind = "choice"'), tmp_path)
    assert "needs a non-empty 'choices' list" in message


def test_asking_many_times_lists_the_folders_once(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """``new --from`` asks once per record: 10,000 records once listed the folders
    20,000 times (a quarter of the import's time under the profiler)."""
    from deskcli.services.desk import LazyChecklists

    calls: list[int] = []
    original = checklists.builtin_keys

    def counted() -> frozenset[str]:
        calls.append(1)
        return original()

    monkeypatch.setattr(checklists, "builtin_keys", counted)
    lazy = LazyChecklists(tmp_path)
    assert all("tier1" in lazy and "printers" not in lazy for _ in range(100))
    assert len(calls) == 1
