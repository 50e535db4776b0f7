"""TUI test fixtures: the sample app, and no blinking cursors (snapshots must not flicker)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input, TextArea

from deskcli.app import DeskApp
from helpers import FakeClock
from tui.sample_app import sample_app


@pytest.fixture(autouse=True)
def steady_cursor(monkeypatch: pytest.MonkeyPatch) -> None:
    """A blinking cursor is a coin toss in a screenshot: keep it on."""
    monkeypatch.setattr(Input, "cursor_blink", False)
    monkeypatch.setattr(TextArea, "cursor_blink", False)


@pytest.fixture(autouse=True)
def stable_home(isolated_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The status bar shows the store as ``~/...``: make ``~`` the test's tmp dir, so the
    path reads the same on every run and machine. Colour is on (the shared fixture turns
    it off for the CLI); the no-colour pictures ask for it explicitly."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("NO_COLOR", raising=False)


@pytest.fixture
def app(isolated_home: Path, clock: FakeClock) -> DeskApp:
    return sample_app(isolated_home, clock)
