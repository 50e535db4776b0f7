"""TUI test fixtures: the sample app, and no blinking cursors (snapshots must not flicker)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.notifications import Notification
from textual.widgets import Input, TextArea

from deskcli.tui.app import DeskApp
from helpers import FakeClock
from tui.driving import collect_what_apps_hid, track_worker_threads
from tui.driving import quick_keys as wait_for_the_app
from tui.sample_app import sample_app


@pytest.fixture(autouse=True)
def worker_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    """``settle`` waits for worker threads too, even one whose worker was replaced."""
    track_worker_threads(monkeypatch)


@pytest.fixture(autouse=True)
def free_finished_apps() -> Iterator[None]:
    """The app a test ran (``drive`` or the snapshot plugin's ``App.run``) is garbage the
    collector was not told about: see ``collect_what_apps_hid``."""
    yield
    collect_what_apps_hid()


@pytest.fixture
def quick_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """A key press (and ``pilot.pause()``) returns once the app has handled it, rather than
    after Textual's CPU-time guess (at least 40 ms a key): see ``driving.quiet``. Taken by
    the tests that press hundreds of keys; tests whose timing of timers against keys was
    recorded under the old waits do not take it yet (see tests/README.md)."""
    wait_for_the_app(monkeypatch)


@pytest.fixture(autouse=True)
def steady_cursor(monkeypatch: pytest.MonkeyPatch) -> None:
    """A blinking cursor is a coin toss in a screenshot: keep it on."""
    monkeypatch.setattr(Input, "cursor_blink", False)
    monkeypatch.setattr(TextArea, "cursor_blink", False)


@pytest.fixture(autouse=True)
def lasting_toasts(monkeypatch: pytest.MonkeyPatch) -> None:
    """A toast disappears after a few seconds of real time, so whether a picture still
    shows it would depend on how fast the machine ran the scenario. In tests a toast
    stays up until the test ends (or it is dismissed): the same picture on every run."""
    monkeypatch.setattr(Notification, "time_left", property(lambda _self: 3600.0))


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
