"""The layers of docs/architecture.md hold: import-linter checks the contracts in
pyproject.toml ([tool.importlinter]) over this checkout's src/, and a broken contract fails
the test with the linter's own report (which import, by which chain of modules)."""

from __future__ import annotations

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
