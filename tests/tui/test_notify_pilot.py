"""Reaching people from the full-screen app, with real key presses and real receivers.

The app's background sender delivers the P1 page to the HTTP receiver on 127.0.0.1, the
ticket header shows the page's state, ``k`` acknowledges it, a page that cannot go out
stays on the status bar, ``u`` is the one-key checkpoint update (emailed through the SMTP
server), and ``/name`` in the reply box swaps in a canned response.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot

from deskcli.domain.intake import NewTicket
from deskcli.domain.notify import incident_key
from deskcli.storage.outbound import OutboundQueue
from deskcli.tui.app import DeskApp, build_app
from deskcli.tui.screens.note import NoteScreen
from deskcli.tui.widgets.status_bar import DeskStatusBar
from deskcli.tui.widgets.text_box import TextBox
from deskcli.tui.widgets.ticket_header import TicketHeader
from helpers import FakeClock, SeqIds
from notify.conftest import notify_config
from notify.mail import PASSWORD, MailCatcher
from notify.receivers import GENIE_KEY, ROUTING_KEY, SIGNING_KEY, Receiver
from tui.driving import drive, press, settle, type_text
from tui.sample_app import sample_desk
from tui.test_ticket_pilot import open_ticket


@pytest.fixture
def notify_app(isolated_home: Path, clock: FakeClock, receiver: Receiver, mail: MailCatcher,
               monkeypatch: pytest.MonkeyPatch) -> DeskApp:
    monkeypatch.setenv("DESKCLI_NOTIFY_PD_ROUTING_KEY", ROUTING_KEY)
    monkeypatch.setenv("DESKCLI_NOTIFY_OG_API_KEY", GENIE_KEY)
    monkeypatch.setenv("DESKCLI_NOTIFY_HOOK_SIGNING_KEY", SIGNING_KEY)
    monkeypatch.setenv("DESKCLI_NOTIFY_INCIDENT_WEBHOOK_URL", f"{receiver.url}/chat/T01")
    monkeypatch.setenv("DESKCLI_NOTIFY_MAIL_PASSWORD", PASSWORD)
    config_dir = isolated_home / "config"
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "config.toml").write_text(notify_config(receiver, mail, page='["pd"]'))
    desk = sample_desk(isolated_home, clock)
    # Sent by hand at "now"; the background sender runs once when the app starts.
    return build_app(desk, new_id=SeqIds(), tick=None, offer_samples=False,
                     notify_every=3600)


def _ref_of(app: DeskApp, summary: str) -> tuple[str, str]:
    row = app.desk.store.db.execute("SELECT id, number FROM tickets WHERE summary = ?",
                                     (summary,)).fetchone()
    return f"#{row['number']}", row["id"]


P1 = "Whole office cannot reach the file server"


def test_the_p1_page_goes_out_shows_its_state_and_o_acknowledges(
        notify_app: DeskApp, receiver: Receiver) -> None:
    ref, ticket_id = _ref_of(notify_app, P1)

    async def steps(pilot: Pilot[int]) -> None:
        await settle(pilot)
        assert receiver.accepted("pagerduty") == [(incident_key(ticket_id), "trigger")]
        screen = await open_ticket(pilot, ref)
        assert "☎ On-call page sent" in screen.query_one(TicketHeader).plain
        await press(pilot, "o")
        await settle(pilot, rounds=5)
        assert (incident_key(ticket_id), "acknowledge") in receiver.accepted("pagerduty")
        screen.load()
        await settle(pilot)
        assert "☎ On-call page acknowledged" in screen.query_one(TicketHeader).plain
        assert not notify_app.page_alert

    drive(notify_app, steps)


def test_a_page_that_cannot_go_out_stays_on_the_status_bar(
        notify_app: DeskApp, receiver: Receiver) -> None:
    receiver.stop()
    ref, ticket_id = _ref_of(notify_app, P1)

    async def steps(pilot: Pilot[int]) -> None:
        await settle(pilot)
        assert notify_app.page_alert.startswith(f"P1 PAGE NOT SENT: {ref} via pd")
        screen = await open_ticket(pilot, ref)
        bar = str(screen.query_one(DeskStatusBar).render())
        assert "!! P1 PAGE NOT SENT" in bar
        assert "☎ On-call page retrying: NOT delivered yet" in screen.query_one(
            TicketHeader).plain
        # Another process delivers it (`deskcli notify send` after the receiver is back):
        # the next background pass clears the alert and redraws the header, while the
        # step form stays as it was.
        form_before = screen.form
        with notify_app.desk.store.transaction():
            for row in OutboundQueue(notify_app.desk.store).for_ticket(ticket_id):
                if row["purpose"] == "page":
                    OutboundQueue(notify_app.desk.store).finish(
                        row["id"], {"state": "sent", "last_error": None})
        notify_app.run_notify()
        await settle(pilot, rounds=4)
        assert not notify_app.page_alert
        assert "☎ On-call page sent" in screen.query_one(TicketHeader).plain
        assert screen.form is form_before

    drive(notify_app, steps)


def test_u_is_a_one_key_update_emailed_to_the_caller(
        notify_app: DeskApp, mail: MailCatcher, clock: FakeClock) -> None:
    row = notify_app.desk.tickets.create(NewTicket(
        summary="Shared mailbox missing in Outlook", caller="Gita Hale",
        email="gita@example.org"))
    ref = f"#{row['number']}"

    async def steps(pilot: Pilot[int]) -> None:
        await settle(pilot)  # the acknowledgement goes out on start...
        assert mail.messages[0]["Subject"].startswith(f"[{ref}] We have your request")
        clock.advance(hours=5)  # ...and then nothing for five hours
        screen = await open_ticket(pilot, ref)
        assert "u: one-key update" in screen.query_one(TicketHeader).plain
        await press(pilot, "u")
        await settle(pilot)
        assert isinstance(notify_app.screen, NoteScreen)
        text = notify_app.screen.query_one("#note-text", TextBox).text
        assert text.startswith(f"Still on it: ticket {ref} is being worked on")
        await press(pilot, "ctrl+s")
        await settle(pilot, rounds=5)
        assert "~ Silent" not in screen.query_one(TicketHeader).plain
        subjects = [m["Subject"] for m in mail.messages]
        assert subjects[-1].startswith(f"[{ref}] About your request")
        assert "Still on it" in mail.messages[-1].get_payload()

    drive(notify_app, steps)


def test_a_shortcode_in_the_reply_box_becomes_the_snippet(notify_app: DeskApp) -> None:
    ref, _ticket_id = _ref_of(notify_app, P1)

    async def steps(pilot: Pilot[int]) -> None:
        await open_ticket(pilot, ref)
        await press(pilot, "r")
        await settle(pilot)
        await type_text(pilot, "/remote ")
        await settle(pilot)
        box = notify_app.screen.query_one("#note-text", TextBox)
        assert box.text.startswith("Could you accept the remote-support prompt")
        assert ref in box.text
        await type_text(pilot, "Thanks")
        assert box.text.endswith("directly. Thanks")
        await type_text(pilot, " see /var/log ok")
        assert "/var/log ok" in box.text  # a path is not a shortcode

    drive(notify_app, steps)
