"""Email intake end to end against a real Dovecot: the corpus, the CLI, and the faults.

Each test starts its own IMAP server (tests/intake/dovecot.py) and its own store under
DESKCLI_HOME; messages are delivered with IMAP APPEND, fetched by the real code, and the
result is read back from both the store and the server's folders.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from deskcli.cli.main import app
from deskcli.services.desk import open_desk
from intake import corpus
from intake.dovecot import PASSWORD, USER, Dovecot

SRC = str(Path(__file__).resolve().parents[2] / "src")


def configure(home: Path, server: Dovecot, *, extra: str = "", port: int | None = None
              ) -> None:
    config = home / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "config.toml").write_text(
        f'[intake]\nsender_limit = 5\n{extra}\n[intake.mailboxes.support]\nhost = "127.0.0.1"\n'
        f'port = {port or server.port}\nsecurity = "none"\nusername = "{USER}"\n')


@pytest.fixture
def home(isolated_home: Path, dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch) -> Path:
    configure(isolated_home, dovecot)
    monkeypatch.setenv("DESKCLI_INTAKE_SUPPORT_PASSWORD", PASSWORD)
    return isolated_home


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), prog_name="deskcli", catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def tickets(home: Path) -> list[dict[str, object]]:
    with open_desk() as desk:
        return list(desk.store.db.execute(
            "SELECT t.*, c.email AS caller_email FROM tickets t "
            "LEFT JOIN callers c ON c.id = t.caller_id ORDER BY number"))


def ledger(home: Path) -> list[dict[str, object]]:
    with open_desk() as desk:
        return list(desk.store.db.execute("SELECT * FROM mail_messages ORDER BY rowid"))


def test_the_corpus_end_to_end(home: Path, dovecot: Dovecot) -> None:
    dovecot.deliver(corpus.plain(), corpus.html_only(), corpus.with_attachments(),
                    corpus.rfc2047(), corpus.no_message_id(), corpus.mailing_list(),
                    corpus.out_of_office(), corpus.bounce(), corpus.ours(), corpus.no_from(),
                    corpus.bad_charset(), corpus.malformed_mime(), corpus.long_body())
    code, out, err = run("mail", "fetch")
    assert code == 0, err
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 13, err
    made = tickets(home)
    assert len(made) == 8
    first = made[0]
    assert first["channel"] == "email" and first["verification"] is None
    assert first["summary"] == "Outlook keeps asking for my password"
    assert first["caller_email"] == "alice@acme.example"
    assert "0x800CCC0E" in str(first["error_text"])
    assert {t["summary"] for t in made} >= {"Drucker druckt nicht – Büro Zürich",
                                             "Printer on 3rd floor jams", "Monitor flickers"}
    assert dovecot.count("INBOX") == 0
    # The bounce returns the first message (its headers name <p1@acme.example>): a note.
    assert dovecot.count("Processed") == 9
    assert dovecot.count("Refused") == 4  # list, out-of-office, ours, no From
    refused = [r for r in ledger(home) if r["outcome"] == "refused"]
    assert all(r["reason"] for r in refused)
    # Fetching again takes nothing in twice.
    code, _, err = run("mail", "fetch")
    assert code == 0 and err == ""
    assert len(tickets(home)) == 8


def test_a_reply_threads_onto_its_ticket_and_reopens_it(home: Path, dovecot: Dovecot) -> None:
    dovecot.deliver(corpus.plain())
    assert run("mail", "fetch")[0] == 0
    ticket = tickets(home)[0]
    ack = f"<deskcli-{ticket['id']}-acknowledgement-mail-1@deskcli.invalid>"
    with open_desk() as desk:
        desk.tickets.set_status(f"#{ticket['number']}", "pending-caller")
    dovecot.deliver(corpus.outlook_reply(ack, "We have your request"))
    code, _, err = run("mail", "fetch")
    assert code == 0 and "reply from alice@acme.example" in err and "back to open" in err
    with open_desk() as desk:
        detail = desk.tickets.detail(f"#{ticket['number']}")
        assert detail.ticket["status"] == "open"
        replies = [e for e in detail.timeline if e["kind"] == "caller_reply"]
        assert replies[0]["note_body"].startswith("It still happens after the restart.")
        assert "Thanks for getting in touch" not in replies[0]["note_body"]
        assert detail.ticket["last_contact_at"] is not None
        desk.tickets.resolve(f"#{ticket['number']}", root_cause="stale cached credential",
                             resolution="Cleared the Outlook credential cache in Credential "
                                        "Manager; the caller confirmed it works")
    dovecot.deliver(corpus.gmail_reply(None, f"[#{ticket['number']}] We have your request",
                                       message_id="<g9@acme.example>"))
    code, _, err = run("mail", "fetch")
    assert code == 0 and "reopened (caller replied)" in err
    assert len(tickets(home)) == 1 and tickets(home)[0]["status"] == "open"


def test_a_spoofed_tag_opens_a_new_linked_ticket(home: Path, dovecot: Dovecot) -> None:
    dovecot.deliver(corpus.plain())
    run("mail", "fetch")
    number = tickets(home)[0]["number"]
    dovecot.deliver(corpus.spoofed_tag(int(number)))  # type: ignore[call-overload]
    code, _, err = run("mail", "fetch")
    assert code == 0 and "not a party" in err
    made = tickets(home)
    assert len(made) == 2
    with open_desk() as desk:
        victim = desk.tickets.detail(f"#{number}")
        assert not [e for e in victim.timeline if e["kind"] == "caller_reply"]
        assert [e for e in victim.timeline if e["kind"] == "linked"]


def test_sender_rate_cap_parks_and_says_so(home: Path, dovecot: Dovecot) -> None:
    dovecot.deliver(*[corpus.plain(f"Problem {n}", message_id=f"<rc{n}@acme.example>")
                      for n in range(7)])
    code, _, err = run("mail", "fetch")
    assert code == 0
    assert len(tickets(home)) == 5
    assert err.count("parked") == 2
    assert dovecot.count("Refused") == 2


def test_a_large_attachment_is_refused_on_the_ticket(home: Path, dovecot: Dovecot) -> None:
    (home / "config" / "config.toml").write_text(
        "attachment_max_mb = 1\n" + (home / "config" / "config.toml").read_text())
    dovecot.deliver(corpus.with_attachments(big=2 * 1024 * 1024))
    assert run("mail", "fetch")[0] == 0
    with open_desk() as desk:
        detail = desk.tickets.detail(f"#{tickets(home)[0]['number']}")
        names = [a["filename"] for a in detail.attachments]
        assert "vpn-error.png" in names and "dump.bin" not in names
        notes = [e["note_body"] for e in detail.timeline if e.get("note_internal")]
        assert any("Not attached: dump.bin" in str(n) for n in notes)


def test_status_and_test_commands(home: Path, dovecot: Dovecot) -> None:
    dovecot.deliver(corpus.plain(), corpus.mailing_list())
    code, _, err = run("mail", "test", "support")
    assert code == 0, err
    assert "logged in" in err and "2 message(s) waiting" in err
    assert dovecot.count("INBOX") == 2  # test fetches and moves nothing
    run("mail", "fetch")
    code, out, _ = run("mail", "status", "--format", "json")
    assert code == 0
    status = json.loads(out)
    assert status[0]["mailbox"] == "support" and status[0]["failures"] == 0
    assert status[0]["counts"] == {"ticket": 1, "refused": 1}


def test_bad_names_and_missing_password_exit_2(home: Path, dovecot: Dovecot,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, err = run("mail", "fetch", "--mailbox", "nope")
    assert code == 2 and "unknown mailbox 'nope'; configured: support" in err
    import keyring

    monkeypatch.delenv("DESKCLI_INTAKE_SUPPORT_PASSWORD")
    monkeypatch.setattr(keyring, "get_password", lambda service, account: None)
    code, _, err = run("mail", "fetch")
    assert code == 2 and "DESKCLI_INTAKE_SUPPORT_PASSWORD" in err
    assert "Traceback" not in err


def test_wrong_password_and_unreachable_server_exit_1(home: Path, dovecot: Dovecot,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESKCLI_INTAKE_SUPPORT_PASSWORD", "wrong")
    code, _, err = run("mail", "fetch")
    assert code == 1 and "refused the login" in err
    code, out, _ = run("mail", "status", "--format", "json")
    assert code == 1 and json.loads(out)[0]["failures"] == 1
    monkeypatch.setenv("DESKCLI_INTAKE_SUPPORT_PASSWORD", PASSWORD)
    dovecot.stop()
    code, _, err = run("mail", "fetch")
    assert code == 1 and "cannot reach 127.0.0.1" in err


def test_tls_with_a_private_ca(isolated_home: Path, dovecot_tls: Dovecot,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    config = isolated_home / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "config.toml").write_text(
        f'[intake.mailboxes.support]\nhost = "127.0.0.1"\nport = {dovecot_tls.tls_port}\n'
        f'username = "{USER}"\nca_file = "{dovecot_tls.cert}"\n')
    monkeypatch.setenv("DESKCLI_INTAKE_SUPPORT_PASSWORD", PASSWORD)
    dovecot_tls.deliver(corpus.plain())
    code, _, err = run("mail", "fetch")
    assert code == 0, err
    assert len(tickets(isolated_home)) == 1
    # Without trusting the test CA the certificate is refused: no silent downgrade.
    (config / "config.toml").write_text(
        f'[intake.mailboxes.support]\nhost = "127.0.0.1"\nport = {dovecot_tls.tls_port}\n'
        f'username = "{USER}"\n')
    code, _, err = run("mail", "fetch")
    assert code == 1 and "TLS" in err


# --- faults -------------------------------------------------------------------------------

_KILL_BEFORE_MOVE = (
    "import os, signal, sys\n"
    "import deskcli.intake.imap as imap\n"
    "def move(self, uid, folder):\n"
    "    os.kill(os.getpid(), signal.SIGKILL)\n"
    "imap.ImapMailbox.move = move\n"
    "from deskcli.cli.main import run\n"
    "sys.argv = ['deskcli', 'mail', 'fetch']\n"
    "run()\n")


def _child_env(home: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""),
            "DESKCLI_HOME": str(home), "DESKCLI_INTAKE_SUPPORT_PASSWORD": PASSWORD}


@pytest.mark.subprocess
def test_killed_after_the_commit_and_before_the_move_makes_one_ticket(
        home: Path, dovecot: Dovecot) -> None:
    dovecot.deliver(corpus.plain())
    child = subprocess.run([sys.executable, "-c", _KILL_BEFORE_MOVE], env=_child_env(home),
                           capture_output=True, timeout=60)
    assert child.returncode == -signal.SIGKILL
    assert len(tickets(home)) == 1
    assert dovecot.count("INBOX") == 1  # the move never happened
    code, _, err = run("mail", "fetch")
    assert code == 0 and "already taken in" in err
    assert len(tickets(home)) == 1
    assert dovecot.count("INBOX") == 0 and dovecot.count("Processed") == 1


@pytest.mark.subprocess
def test_two_fetchers_at_once_make_one_ticket_per_message(home: Path, dovecot: Dovecot) -> None:
    (home / "config" / "config.toml").write_text(
        (home / "config" / "config.toml").read_text().replace("sender_limit = 5",
                                                              "sender_limit = 100"))
    dovecot.deliver(*[corpus.plain(f"Problem {n}", sender=f"user{n}@acme.example",
                                   message_id=f"<two{n}@acme.example>") for n in range(30)])
    command = [sys.executable, "-m", "deskcli", "mail", "fetch"]
    children = [subprocess.Popen(command, env=_child_env(home), stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE) for _ in range(2)]
    results = [child.communicate(timeout=120) for child in children]
    assert [child.returncode for child in children] == [0, 0], results
    made = tickets(home)
    assert len(made) == 30
    assert len({t["summary"] for t in made}) == 30
    out = b"".join(err for _, err in results).decode()
    # Whichever started second either found the mailbox claimed or nothing left to do.
    assert out.count("new ticket") == 30, out
    assert len(ledger(home)) == 30
    assert dovecot.count("INBOX") == 0 and dovecot.count("Processed") == 30


def test_the_server_stopping_mid_fetch_exits_1_and_loses_nothing(
        home: Path, dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch) -> None:
    dovecot.deliver(*[corpus.plain(f"Problem {n}", sender=f"user{n}@acme.example",
                                   message_id=f"<stop{n}@acme.example>") for n in range(4)])
    from deskcli.services.mail import MailIntake

    real = MailIntake.ingest
    calls = []

    def ingest_then_stop(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        outcome = real(self, *args, **kwargs)
        calls.append(outcome)
        if len(calls) == 2:
            dovecot.stop()
        return outcome

    monkeypatch.setattr(MailIntake, "ingest", ingest_then_stop)
    code, _, err = run("mail", "fetch")
    assert code == 1 and "cannot fetch" in err, err
    assert len(tickets(home)) == 2
    monkeypatch.setattr(MailIntake, "ingest", real)
    dovecot.start()
    code, _, err = run("mail", "fetch")
    assert code == 0, err
    assert len(tickets(home)) == 4
    assert dovecot.count("INBOX") == 0 and dovecot.count("Processed") == 4


def test_watch_keeps_fetching_until_interrupted(home: Path, dovecot: Dovecot,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import deskcli.cli.mail_cmd as mail_cmd

    passes = []

    def sleep(seconds: float) -> None:
        passes.append(seconds)
        if len(passes) == 1:
            dovecot.deliver(corpus.html_only())  # arrives while the first pass waits
            return
        raise KeyboardInterrupt

    monkeypatch.setattr(mail_cmd, "pause", sleep)
    dovecot.deliver(corpus.plain())
    code, _, err = run("mail", "fetch", "--watch")
    assert code == 130
    assert passes == [60.0, 60.0]
    assert len(tickets(home)) == 2 and err.count("new ticket") == 2


def test_mail_test_names_a_missing_inbox_folder(home: Path, dovecot: Dovecot) -> None:
    config = home / "config" / "config.toml"
    config.write_text(config.read_text() + 'folder = "Support Queue"\n')
    code, _, err = run("mail", "test", "support")
    assert code == 1 and "folder 'Support Queue' does not exist on the server" in err
    assert "processed_folder 'Processed': missing (created on the first fetch)" in err


def test_starttls_upgrades_before_the_password_is_sent(isolated_home: Path,
                                                       dovecot_tls: Dovecot,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    config = isolated_home / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "config.toml").write_text(
        f'[intake.mailboxes.support]\nhost = "127.0.0.1"\nport = {dovecot_tls.port}\n'
        f'security = "starttls"\nusername = "{USER}"\nca_file = "{dovecot_tls.cert}"\n')
    monkeypatch.setenv("DESKCLI_INTAKE_SUPPORT_PASSWORD", PASSWORD)
    dovecot_tls.deliver(corpus.plain())
    code, _, err = run("mail", "fetch")
    assert code == 0, err
    assert len(tickets(isolated_home)) == 1
    log = (dovecot_tls.root / "dovecot.log").read_text()
    assert "method=PLAIN" in log and ", TLS," in log
