"""A sender SIGKILLed mid-send loses nothing and delivers nothing twice.

The real ``deskcli notify send`` runs in a child process against the HTTP receiver, which
takes the page and then withholds its answer; the child is killed while it waits. Until
the claim's lease runs out nobody else sends it; afterwards the next run resends under the
same dedup key, the receiver recognises the repeat, and the queue records one delivery.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deskcli.domain.enums import Priority
from deskcli.domain.intake import NewTicket
from deskcli.domain.notify import incident_key
from helpers import FakeClock, make_desk

from .conftest import notify_config
from .receivers import Fault, Receiver


def _send(timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "deskcli", "notify", "send"],
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.subprocess
def test_killed_mid_send_then_restarted_delivers_exactly_once(
        isolated_home: Path, clock: FakeClock, receiver: Receiver, secrets: None) -> None:
    config_dir = isolated_home / "config"
    config_dir.mkdir(parents=True, exist_ok=True)
    config = notify_config(receiver, None, page='["pd"]').replace('lease = "30s"',
                                                                 'lease = "3s"')
    (config_dir / "config.toml").write_text(config.replace('timeout = "2s"', 'timeout = "60s"'))
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
        state, attempts = raw.execute("SELECT state, attempts FROM outbound").fetchone()
        sent_events = raw.execute(
            "SELECT count(*) FROM events WHERE kind = 'message_sent'").fetchone()[0]
    assert (state, attempts, sent_events) == ("sending", 1, 0)  # claimed, never recorded

    # Within the lease, another run leaves the claimed page alone.
    early = _send()
    assert "sent 0" in early.stderr and receiver.arrivals[("pagerduty", key, "trigger")] == 1

    time.sleep(3.2)  # the dead sender's lease runs out
    late = _send()
    assert late.returncode == 0, late.stderr
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
