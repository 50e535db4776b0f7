"""Receivers on 127.0.0.1 and a desk whose config sends to them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from deskcli.services.desk import Desk
from helpers import FakeClock, make_desk

from .mail import PASSWORD, USER, MailCatcher
from .receivers import GENIE_KEY, ROUTING_KEY, SIGNING_KEY, Receiver


def notify_config(receiver: Receiver, mail: MailCatcher | None, *,
                  page: str = '["pd", "og", "hook"]', extra: str = "",
                  timeout: str = "30s") -> str:
    """The desk's notification settings against the test's receivers.

    The client timeout is generous by default: a send on a loaded machine can take
    seconds, and a test that is not about timeouts must not see one. Tests about
    timeouts ask for a short one (``quick_timeout_desk``) and stall past it."""
    smtp = ""
    if mail is not None:
        smtp = f"""
[notify.channels.mail]
type = "smtp"
host = "127.0.0.1"
port = {mail.port}
username = "{USER}"
from = "servicedesk@example.org"
ca_file = "{mail.cert_file}"
"""
    return f"""
[notify]
page = {page}
chat = ["incident"]
{'email = "mail"' if mail is not None else ''}
survey_delay = "30m"
{extra}

[notify.retry]
max_attempts = 4
first_delay = "10s"
max_delay = "5m"
lease = "30s"
timeout = "{timeout}"

[notify.channels.pd]
type = "pagerduty"
url = "{receiver.url}"

[notify.channels.og]
type = "opsgenie"
url = "{receiver.url}"

[notify.channels.hook]
type = "webhook"
url = "{receiver.url}/hook"

[notify.channels.incident]
type = "slack"
{smtp}
"""


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch, receiver: Receiver) -> None:
    monkeypatch.setenv("DESKCLI_NOTIFY_PD_ROUTING_KEY", ROUTING_KEY)
    monkeypatch.setenv("DESKCLI_NOTIFY_OG_API_KEY", GENIE_KEY)
    monkeypatch.setenv("DESKCLI_NOTIFY_HOOK_SIGNING_KEY", SIGNING_KEY)
    monkeypatch.setenv("DESKCLI_NOTIFY_INCIDENT_WEBHOOK_URL", f"{receiver.url}/chat/T01")
    monkeypatch.setenv("DESKCLI_NOTIFY_MAIL_PASSWORD", PASSWORD)


def _configured_desk(home: Path, clock: FakeClock, config: str) -> Iterator[Desk]:
    config_dir = home / "config"
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "config.toml").write_text(config)
    opened = make_desk(home, clock)
    yield opened
    opened.close()


@pytest.fixture
def notify_desk(isolated_home: Path, clock: FakeClock, receiver: Receiver, mail: MailCatcher,
                secrets: None) -> Iterator[Desk]:
    yield from _configured_desk(isolated_home, clock, notify_config(receiver, mail))


@pytest.fixture
def quick_timeout_desk(isolated_home: Path, clock: FakeClock, receiver: Receiver,
                       mail: MailCatcher, secrets: None) -> Iterator[Desk]:
    """``notify_desk`` with a 2-second client timeout, for the tests that stall a
    receiver past it (a ``Fault`` delay of 3 s or more)."""
    yield from _configured_desk(isolated_home, clock,
                                notify_config(receiver, mail, timeout="2s"))
