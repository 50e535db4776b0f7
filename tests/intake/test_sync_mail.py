"""A ticket taken in from email on one machine reaches the other technicians once, by sync
through a real team server, with the caller's reply and the attachments."""

from __future__ import annotations

import pytest

from deskcli.domain.mailboxes import parse_intake
from deskcli.services.mail import MailIntake
from intake import corpus
from sync.conftest import Tech, server, team  # noqa: F401 - the sync tests' fixtures

pytestmark = pytest.mark.subprocess

SETTINGS = parse_intake({"mailboxes": {"support": {
    "host": "127.0.0.1", "security": "none", "username": "support@example.org",
    "client": "Acme"}}})
BOX = SETTINGS.mailboxes["support"]


def test_a_ticket_from_email_reaches_the_other_technician_once(
        team: dict[str, Tech]) -> None:  # noqa: F811 - the imported fixture
    ana, ben = team["ana"], team["ben"]
    intake = MailIntake(ana.desk, SETTINGS)
    made = intake.ingest(BOX, "INBOX", 1, 1, corpus.with_attachments())
    ticket = ana.desk.tickets.find(str(made.ticket_ref))
    ack = f"<deskcli-{ticket['id']}-acknowledgement-mail-1@deskcli.invalid>"
    intake.ingest(BOX, "INBOX", 1, 2, corpus.outlook_reply(ack, "Screenshot",
                                                          sender="carol@acme.example"))
    assert intake.ingest(BOX, "INBOX", 1, 3, corpus.with_attachments()).action == "seen"
    for tech in (ana, ben, ana, ben):
        tech.sync()
    seen = ben.desk.store.tickets.by_id(ticket["id"])
    assert seen is not None and seen["channel"] == "email"
    assert ben.desk.store.tickets.count() == 1
    timeline = ben.desk.store.timeline.events(ticket["id"])
    replies = [e for e in timeline if e["kind"] == "caller_reply"]
    assert len(replies) == 1 and replies[0]["note_body"].startswith("It still happens")
    names = sorted(a["filename"] for a in ben.desk.store.attachments.of_ticket(ticket["id"]))
    assert "vpn-error.png" in names and "vpn.log" in names
    for tech in (ana, ben):
        tech.sync()
    assert ben.desk.store.tickets.count() == 1
    assert len([e for e in ben.desk.store.timeline.events(ticket["id"])
                if e["kind"] == "caller_reply"]) == 1
