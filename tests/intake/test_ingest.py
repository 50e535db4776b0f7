"""The ingest service on a store (no IMAP): threading, effects, loops, exactly once; and the
acknowledgement round trip through a real SMTP catcher and a real Dovecot."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from deskcli.cli.main import app
from deskcli.domain.mailboxes import parse_intake
from deskcli.services.desk import Desk, open_desk
from deskcli.services.mail import MailIntake
from helpers import FakeClock, make_desk, settle_steps
from intake import corpus
from intake.dovecot import PASSWORD, USER, Dovecot
from notify.mail import PASSWORD as SMTP_PASSWORD
from notify.mail import USER as SMTP_USER
from notify.mail import MailCatcher

SETTINGS = parse_intake({"sender_limit": 50, "mailboxes": {"support": {
    "host": "127.0.0.1", "security": "none", "username": "support@example.org"}}})
BOX = SETTINGS.mailboxes["support"]


class Feed:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.intake = MailIntake(desk, SETTINGS)
        self.uid = 0

    def __call__(self, raw: bytes):  # type: ignore[no-untyped-def]
        self.uid += 1
        return self.intake.ingest(BOX, "INBOX", 7, self.uid, raw)


@pytest.fixture
def feed(desk: Desk) -> Feed:
    return Feed(desk)


def _ack_id(ticket_id: str) -> str:
    return f"<deskcli-{ticket_id}-acknowledgement-mail-1@deskcli.invalid>"


def test_a_reply_to_a_closed_ticket_opens_a_new_linked_one_every_time_once(
        feed: Feed, desk: Desk) -> None:
    first = feed(corpus.plain())
    ref = first.ticket_ref
    desk.tickets.resolve(ref, root_cause="cache", resolution="Cleared the Outlook credential "
                                                              "cache in Credential Manager")
    desk.tickets.log_time(ref, "10m")
    settle_steps(desk, ref)
    desk.tickets.close(ref)
    ticket = desk.tickets.find(ref)
    reply = corpus.gmail_reply(_ack_id(ticket["id"]), "We have your request")
    outcome = feed(reply)
    assert outcome.action == "ticket" and "linked to closed" in outcome.detail
    assert desk.tickets.find(ref)["status"] == "closed"
    # Fetched again (a move that never happened): nothing new.
    again = feed(reply)
    assert again.action == "seen" and again.destination == "processed"
    assert desk.store.tickets.count() == 2


def test_an_auto_reply_on_a_ticket_is_an_internal_note_and_changes_nothing(
        feed: Feed, desk: Desk) -> None:
    ref = feed(corpus.plain()).ticket_ref
    ticket = desk.tickets.find(ref)
    desk.tickets.set_status(ref, "pending-caller")
    outcome = feed(corpus.out_of_office(_ack_id(ticket["id"])))
    assert outcome.action == "note"
    after = desk.tickets.detail(ref)
    assert after.ticket["status"] == "pending-caller"
    notes = [e for e in after.timeline if e.get("note_body")]
    assert notes[-1]["note_internal"] == 1 and "out of the office" in notes[-1]["note_body"]


def test_a_reply_via_references_only_finds_the_ticket(feed: Feed, desk: Desk) -> None:
    ref = feed(corpus.plain()).ticket_ref
    ticket = desk.tickets.find(ref)
    raw = corpus.gmail_reply("<unknown@elsewhere>", "x",
                             references=f"<thread-root@x> {_ack_id(ticket['id'])} "
                                        "<unknown@elsewhere>")
    assert feed(raw).ticket_ref == ref


def test_a_reply_to_a_message_we_received_threads_too(feed: Feed) -> None:
    ref = feed(corpus.plain()).ticket_ref
    cc_reply = corpus.gmail_reply("<p1@acme.example>", "Outlook", sender="boss@acme.example",
                                  message_id="<boss1@acme.example>")
    assert feed(cc_reply).ticket_ref == ref


def test_the_subject_alone_never_threads(feed: Feed, desk: Desk) -> None:
    feed(corpus.plain(subject="help", message_id="<h-1@acme.example>"))
    feed(corpus.plain(subject="Re: help", message_id="<h-2@acme.example>"))
    assert desk.store.tickets.count() == 2


def test_a_tag_from_the_caller_threads_but_not_across_clients(desk: Desk) -> None:
    acme = parse_intake({"mailboxes": {"support": {
        "host": "127.0.0.1", "security": "none", "username": "support@example.org",
        "client": "Acme"}, "globex": {
        "host": "127.0.0.1", "security": "none", "username": "help@globex.example",
        "client": "Globex"}}})
    intake = MailIntake(desk, acme)
    made = intake.ingest(acme.mailboxes["support"], "INBOX", 1, 1, corpus.plain())
    number = int(str(made.ticket_ref)[1:])
    tagged = corpus.gmail_reply(None, f"[#{number}] x", message_id="<t1@acme.example>")
    same = intake.ingest(acme.mailboxes["support"], "INBOX", 1, 2, tagged)
    assert same.action == "reply"
    tagged2 = corpus.gmail_reply(None, f"[#{number}] x", message_id="<t2@acme.example>")
    other = intake.ingest(acme.mailboxes["globex"], "INBOX", 1, 3, tagged2)
    assert other.action == "ticket" and "another client" in other.detail


def test_two_intakes_racing_on_one_message_make_one_ticket(isolated_home: Path,
                                                           clock: FakeClock) -> None:
    one, two = make_desk(isolated_home, clock), make_desk(isolated_home, clock)
    try:
        a = MailIntake(one, SETTINGS).ingest(BOX, "INBOX", 1, 1, corpus.plain())
        b = MailIntake(two, SETTINGS).ingest(BOX, "INBOX", 1, 1, corpus.plain())
        assert (a.action, b.action) == ("ticket", "seen")
        assert one.store.tickets.count() == 1
    finally:
        one.close()
        two.close()


def test_a_caller_reply_sends_nothing_to_the_caller(isolated_home: Path, clock: FakeClock,
                                                    mail: MailCatcher,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    _smtp_config(isolated_home, mail, None)
    monkeypatch.setenv("DESKCLI_NOTIFY_MAIL_PASSWORD", SMTP_PASSWORD)
    with make_desk(isolated_home, clock) as desk:
        feed = Feed(desk)
        ref = feed(corpus.plain()).ticket_ref
        ticket = desk.tickets.find(ref)
        feed(corpus.outlook_reply(_ack_id(ticket["id"]), "We have your request"))
        queued = [r["purpose"] for r in desk.store.db.execute("SELECT purpose FROM outbound")]
        assert queued == ["acknowledgement"]  # one, for the new ticket; none for the reply


def _smtp_config(home: Path, mail: MailCatcher, server: Dovecot | None,
                 sender: str = "support@example.org") -> None:
    config = home / "config"
    config.mkdir(parents=True, exist_ok=True)
    intake = ""
    if server is not None:
        intake = (f'[intake.mailboxes.support]\nhost = "127.0.0.1"\nport = {server.port}\n'
                  f'security = "none"\nusername = "{USER}"\n')
    (config / "config.toml").write_text(f"""
