"""Hostile text and bad messages in the outbound queue: nothing sits in ``sending``
forever, nothing blocks the messages behind it, and mail is built only from clean text."""

from __future__ import annotations

import json
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest

from deskcli.domain.enums import Priority
from deskcli.domain.intake import NewTicket
from deskcli.domain.numbering import display_ref
from deskcli.notify.email import SmtpSender
from deskcli.services.desk import Desk
from deskcli.services.notify import NotifyService
from helpers import FakeClock, make_desk

from .conftest import notify_config
from .mail import MailCatcher
from .receivers import Receiver


def _ticket(desk: Desk, summary: str = "Outlook keeps asking for a password",
            email: str = "ben@example.org", priority: Priority = Priority.P3,
            caller: str | None = None) -> str:
    caller = caller or email.split("@")[0].capitalize()
    row = desk.tickets.create(NewTicket(summary=summary, caller=caller, email=email,
                                        priority=priority))
    return display_ref(row["number"], row["provisional"])


def _rows(desk: Desk) -> list[dict[str, object]]:
    return [dict(r) for r in desk.store.db.execute(
        "SELECT * FROM outbound ORDER BY created_at, rowid")]


def _poison_payload(desk: Desk, ticket_ref: str, subject: str, body: str) -> None:
    """What a store written before the one-line rule (or by an old peer) can hold."""
    ticket_id = desk.tickets.find(ticket_ref)["id"]
    with desk.store.transaction():
        desk.store.db.execute(
            "UPDATE outbound SET payload = ? WHERE ticket_id = ? AND channel = 'mail'",
            (json.dumps({"subject": subject, "body": body}), ticket_id))


def test_a_cr_in_the_subject_is_sent_clean_and_parses_with_zero_defects(
        notify_desk: Desk, mail: MailCatcher) -> None:
    """The issue's poison message: a summary with a bare CR used to crash the sender
    ("Header values may not contain linefeed") and sit in 'sending' forever."""
    poisoned = _ticket(notify_desk)
    behind = _ticket(notify_desk, summary="VPN drops every hour", email="cy@example.org")
    _poison_payload(notify_desk, poisoned, "[#1] Printer\rBcc: victim@example.org\x1b]0;x\x07",
                    "Line one\rline two\x1b[2J\u2028end\n")
    report = NotifyService(notify_desk).send_due()
    assert len(report.sent) == 2 and not report.failed
    assert {r["state"] for r in _rows(notify_desk)} == {"sent"}
    assert len(mail.messages) == 2
    for message in mail.messages:
        assert not message.defects
        for name, value in message.items():
            assert "\r" not in value and "\n" not in value and "\x1b" not in value, name
    first = next(m for m in mail.messages if m["To"] == "ben@example.org")
    assert first["Bcc"] is None
    # The ticket's own tag goes in front, so a reply finds its ticket (docs/email.md).
    assert first["Subject"] == f"[{poisoned}] [#1] Printer Bcc: victim@example.org ]0;x"
    assert "\x1b" not in first.get_payload(decode=True).decode()
    assert behind  # the second ticket's acknowledgement went out too


def test_a_message_that_cannot_be_built_fails_for_good_and_never_blocks_the_rest(
        notify_desk: Desk, mail: MailCatcher, monkeypatch: pytest.MonkeyPatch) -> None:
    first = _ticket(notify_desk)
    _ticket(notify_desk, summary="VPN drops every hour", email="cy@example.org")
    poison_id = notify_desk.tickets.find(first)["id"]
    real_build = SmtpSender.build

    def build(self: SmtpSender, message):  # type: ignore[no-untyped-def]
        if message.ticket_id == poison_id:
            raise ValueError("Header values may not contain linefeed or carriage return")
        return real_build(self, message)

    monkeypatch.setattr(SmtpSender, "build", build)
    report = NotifyService(notify_desk).send_due()
    assert len(report.failed) == 1 and len(report.sent) == 1
    states = {r["ticket_id"]: r["state"] for r in _rows(notify_desk)}
    assert states[poison_id] == "failed" and set(states.values()) == {"failed", "sent"}
    failed = next(r for r in _rows(notify_desk) if r["state"] == "failed")
    assert "could not be sent: ValueError" in str(failed["last_error"])
    assert [m["To"] for m in mail.messages] == ["cy@example.org"]


