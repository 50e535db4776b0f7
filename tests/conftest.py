"""Fixtures for every layer: an isolated DESKCLI_HOME, a fixed clock and an open desk."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from deskcli.services.desk import Desk
from helpers import FakeClock, make_desk


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test may touch a real profile: DESKCLI_HOME points into the test's tmp dir."""
    home = tmp_path / "home"
    monkeypatch.setenv("DESKCLI_HOME", str(home))
    monkeypatch.setenv("DESKCLI_TECH", "dana")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("DESKCLI_SERVER", raising=False)
    monkeypatch.delenv("DESKCLI_TOKEN", raising=False)
    return home


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def desk(isolated_home: Path, clock: FakeClock) -> Iterator[Desk]:
    opened = make_desk(isolated_home, clock)
    yield opened
    opened.close()
