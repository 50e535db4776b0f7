"""``deskcli notify …`` and the ticket commands that queue messages, run in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.conftest import Cli
from deskcli.cli import session
from helpers import FakeClock, make_desk

from .conftest import notify_config
from .mail import MailCatcher
from .receivers import Receiver


@pytest.fixture
def ncli(isolated_home: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch,
         receiver: Receiver, mail: MailCatcher, secrets: None) -> Cli:
    config_dir = isolated_home / "config"
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "config.toml").write_text(notify_config(receiver, mail))
    monkeypatch.setattr(session, "desk_factory", lambda: make_desk(isolated_home, clock))
    return Cli(isolated_home, clock)


def test_new_p1_pages_at_once(ncli: Cli, receiver: Receiver, mail: MailCatcher) -> None:
    number = ncli.new("--priority", "P1", "--caller", "Ana Lopez", "--email",
                      "ana@example.org", summary="Payroll server down")
    assert number.isdigit()
    assert len(receiver.accepted("pagerduty")) == 1 and len(mail.messages) == 1
    status = ncli.ok("notify", "status", "--all", "--format", "jsonl").stdout
    rows = [json.loads(line) for line in status.splitlines()]
    assert {r["state"] for r in rows} == {"sent"} and len(rows) == 4
    ncli.ok("notify", "ack", number)  # goes out at once too
    assert [kind for _key, kind in receiver.accepted("pagerduty")] == [
        "acknowledge", "trigger"]


def test_a_p1_page_that_cannot_go_out_exits_1_loudly(
        ncli: Cli, receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    receiver.stop()
    result = ncli("new", "--summary", "Core switch down", "--priority", "P1")
    assert result.exit_code == 1
    assert result.stdout.strip().isdigit()  # the ticket exists; the page waits
    assert "P1 PAGE NOT DELIVERED" in result.stderr
    status = ncli("notify", "status")
    assert status.exit_code == 1 and "P1 PAGE NOT DELIVERED" in status.stderr
    assert "queued" in status.stdout


def test_notify_test_reports_success_failure_and_bad_channel(
        ncli: Cli, receiver: Receiver, mail: MailCatcher,
        monkeypatch: pytest.MonkeyPatch) -> None:
    ok = ncli("notify", "test", "pd")
    assert ok.exit_code == 0 and "pd: ok" in ok.stderr
    assert sorted(a for _k, a in receiver.accepted("pagerduty")) == ["resolve", "trigger"]
    assert ncli("notify", "test", "mail", "--to", "me@example.org").exit_code == 0
    assert mail.messages[-1]["To"] == "me@example.org"
    bad = ncli("notify", "test", "nosuch")
    assert bad.exit_code == 2 and "unknown channel 'nosuch'" in bad.stderr
    monkeypatch.setenv("DESKCLI_NOTIFY_OG_API_KEY", "wrong")
    refused = ncli("notify", "test", "og")
    assert refused.exit_code == 1 and "401" in refused.stderr
    monkeypatch.delenv("DESKCLI_NOTIFY_HOOK_SIGNING_KEY")
    missing = ncli("notify", "test", "hook")
    assert missing.exit_code == 2 and "DESKCLI_NOTIFY_HOOK_SIGNING_KEY" in missing.stderr


@pytest.mark.parametrize(("channel", "service", "opened", "closed"), [
    ("pd", "pagerduty", "trigger", "resolve"),
    ("og", "opsgenie", "create", "close"),
])
def test_notify_test_closes_its_own_alert_at_low_priority(
        ncli: Cli, receiver: Receiver, channel: str, service: str, opened: str,
        closed: str) -> None:
    """The test alert is resolved/closed with exactly the key it was opened with (else it
    stays open and pages someone), and it is low priority: PagerDuty info, Opsgenie P5."""
    ncli.ok("notify", "test", channel)
    delivered = receiver.accepted(service)
    assert sorted(action for _key, action in delivered) == sorted([opened, closed])
    keys = {key for key, _action in delivered}
    assert len(keys) == 1 and next(iter(keys)).startswith(f"deskcli-test-{channel}-")
    body = receiver.delivered[(service, next(iter(keys)), opened)]
    if service == "pagerduty":
        assert body["payload"]["severity"] == "info"
    else:
        assert body["priority"] == "P5"


def test_update_and_note_template(ncli: Cli, mail: MailCatcher) -> None:
    number = ncli.new("--caller", "Ben Okafor", "--email", "ben@example.org")
    ncli.ok("notify", "update", number, "--template", "working")
    update = mail.messages[-1]  # sent by the command itself, no 'notify send' needed
    assert f"[#{number}] About your request" in update["Subject"]
    assert "Still on it" in update.get_payload()
    ncli.ok("note", number, "--template", "remote")
    shown = ncli.ok("show", number, "--format", "json").stdout
    assert "accept the remote-support prompt" in shown
    ncli.ok("note", number, "/fixed Logs are in /var/log/app.")
    shown = ncli.ok("show", number, "--format", "json").stdout
    assert "should be fixed now" in shown and "/var/log/app" in shown
    bad = ncli("note", number, "--template", "nosuch")
    assert bad.exit_code == 2 and "no canned response 'nosuch'" in bad.stderr
    both = ncli("note", number, "text", "--template", "ack")
    assert both.exit_code == 2


def test_bad_notify_config_is_a_clear_error(
        isolated_home: Path, monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> None:
    config_dir = isolated_home / "config"
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "config.toml").write_text('[notify]\npage = ["pagerduty"]\n')
    monkeypatch.setattr(session, "desk_factory", lambda: make_desk(isolated_home, clock))
    result = Cli(isolated_home, clock)("notify", "status")
    assert result.exit_code == 1
    assert "notify.page: unknown channel 'pagerduty'" in result.stderr
    assert str(config_dir / "config.toml") in result.stderr
    assert "Traceback" not in result.output
