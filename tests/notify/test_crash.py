"""A sender SIGKILLed mid-send loses nothing and delivers nothing twice.

The real ``deskcli notify send`` runs in a child process against the HTTP receiver, which
takes the page and then withholds its answer; the child is killed while it waits. Until
the claim's lease runs out nobody else sends it; afterwards the next run resends under the
same dedup key, the receiver recognises the repeat, and the queue records one delivery.

The runs after the kill are the same command in-process, on a clock set just before and
just after the lease the dead sender took, so the test never waits for a lease to expire
and cannot lose a race against one on a loaded machine.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from deskcli.cli import session
from deskcli.cli.main import app
from deskcli.domain.enums import Priority
from deskcli.domain.intake import NewTicket
from deskcli.domain.notify import incident_key
from helpers import FakeClock, make_desk

from .conftest import notify_config
from .receivers import Fault, Receiver


def _send_at(home: Path, now: datetime, monkeypatch: pytest.MonkeyPatch) -> Result:
    """``deskcli notify send``, in-process, as if run at ``now``."""
    monkeypatch.setattr(session, "desk_factory", lambda: make_desk(home, FakeClock(now)))
    return CliRunner().invoke(app, ["notify", "send"], prog_name="deskcli",
                              catch_exceptions=False)


@pytest.mark.subprocess
def test_killed_mid_send_then_restarted_delivers_exactly_once(
        isolated_home: Path, clock: FakeClock, receiver: Receiver, secrets: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    config_dir = isolated_home / "config"
    config_dir.mkdir(parents=True, exist_ok=True)
    config = notify_config(receiver, None, page='["pd"]', timeout="60s")
    assert 'lease = "30s"' in config
    (config_dir / "config.toml").write_text(config)
    with make_desk(isolated_home, clock) as desk:
        row = desk.tickets.create(NewTicket(summary="Core switch down in building B",
                                            priority=Priority.P1))
        database = desk.paths.database
    key = incident_key(row["id"])
    receiver.faults = [Fault(hang_after_accept=60)]

    child = subprocess.Popen([sys.executable, "-m", "deskcli", "notify", "send"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not receiver.arrivals and time.monotonic() < deadline:
        time.sleep(0.05)
    assert receiver.arrivals[("pagerduty", key, "trigger")] == 1, "the page never arrived"
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)

    with sqlite3.connect(database) as raw:
        state, attempts, lease_until = raw.execute(
            "SELECT state, attempts, lease_until FROM outbound").fetchone()
        sent_events = raw.execute(
            "SELECT count(*) FROM events WHERE kind = 'message_sent'").fetchone()[0]
    assert (state, attempts, sent_events) == ("sending", 1, 0)  # claimed, never recorded
    lease_end = datetime.fromisoformat(lease_until)

    # Within the lease, another run leaves the claimed page alone.
    early = _send_at(isolated_home, lease_end - timedelta(seconds=1), monkeypatch)
    assert "sent 0" in early.stderr and receiver.arrivals[("pagerduty", key, "trigger")] == 1

    # Once the dead sender's lease has run out, the next run takes the page over.
    late = _send_at(isolated_home, lease_end + timedelta(seconds=1), monkeypatch)
    assert late.exit_code == 0, late.stderr
    assert "sent 1" in late.stderr
    assert receiver.arrivals[("pagerduty", key, "trigger")] == 2  # it was sent again...
    assert receiver.accepted("pagerduty") == [(key, "trigger")]  # ...and deduplicated
    with sqlite3.connect(database) as raw:
        state, attempts = raw.execute("SELECT state, attempts FROM outbound").fetchone()
        details = [json.loads(d) for (d,) in raw.execute(
            "SELECT detail FROM events WHERE kind = 'message_sent'")]
    assert (state, attempts) == ("sent", 2)
    assert len(details) == 1 and details[0]["audience"] == "oncall"
    assert details[0]["channel"] == "pd"
