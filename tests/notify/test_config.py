"""Bad notification settings are refused when loaded, naming the file and the key."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from deskcli.config import load_config
from deskcli.domain.errors import InvalidInput
from deskcli.domain.notify import ChannelKind, RetryPolicy, parse_settings
from deskcli.notify.channels import build_all
from deskcli.services.notify_templates import load_snippets, load_templates

PD = {"type": "pagerduty", "url": "http://127.0.0.1:9"}


def _load(tmp_path: Path, text: str) -> object:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return load_config(path, environ={"DESKCLI_TECH": "dana"})


def test_a_full_notify_section_loads(tmp_path: Path) -> None:
    config = _load(tmp_path, """
[notify]
page = ["pd"]
email = "mail"
survey_delay = "2h"
[notify.retry]
max_attempts = 5
first_delay = "20s"
[notify.channels.pd]
type = "pagerduty"
[notify.channels.mail]
type = "smtp"
host = "smtp.example.org"
from = "desk@example.org"
""")
    notify = config.notify  # type: ignore[attr-defined]
    assert notify.page == ("pd",) and notify.email == "mail"
    assert notify.channels["pd"].url == "https://events.pagerduty.com"
    assert notify.channels["mail"].secret is None  # no username: no password needed
    assert notify.survey_delay == timedelta(hours=2)
    assert notify.retry.max_attempts == 5 and notify.retry.first_delay == timedelta(seconds=20)


@pytest.mark.parametrize(("text", "message"), [
    ('[notify]\npage = ["nope"]\n', "notify.page: unknown channel 'nope'"),
    ('[notify]\nbogus = 1\n', "notify: unknown setting 'bogus'"),
    ('[notify.channels.pd]\ntype = "pagerduty"\nurl = "events.pagerduty"\n',
     "notify.channels.pd.url: 'events.pagerduty' is not a URL"),
    ('[notify.channels.pd]\ntype = "pagerduty"\nurl = "http://127.0.0.1:99999"\n',
     "has a bad port number"),
    ('[notify.channels.pd]\ntype = "pager"\n', "'pager' is not a channel type"),
    ('[notify.channels.pd]\ntype = "pagerduty"\nrouting_key = "abc"\n',
     "unknown setting 'routing_key' for a pagerduty channel"),
    ('[notify.channels.chat]\ntype = "slack"\nsecret = "https://hooks.slack.com/x"\n',
     "names the secret"),
    ('[notify]\nsurvey_delay = "soon"\n', "notify.survey_delay"),
    ('[notify.retry]\nmax_attempts = 0\n', "max_attempts"),
    ('[notify.retry]\nlease = 30\n', "notify.retry.lease"),
    ('[notify]\nchat = ["pd"]\n[notify.channels.pd]\ntype = "pagerduty"\n',
     "cannot post to a chat"),
    ('[notify.channels.mail]\ntype = "smtp"\nfrom = "x@example.org"\n', "host"),
])
def test_bad_settings_name_the_file_and_the_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        _load(tmp_path, text)
    assert str(tmp_path / "config.toml") in caught.value.message
    assert message in caught.value.message


def test_a_missing_secret_names_the_variable_and_keyring_entry() -> None:
    settings = parse_settings({"page": ["pd"], "channels": {"pd": PD}})
    with pytest.raises(InvalidInput) as caught:
        build_all(settings, environ={})
    assert "DESKCLI_NOTIFY_PD_ROUTING_KEY" in caught.value.message
    assert "keyring set deskcli-notify pd.routing_key" in caught.value.message


def test_a_chat_secret_must_be_a_url() -> None:
    settings = parse_settings({"chat": ["team"], "channels": {"team": {"type": "teams"}}})
    with pytest.raises(InvalidInput, match="is not a URL"):
        build_all(settings, environ={"DESKCLI_NOTIFY_TEAM_WEBHOOK_URL": "not a url"})
    built = build_all(settings, environ={
        "DESKCLI_NOTIFY_TEAM_WEBHOOK_URL": "https://example.webhook.office.com/x"})
    assert set(built) == {"team"}


def test_channel_kinds_know_what_they_can_do() -> None:
    assert ChannelKind.PAGERDUTY.pages and not ChannelKind.SLACK.pages
    assert ChannelKind.TEAMS.chats and not ChannelKind.SMTP.chats


def test_backoff_grows_is_capped_and_honours_retry_after() -> None:
    policy = RetryPolicy(first_delay=timedelta(seconds=10), max_delay=timedelta(minutes=1))
    assert policy.delay(1, 0.0) == timedelta(seconds=10)
    assert policy.delay(3, 0.0) == timedelta(seconds=40)
    assert policy.delay(9, 0.0) == timedelta(minutes=1)
    assert policy.delay(1, 0.99) < timedelta(seconds=15)
    assert policy.delay(1, 0.0, retry_after=timedelta(minutes=5)) == timedelta(minutes=5)


def test_a_template_with_an_unknown_placeholder_is_refused_at_load(tmp_path: Path) -> None:
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "update.txt").write_text("Subject: News on {ticket}\n\nHi {caler},\n")
    settings = parse_settings({"email": "m", "channels": {"m": {
        "type": "smtp", "host": "h", "from": "a@b.c"}}})
    with pytest.raises(InvalidInput) as caught:
        load_templates(tmp_path, settings)
    assert str(folder / "update.txt") in caught.value.message
    assert "unknown placeholder {caler}" in caught.value.message


def test_a_template_without_a_subject_line_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "survey.txt").write_text("Please rate us\n")
    with pytest.raises(InvalidInput, match="Subject:"):
        load_templates(tmp_path, parse_settings({}))


def test_team_snippets_override_and_are_checked(tmp_path: Path) -> None:
    (tmp_path / "snippets.toml").write_text('[snippets]\nack = "Got it, {caller}."\n'
                                            'vpn = "Please reconnect the VPN."\n')
    snippets = load_snippets(tmp_path, parse_settings({}))
    assert snippets["ack"] == "Got it, {caller}." and "vpn" in snippets and "fixed" in snippets
    (tmp_path / "snippets.toml").write_text('[snippets]\nbad = "Hi {name}"\n')
    with pytest.raises(InvalidInput, match="unknown placeholder {name}"):
        load_snippets(tmp_path, parse_settings({}))
