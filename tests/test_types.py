"""Type hints are checked, not just written: mypy, with the settings in pyproject.toml
([tool.mypy]), finds no error in src/. A failure shows mypy's own report."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.subprocess
def test_mypy_finds_no_error_in_src(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    # mypy's incremental cache lives in pytest's own cache folder: a warm run takes a few
    # seconds instead of most of a minute, and nothing is written beside the sources
    # (under -p no:cacheprovider, a cold run with its cache under tmp_path).
    pytest_cache = getattr(request.config, "cache", None)
    cache = pytest_cache.mkdir("mypy") if pytest_cache is not None else tmp_path / "mypy"
    command = [sys.executable, "-m", "mypy", "src", "--no-error-summary", "--cache-dir",
               str(cache)]
    env = {**os.environ, "MYPY_FORCE_COLOR": "0"}
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=600)
    if result.returncode != 0:
        pytest.fail(f"mypy found errors (python -m mypy src):\n{result.stdout}{result.stderr}",
                    pytrace=False)
