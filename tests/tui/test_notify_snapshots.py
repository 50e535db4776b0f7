"""Pictures of the notification states at 80×24 and 120×40 (frozen clock, fixed data).

The page channel points at 127.0.0.1:9, where nothing listens, so the failed page and its
reason read the same on every run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from deskcli.tui.app import DeskApp, build_app
from helpers import FakeClock, SeqIds
from tui.sample_app import sample_desk
from tui.test_snapshots import P1_FILE_SERVER, SIZES, Snap, keys, shoot, ticket, typed

CONFIG = """
[notify]
page = ["pd"]
[notify.retry]
timeout = "2s"
[notify.channels.pd]
type = "pagerduty"
url = "http://127.0.0.1:9"
"""


def _app(home: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch, *,
         sender: bool) -> DeskApp:
    monkeypatch.setenv("DESKCLI_NOTIFY_PD_ROUTING_KEY", "R0UT1NGKEY")
    config_dir = home / "config"
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "config.toml").write_text(CONFIG)
    return build_app(sample_desk(home, clock), new_id=SeqIds(), tick=None,
                     offer_samples=False, notify_every=3600 if sender else None)


@pytest.mark.parametrize("size", SIZES)
class TestNotify:
    def test_page_queued(self, snap_compare: Snap, isolated_home: Path, clock: FakeClock,
                         monkeypatch: pytest.MonkeyPatch, size: Any) -> None:
        """A P1 whose page has not been tried yet says so under the SLA clocks."""
        app = _app(isolated_home, clock, monkeypatch, sender=False)
        shoot(snap_compare, app, size, ticket(P1_FILE_SERVER))

    def test_page_failed(self, snap_compare: Snap, isolated_home: Path, clock: FakeClock,
                         monkeypatch: pytest.MonkeyPatch, size: Any) -> None:
        """A page that cannot go out: red header line, red status bar, and the reason."""
        app = _app(isolated_home, clock, monkeypatch, sender=True)
        shoot(snap_compare, app, size, ticket(P1_FILE_SERVER))

    def test_reply_with_snippet(self, snap_compare: Snap, isolated_home: Path,
                                clock: FakeClock, monkeypatch: pytest.MonkeyPatch,
                                size: Any) -> None:
        """/remote and a space in the reply box become the canned response."""
        app = _app(isolated_home, clock, monkeypatch, sender=False)
        shoot(snap_compare, app, size, ticket(P1_FILE_SERVER, keys("r"), typed("/remote ")))
