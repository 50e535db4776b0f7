"""``[intake.mailboxes.NAME]``: every value checked when the config loads, file named."""

from __future__ import annotations

from pathlib import Path

import pytest

from deskcli.config import load_config
from deskcli.domain.errors import InvalidInput
from deskcli.domain.mailboxes import Security
from deskcli.secrets import lookup_secret

GOOD = """
[intake.mailboxes.support]
host = "imap.example.org"
port = 993
security = "tls"
username = "support@example.org"
folder = "INBOX"
processed_folder = "Processed"
address = "support@example.org"
client = "Acme"
priority = "P3"
"""


def _load(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "config.toml"
    path.write_text(text)
    return load_config(path, environ={"DESKCLI_TECH": "dana"})


def test_the_documented_example_loads(tmp_path: Path) -> None:
    box = _load(tmp_path, GOOD).intake.mailboxes["support"]
    assert (box.host, box.port, box.security, box.username) == (
        "imap.example.org", 993, Security.TLS, "support@example.org")
    assert (box.folder, box.processed_folder, box.refused_folder) == (
        "INBOX", "Processed", "Refused")
    assert box.client == "Acme" and box.priority is not None and box.priority.value == "P3"
    assert box.env_var() == "DESKCLI_INTAKE_SUPPORT_PASSWORD"


def test_defaults(tmp_path: Path) -> None:
    box = _load(tmp_path, '[intake.mailboxes.help-desk]\nhost = "h"\n'
                          'username = "help@example.org"\n').intake.mailboxes["help-desk"]
    assert box.port == 993 and box.folder == "INBOX" and box.address == "help@example.org"
    assert box.env_var() == "DESKCLI_INTAKE_HELP_DESK_PASSWORD"
    starttls = _load(tmp_path, '[intake.mailboxes.a]\nhost = "h"\nsecurity = "starttls"\n'
                               'username = "a@example.org"\n').intake.mailboxes["a"]
    assert starttls.port == 143


@pytest.mark.parametrize(("text", "needle"), [
    ('[intake.mailboxes.support]\nhost = "h"\nusername = "u@x.org"\npasword = "x"\n',
     "unknown setting 'pasword'"),
    ('[intake.mailboxes.support]\nhost = "h"\nusername = "u@x.org"\npassword = "x"\n',
     "unknown setting 'password'"),
    ('[intake.mailboxes.support]\nhost = "imap.example.org"\nsecurity = "none"\n'
     'username = "u@x.org"\n', "in clear"),
    ('[intake.mailboxes.support]\nhost = "h"\nsecurity = "ssl"\nusername = "u@x.org"\n',
     "tls, starttls or none"),
    ('[intake.mailboxes.support]\nhost = "h"\nport = 0\nusername = "u@x.org"\n', "port"),
    ('[intake.mailboxes.support]\nhost = "h"\nport = "993"\nusername = "u@x.org"\n', "port"),
    ('[intake.mailboxes.support]\nusername = "u@x.org"\n', "host"),
    ('[intake.mailboxes.support]\nhost = "h"\n', "username"),
    ('[intake.mailboxes.support]\nhost = "h"\nusername = "u@x.org"\npriority = "P9"\n',
     "P1, P2, P3 or P4"),
    ('[intake.mailboxes.support]\nhost = "h"\nusername = "u@x.org"\n'
     'processed_folder = "INBOX"\n', "three different folders"),
    ('[intake.mailboxes.support]\nhost = "h"\nusername = "login"\n', "address"),
    ('[intake.mailboxes.Support]\nhost = "h"\nusername = "u@x.org"\n', "lower-case"),
    ('[intake]\nmailbox = 1\n', "unknown setting 'mailbox'"),
    ('[intake]\nsender_limit = 0\n', "sender_limit"),
    ('[intake]\nwatch_interval = "soon"\n', "watch_interval"),
])
def test_bad_settings_are_refused_with_the_file_and_key_named(tmp_path: Path, text: str,
                                                              needle: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        _load(tmp_path, text)
    assert needle in caught.value.message
    assert str(tmp_path / "config.toml") in caught.value.message


def test_security_none_is_accepted_for_loopback(tmp_path: Path) -> None:
    for host in ("127.0.0.1", "localhost", "::1"):
        box = _load(tmp_path, f'[intake.mailboxes.t]\nhost = "{host}"\nsecurity = "none"\n'
                              'port = 1143\nusername = "t@example.org"\n').intake.mailboxes["t"]
        assert box.security is Security.NONE


def test_password_comes_from_the_environment_or_names_both_ways(
        monkeypatch: pytest.MonkeyPatch) -> None:
    found = lookup_secret(variable="DESKCLI_INTAKE_SUPPORT_PASSWORD", service="deskcli-intake",
                          account="support.password", what="x",
                          environ={"DESKCLI_INTAKE_SUPPORT_PASSWORD": "pw"})
    assert found == "pw"
    import keyring

    monkeypatch.setattr(keyring, "get_password", lambda service, account: None)
    with pytest.raises(InvalidInput) as caught:
        lookup_secret(variable="DESKCLI_INTAKE_SUPPORT_PASSWORD", service="deskcli-intake",
                      account="support.password", what="mailbox 'support' needs its password",
                      environ={})
    assert "DESKCLI_INTAKE_SUPPORT_PASSWORD" in caught.value.message
    assert "keyring set deskcli-intake support.password" in caught.value.message
