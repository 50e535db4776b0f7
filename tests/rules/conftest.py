"""A desk with a rules file (and optionally notification channels) on a fake clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from deskcli.services.desk import Desk
from helpers import FakeClock, make_desk

#: Channels that only queue in these tests: a chat channel and the caller email channel.
NOTIFY = """
[notify]
chat = ["incident-room"]
email = "mail"

[notify.channels.incident-room]
type = "slack"

[notify.channels.mail]
type = "smtp"
host = "127.0.0.1"
port = 2525
from = "servicedesk@example.org"

[sla.tiers.enterprise.P2]
response = "30m"
resolve = "4h"
"""

DeskMaker = Callable[..., Desk]


@pytest.fixture
def rules_desk(isolated_home: Path, clock: FakeClock) -> Iterator[DeskMaker]:
    opened: list[Desk] = []

    def make(rules: str, *, config: str = NOTIFY, actor: str = "dana") -> Desk:
        config_dir = isolated_home / "config"
        config_dir.mkdir(parents=True, exist_ok=True)
        (config_dir / "config.toml").write_text(config)
        (config_dir / "rules.toml").write_text(rules)
        desk = make_desk(isolated_home, clock, actor=actor)
        opened.append(desk)
        return desk

    yield make
    for desk in opened:
        desk.close()
