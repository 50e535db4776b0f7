"""The layers of docs/architecture.md hold: import-linter checks the contracts in
pyproject.toml ([tool.importlinter]) over this checkout's src/, and a broken contract fails
the test with the linter's own report (which import, by which chain of modules). Beside
the imports, no module outside storage/ uses another object's private members."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def lint_imports() -> subprocess.CompletedProcess[str]:
    """``lint-imports`` over ROOT/src (not whatever deskcli the venv has installed), with
    no cache written into the repository."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command as run; run()",
         "--no-cache", "--no-logo"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.subprocess
def test_every_layer_contract_is_kept() -> None:
    result = lint_imports()
    report = result.stdout + result.stderr
    if result.returncode != 0:
        pytest.fail(f"an import breaks the layers (docs/architecture.md):\n{report}",
                    pytrace=False)
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())[
        "tool"]["importlinter"]["contracts"]
    # Every contract was read and checked: a misspelt option would drop one silently.
    assert f"Contracts: {len(contracts)} kept, 0 broken." in report, report


#: Underscore names that are public API despite the underscore: an Enum member's value
#: (set in ``ExitCode.__new__``), SQLAlchemy's ``Row._mapping``, and a NamedTuple's
#: documented methods and fields (``_fields``, ``_make``, ``_replace``, ``_asdict``); and
#: one framework hook the ticket screen takes over on purpose: Textual's
#: ``Screen._on_screen_resume``, called with a flag that skips re-styling the whole screen
#: for every ticket opened (tui/screens/ticket.py); and OptionList's
#: ``_get_option_render``, which the checklist wraps in a cache of lines kept by what they
#: show (tui/widgets/checklist_sidebar.py); and TextArea's
#: ``_rewrap_and_refresh_virtual_size``, which the text box wraps to note the width it
#: wrapped for (tui/widgets/text_box.py).
PUBLIC_UNDERSCORE = {"_value_", "_mapping", "_fields", "_make", "_replace", "_asdict",
                     "_on_screen_resume", "_get_option_render",
                     "_rewrap_and_refresh_virtual_size"}


def test_no_module_uses_another_objects_private_members() -> None:
    """``x._name`` only on ``self``/``cls``: a service, command, screen or server module
    that needs another's internals gets a public, documented method instead. The store's
    rooms have their own check (tests/storage); this covers everything else."""
    found = []
    for path in sorted((ROOT / "src" / "deskcli").rglob("*.py")):
        if "storage" in path.relative_to(ROOT / "src" / "deskcli").parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Attribute) and node.attr.startswith("_")
                    and not node.attr.startswith("__") and node.attr not in PUBLIC_UNDERSCORE
                    and not (isinstance(node.value, ast.Name)
                             and node.value.id in ("self", "cls"))):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
    assert not found, "private members used from outside their object:\n" + "\n".join(found)