def test_a_page_that_cannot_be_built_is_failed_loudly(
        isolated_home: Path, clock: FakeClock, receiver: Receiver, secrets: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    config_dir = isolated_home / "config"
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "config.toml").write_text(notify_config(receiver, None, page='["pd"]'))
    from deskcli.notify.pagerduty import PagerDutySender

    def broken(self: PagerDutySender, message):  # type: ignore[no-untyped-def]
        raise TypeError("unexpected payload")

    monkeypatch.setattr(PagerDutySender, "body", broken)
    with make_desk(isolated_home, clock) as desk:
        ref = _ticket(desk, priority=Priority.P1)
        service = NotifyService(desk)
        report = service.send_due()
        assert report.failed and report.failing_pages
        assert service.page_state(desk.tickets.find(ref)["id"]) == "failed"


def test_a_sender_that_died_on_the_last_attempt_leaves_a_failed_message(
        notify_desk: Desk, mail: MailCatcher, clock: FakeClock) -> None:
    """Attempts used up by senders that never came back: failed, not retried forever."""
    _ticket(notify_desk)
    with notify_desk.store.transaction():
        notify_desk.store.db.execute(
            "UPDATE outbound SET state = 'sending', attempts = 4, lease_owner = 'gone', "
            "lease_until = '2000-01-01T00:00:00Z'")
    report = NotifyService(notify_desk).send_due()
    assert report.failed and not report.sent and not mail.messages
    [row] = _rows(notify_desk)
    assert row["state"] == "failed" and "last attempt" in str(row["last_error"])


def test_automatic_mail_says_so_and_a_technicians_reply_does_not(
        notify_desk: Desk, mail: MailCatcher) -> None:
    ref = _ticket(notify_desk)
    service = NotifyService(notify_desk)
    service.send_due()
    service.update(ref, "I have reset the token; please try again after lunch.")
    service.send_due()
    acknowledgement, update = mail.messages
    assert acknowledgement["Auto-Submitted"] == "auto-replied"
    assert update["Auto-Submitted"] is None


def test_an_8bit_body_is_sent_with_body_8bitmime(notify_desk: Desk, mail: MailCatcher) -> None:
    _ticket(notify_desk, summary="Café printer prints 文字化け", caller="文字 Zoë")
    NotifyService(notify_desk).send_due()
    [message] = mail.messages
    assert message["Content-Transfer-Encoding"] == "8bit"
    assert "BODY=8BITMIME" in mail.options[0]
    assert "Hi 文字," in message.get_payload(decode=True).decode()
    assert not message_from_bytes(message.as_bytes(), policy=default_policy).defects


@pytest.fixture
def ascii_mail(tmp_path: Path):  # type: ignore[no-untyped-def]
    folder = tmp_path / "tls7"
    folder.mkdir()
    started = MailCatcher(folder, smtputf8=False).start()
    yield started
    started.stop()


def test_a_non_ascii_address_without_smtputf8_is_refused_with_that_reason(
        isolated_home: Path, clock: FakeClock, receiver: Receiver, ascii_mail: MailCatcher,
        secrets: None) -> None:
    config_dir = isolated_home / "config"
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "config.toml").write_text(notify_config(receiver, ascii_mail, page="[]"))
    with make_desk(isolated_home, clock) as desk:
        _ticket(desk, email="josé@example.org")
        report = NotifyService(desk).send_due()
        assert report.failed and not ascii_mail.messages
        [row] = _rows(desk)
        assert "SMTPUTF8" in str(row["last_error"]) and "STARTTLS" not in str(row["last_error"])


def test_an_8bit_body_goes_quoted_printable_to_a_server_without_8bitmime(
        notify_desk: Desk, mail: MailCatcher, monkeypatch: pytest.MonkeyPatch) -> None:
    import smtplib

    real = smtplib.SMTP.has_extn
    monkeypatch.setattr(smtplib.SMTP, "has_extn",
                        lambda self, name: name.lower() != "8bitmime" and real(self, name))
    _ticket(notify_desk, caller="文字 Zoë")
    NotifyService(notify_desk).send_due()
    [message] = mail.messages
    assert message["Content-Transfer-Encoding"] == "quoted-printable"
    assert "BODY=8BITMIME" not in mail.options[0]
    assert "Hi 文字," in message.get_payload(decode=True).decode()