[notify]
email = "mail"

[notify.channels.mail]
type = "smtp"
host = "127.0.0.1"
port = {mail.port}
username = "{SMTP_USER}"
from = "{sender}"
ca_file = "{mail.cert_file}"

{intake}""")


def test_acknowledgement_round_trip_without_a_loop(isolated_home: Path, dovecot: Dovecot,
                                                   mail: MailCatcher,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A new message is acknowledged at once, with [#N] in the subject and the loop headers;
    our acknowledgement delivered back into the mailbox is refused; the caller's reply to
    it lands on the ticket."""
    _smtp_config(isolated_home, mail, dovecot)
    monkeypatch.setenv("DESKCLI_NOTIFY_MAIL_PASSWORD", SMTP_PASSWORD)
    monkeypatch.setenv("DESKCLI_INTAKE_SUPPORT_PASSWORD", PASSWORD)
    dovecot.deliver(corpus.plain())
    result = CliRunner().invoke(app, ["mail", "fetch"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    assert len(mail.unique()) == 1
    ack = mail.unique()[0]
    with open_desk() as desk:
        number = desk.store.db.execute("SELECT number FROM tickets").fetchone()["number"]
    assert ack["Subject"].startswith(f"[#{number}] ")
    assert ack["Auto-Submitted"] == "auto-replied"
    assert ack["X-Deskcli-Ticket"] == f"#{number}"
    assert ack["To"] == "alice@acme.example"
    dovecot.deliver(ack.as_bytes())
    dovecot.deliver(corpus.outlook_reply(str(ack["Message-ID"]), str(ack["Subject"])))
    result = CliRunner().invoke(app, ["mail", "fetch"], catch_exceptions=False)
    assert result.exit_code == 0
    assert "refused: deskcli's own mail" in result.stderr
    assert f"reply from alice@acme.example on #{number}" in result.stderr
    assert len(mail.unique()) == 1  # nothing answered the reply or our own mail
    assert dovecot.count("Refused") == 1 and dovecot.count("Processed") == 2


def test_a_bounce_of_our_acknowledgement_is_noted_on_its_ticket(feed: Feed, desk: Desk) -> None:
    ref = feed(corpus.plain()).ticket_ref
    ticket = desk.tickets.find(ref)
    outcome = feed(corpus.bounce(original_id=_ack_id(ticket["id"])))
    assert outcome.action == "note" and outcome.ticket_ref == ref
    notes = [e for e in desk.tickets.detail(ref).timeline if e.get("note_internal")]
    assert "could not be delivered" in notes[-1]["note_body"]


def test_a_display_name_never_matches_a_caller_only_the_address_does(
        feed: Feed, desk: Desk) -> None:
    from deskcli.domain.intake import NewTicket

    desk.tickets.create(NewTicket(summary="Laptop", caller="Alice Smith"))  # no address
    made = feed(corpus.plain(sender="alice.smith@evil.example", name="Alice Smith"))
    ticket = desk.tickets.find(str(made.ticket_ref))
    assert ticket["caller_email"] == "alice.smith@evil.example"
    phone_caller = desk.store.db.execute(
        "SELECT * FROM callers WHERE email IS NULL").fetchall()
    assert len(phone_caller) == 1  # the phone caller's record was not given the address
    again = feed(corpus.plain("Second", sender="Alice.Smith@evil.example",
                              message_id="<second@evil.example>"))
    assert desk.tickets.find(str(again.ticket_ref))["caller_id"] == ticket["caller_id"]


def test_a_parked_message_moved_back_is_taken_in(desk: Desk, clock: FakeClock) -> None:
    tight = parse_intake({"sender_limit": 1, "mailboxes": {"support": {
        "host": "127.0.0.1", "security": "none", "username": "support@example.org"}}})
    box = tight.mailboxes["support"]
    intake = MailIntake(desk, tight)
    assert intake.ingest(box, "INBOX", 1, 1, corpus.plain()).action == "ticket"
    second = corpus.plain("Another", message_id="<another@acme.example>")
    assert intake.ingest(box, "INBOX", 1, 2, second).action == "parked"
    # The same UID again (a crash before the move): still parked, not judged again.
    assert intake.ingest(box, "INBOX", 1, 2, second).action == "seen"
    clock.advance(hours=2)
    # Moved back by a person: a new UID, judged again, and the hour has passed.
    assert intake.ingest(box, "INBOX", 1, 3, second).action == "ticket"


def test_mail_from_our_sending_address_is_never_taken_in(
        isolated_home: Path, clock: FakeClock, mail: MailCatcher) -> None:
    from deskcli.services.mail import for_desk

    _smtp_config(isolated_home, mail, None, sender="noreply@example.org")
    with make_desk(isolated_home, clock) as desk:
        outcome = for_desk(desk).ingest(BOX, "INBOX", 1, 1,
                                        corpus.plain(sender="NoReply@example.org"))
        assert outcome.action == "refused" and "our own address" in outcome.detail
        assert desk.store.tickets.count() == 0


def test_a_message_already_on_a_synced_ticket_is_not_taken_in_again(
        isolated_home: Path, clock: FakeClock) -> None:
    """Another host took the message in and pushed it, but died before moving it: the
    ticket's timeline (pulled by sync) names the message, and that is enough."""
    with make_desk(isolated_home, clock) as desk:
        first = Feed(desk)(corpus.plain())
        desk.store.db.execute("DELETE FROM mail_messages")  # this host never saw it
        again = MailIntake(desk, SETTINGS).ingest(BOX, "INBOX", 9, 1, corpus.plain())
        assert again.action == "seen" and again.ticket_ref == first.ticket_ref
        assert desk.store.tickets.count() == 1
        plan = desk.store.db.execute(
            "EXPLAIN QUERY PLAN SELECT ticket_id FROM events WHERE "
            "json_extract(detail, '$.mail_key') = ? AND kind IN ('email_received', "
            "'caller_reply', 'internal_note') LIMIT 1", ("<x>",)).fetchall()
        assert "events_by_mail_key" in str(plan)
