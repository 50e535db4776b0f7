"""``deskcli serve`` fetches the mailbox itself; the ticket reaches two technicians once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from deskcli.sync.client import SyncClient
from deskcli.sync.credentials import Credentials
from helpers import FakeClock, make_desk
from intake import corpus
from intake.dovecot import PASSWORD, USER, Dovecot
from notify.mail import PASSWORD as SMTP_PASSWORD
from notify.mail import USER as SMTP_USER
from notify.mail import MailCatcher
from sync.conftest import BACKENDS, TeamServer, free_port, postgres_database

pytestmark = pytest.mark.subprocess


@pytest.fixture(params=BACKENDS)
def mail_server(request: pytest.FixtureRequest, tmp_path: Path, dovecot: Dovecot,
                mail: MailCatcher, monkeypatch: pytest.MonkeyPatch) -> Iterator[TeamServer]:
    home = tmp_path / "server-home"
    (home / "config").mkdir(parents=True)
    (home / "config" / "config.toml").write_text(
        f'[intake]\nwatch_interval = "1s"\n[intake.mailboxes.support]\nhost = "127.0.0.1"\n'
        f'port = {dovecot.port}\nsecurity = "none"\nusername = "{USER}"\nclient = "Acme"\n'
        f'[notify]\nemail = "mail"\n[notify.channels.mail]\ntype = "smtp"\n'
        f'host = "127.0.0.1"\nport = {mail.port}\nusername = "{SMTP_USER}"\n'
        f'from = "support@example.org"\nca_file = "{mail.cert_file}"\n')
    monkeypatch.setenv("DESKCLI_INTAKE_SUPPORT_PASSWORD", PASSWORD)
    monkeypatch.setenv("DESKCLI_NOTIFY_MAIL_PASSWORD", SMTP_PASSWORD)
    port = free_port()
    database_url = (f"sqlite:///{home / 'server.db'}" if request.param == "sqlite"
                    else postgres_database())
    team = TeamServer(f"http://127.0.0.1:{port}", database_url, home, port)
    team.start()
    yield team
    team.kill()


def test_the_server_fetches_and_both_technicians_get_the_ticket_once(
        mail_server: TeamServer, dovecot: Dovecot, mail: MailCatcher, tmp_path: Path) -> None:
    clock = FakeClock()
    techs = []
    for handle in ("ana", "ben"):
        desk = make_desk(tmp_path / handle, clock, actor=handle)
        token = mail_server.add(handle, ["Acme"])
        techs.append((desk, SyncClient(desk, Credentials(mail_server.url, token, "test"))))
    try:
        dovecot.deliver(corpus.plain())
        deadline = time.monotonic() + 90  # generous: a loaded CI machine
        while time.monotonic() < deadline and dovecot.count("Processed") < 1:
            time.sleep(0.2)
        assert dovecot.count("Processed") == 1, (mail_server.home / "server.log").read_text()
        found = []
        for desk, client in techs:
            while time.monotonic() < deadline:
                client.sync()
                if desk.store.tickets.count():
                    break
                time.sleep(0.2)
            found.append(desk.store.db.execute(
                "SELECT number, channel, summary FROM tickets").fetchall())
        assert found[0] == found[1]
        assert len(found[0]) == 1 and found[0][0]["channel"] == "email"
        assert found[0][0]["number"] is not None  # numbered by the server, not provisional
        # The server acknowledged it, once, with the server's number in the subject.
        while time.monotonic() < deadline and not mail.unique():
            time.sleep(0.2)
        assert [m["Subject"] for m in mail.unique()] == [
            f"[#{found[0][0]['number']}] We have your request: Outlook keeps asking for my "
            "password"]
        dovecot.deliver(corpus.plain())  # the same message again: still one ticket
        while time.monotonic() < deadline and dovecot.count("Processed") < 2:
            time.sleep(0.2)
        for desk, client in techs:
            client.sync()
            assert desk.store.tickets.count() == 1
        assert len(mail.unique()) == 1
    finally:
        for desk, client in techs:
            client.close()
            desk.close()
