"""The issue's proof: messages reach real receivers on 127.0.0.1, exactly once, through faults.

Each test drives the real services (ticket change → queued in the same transaction →
sender) against the HTTP receiver and the SMTP server in ``receivers.py`` / ``mail.py``,
which validate what arrives as PagerDuty, Opsgenie, a webhook consumer, Slack and a mail
server would.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deskcli.domain.enums import Priority
from deskcli.domain.intake import NewTicket
from deskcli.domain.notify import incident_key
from deskcli.domain.numbering import display_ref
from deskcli.services.desk import Desk
from deskcli.services.notify import NotifyService
from helpers import FakeClock, make_desk, settle_steps

from .conftest import notify_config
from .mail import MailCatcher
from .receivers import Fault, Receiver


def _p1(desk: Desk, email: str | None = "ana.lopez@example.org") -> str:
    row = desk.tickets.create(NewTicket(summary="Payroll server down for the whole office",
                                        caller="Ana Lopez", email=email,
                                        priority=Priority.P1, verbatim="Nobody can log in"))
    return display_ref(row["number"], row["provisional"])


def _events(desk: Desk, ref: str, kind: str) -> list[dict[str, object]]:
    detail = desk.tickets.detail(ref)
    return [{**e, "detail": json.loads(e["detail"] or "{}")} for e in detail.timeline
            if e["kind"] == kind]


def test_a_p1_pages_every_pager_and_acknowledges_the_caller(
        notify_desk: Desk, receiver: Receiver, mail: MailCatcher) -> None:
    """Intake of a P1 queues the page and the acknowledgement; one pass delivers them."""
    ref = _p1(notify_desk)
    ticket_id = notify_desk.tickets.find(ref)["id"]
    service = NotifyService(notify_desk)
    report = service.send_due()
    assert len(report.sent) == 4 and not report.failing_pages
    assert receiver.accepted("pagerduty") == [(incident_key(ticket_id), "trigger")]
    trigger = receiver.delivered[("pagerduty", incident_key(ticket_id), "trigger")]
    assert trigger["payload"]["severity"] == "critical"
    assert ref in trigger["payload"]["summary"]
    assert receiver.accepted("opsgenie") == [(incident_key(ticket_id), "create")]
    assert [action for _key, action in receiver.accepted("webhook")] == ["page"]
    [ack] = mail.messages
    assert ack["To"] == "ana.lopez@example.org"
    assert f"[{ref}]" in ack["Subject"]
    assert ack["References"] == ack["In-Reply-To"] == f"<ticket-{ticket_id}@deskcli.invalid>"
    assert "Hi Ana," in ack.get_payload()
    sent = _events(notify_desk, ref, "message_sent")
    audiences = sorted(str(e["detail"]["audience"]) for e in sent)
    assert audiences == ["caller", "oncall", "oncall", "oncall"]
    caller = next(e for e in sent if e["detail"]["audience"] == "caller")
    assert caller["detail"]["template"] == "acknowledgement"
    assert caller["detail"]["channel"] == "mail" and caller["detail"]["to"] == ack["To"]
    # The acknowledgement counts as the first word to the caller.
    assert notify_desk.tickets.find(ref)["first_response_at"] is not None
    assert service.page_state(ticket_id) == "sent"


def test_page_step_posts_the_bridge_then_ack_resolve_close_survey(
        notify_desk: Desk, receiver: Receiver, mail: MailCatcher, clock: FakeClock) -> None:
    """The whole incident: chat post with the bridge, acknowledge, resolve, close, survey."""
    ref = _p1(notify_desk)
    ticket_id = notify_desk.tickets.find(ref)["id"]
    service = NotifyService(notify_desk)
    service.send_due()
    notify_desk.tickets.complete_step(ref, "page_oncall", {
        "pager": "pagerduty", "bridge": "https://meet.example.org/p1-payroll",
        "channel_posted": "yes"})
    service.acknowledge_page(ref)
    service.send_due()
    [(_key, _action)] = receiver.accepted("chat")
    post = next(body for (svc, _k, _a), body in receiver.delivered.items() if svc == "chat")
    assert ref in str(post["text"]) and "meet.example.org/p1-payroll" in str(post["text"])
    assert service.page_state(ticket_id) == "acknowledged"

    notify_desk.tickets.resolve(ref, root_cause="The payroll VM ran out of disk on /var",
                                resolution="Extended /var to 40 GB and rotated the old logs")
    notify_desk.tickets.log_time(ref, "45m")
    settle_steps(notify_desk, ref)
    notify_desk.tickets.close(ref)
    service.send_due()
    key = incident_key(ticket_id)
    assert receiver.accepted("pagerduty") == sorted([(key, "trigger"), (key, "acknowledge"),
                                                     (key, "resolve")])
    assert receiver.accepted("opsgenie") == sorted([(key, "create"), (key, "acknowledge"),
                                                    (key, "close")])
    subjects = [m["Subject"] for m in mail.messages]
    assert len(subjects) == 2 and subjects[1].startswith(f"[{ref}] Fixed:")
    assert service.page_state(ticket_id) == "resolved"
    # The survey waits for the configured delay (30 minutes), then goes out once.
    assert not _events(notify_desk, ref, "survey_sent")
    clock.advance(minutes=31)
    service.send_due()
    assert len(mail.messages) == 3 and "How did we do?" in mail.messages[2]["Subject"]
    [survey] = _events(notify_desk, ref, "survey_sent")
    assert survey["detail"] == {"via": "email"}
    # The metrics see it: the survey is pending until the caller answers.
    from deskcli.domain.metrics import SurveyState

    assert notify_desk.tickets.survey_state(ref) is SurveyState.PENDING
    notify_desk.tickets.record_csat(ref, 5, "Quick and friendly")
    assert notify_desk.tickets.survey_state(ref) is SurveyState.ANSWERED
    assert receiver.repeats() == 0 and len(mail.unique()) == len(mail.messages)


def test_no_survey_when_the_ticket_was_reopened_meanwhile(
        notify_desk: Desk, mail: MailCatcher, clock: FakeClock) -> None:
    row = notify_desk.tickets.create(NewTicket(summary="Outlook keeps asking for a password",
                                               caller="Ben Okafor", email="ben@example.org"))
    ref = display_ref(row["number"], row["provisional"])
    notify_desk.tickets.resolve(ref, root_cause="Stale token in Credential Manager",
                                resolution="Removed the two stale MicrosoftOffice16 entries")
    notify_desk.tickets.log_time(ref, "20m")
    settle_steps(notify_desk, ref)
    notify_desk.tickets.close(ref)
    notify_desk.tickets.reopen(ref, reason="Prompt came back after the reboot")
    clock.advance(hours=2)
    NotifyService(notify_desk).send_due()
    subjects = [m["Subject"] for m in mail.messages]
    assert len(subjects) == 2  # acknowledgement and resolution, no survey
    assert not any("How did we do" in s for s in subjects)
    assert not _events(notify_desk, ref, "survey_sent")


def test_429_503_and_a_timeout_are_retried_until_delivered_once(
        quick_timeout_desk: Desk, receiver: Receiver, clock: FakeClock) -> None:
    """Retry-After is a floor for the next attempt; backoff grows; delivered exactly once."""
    quick_timeout_desk.config.notify  # noqa: B018 - the desk is configured by the fixture
    receiver.faults = [Fault(status=429, retry_after="120"), Fault(status=503),
                       Fault(delay=3.0)]
    ref = _p1(quick_timeout_desk, email=None)
    service = NotifyService(quick_timeout_desk)
    worker = service.worker()
    worker.run_once(limit=1)  # the pd page meets the 429
    [failure] = _events(quick_timeout_desk, ref, "message_failed")
    assert "429" in str(failure["detail"]["reason"])
    assert failure["detail"]["attempt"] == 1
    assert str(failure["detail"]["next_retry"]) >= "2026-11-24T09:02:00Z"
    report = worker.run_once()  # og meets the 503, hook the timeout; nothing else due yet
    assert len(report.retrying) == 2 and len(report.failing_pages) == 3
    for _ in range(6):
        clock.advance(minutes=3)
        worker.run_once()
    assert len(receiver.accepted("pagerduty")) == 1
    assert len(receiver.accepted("opsgenie")) == 1
    assert len(receiver.accepted("webhook")) == 1
    assert not service.failing_pages()
    reasons = [str(e["detail"]["reason"])
               for e in _events(quick_timeout_desk, ref, "message_failed")]
    assert any("timeout" in r for r in reasons) and any("503" in r for r in reasons)


def test_an_accepted_send_whose_answer_is_lost_is_deduplicated(
        quick_timeout_desk: Desk, receiver: Receiver, clock: FakeClock) -> None:
    """The receiver took the page but the answer never came: the resend is a repeat."""
    receiver.faults = [Fault(hang_after_accept=3.0)]
    ref = _p1(quick_timeout_desk, email=None)
    ticket_id = quick_timeout_desk.tickets.find(ref)["id"]
    worker = NotifyService(quick_timeout_desk).worker()
    worker.run_once(limit=1)
    clock.advance(minutes=5)
    worker.run_once()
    key = incident_key(ticket_id)
    assert receiver.arrivals[("pagerduty", key, "trigger")] == 2  # it did arrive twice
    assert receiver.accepted("pagerduty") == [(key, "trigger")]  # one incident


def test_receiver_down_fails_loudly_after_the_retry_limit(
        isolated_home: Path, clock: FakeClock, receiver: Receiver, secrets: None) -> None:
    receiver.stop()  # nobody listening at that address any more
    config_dir = isolated_home / "config"
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "config.toml").write_text(notify_config(receiver, None, page='["pd"]'))
    with make_desk(isolated_home, clock) as desk:
        ref = _p1(desk, email=None)
        service = NotifyService(desk)
        for _ in range(4):
            report = service.send_due()
            clock.advance(minutes=10)
        assert report.failed and report.failing_pages
        ticket_id = desk.tickets.find(ref)["id"]
        assert service.page_state(ticket_id) == "failed"
        last = _events(desk, ref, "message_failed")[-1]
        assert last["detail"]["gave_up"] is True and "cannot reach" in str(
            last["detail"]["reason"])
        assert "FAILED for good" in str(last["summary"])


def test_a_refused_payload_is_not_retried(
        notify_desk: Desk, receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 4xx other than 429 means the request is wrong: failed at once, reason kept."""
    monkeypatch.setenv("DESKCLI_NOTIFY_PD_ROUTING_KEY", "revoked-key")
    ref = _p1(notify_desk, email=None)
    report = NotifyService(notify_desk).send_due()
    assert len(report.failed) == 1
    [failure] = _events(notify_desk, ref, "message_failed")
    assert "400" in str(failure["detail"]["reason"]) and failure["detail"]["gave_up"] is True


def test_the_queue_commits_with_the_ticket_change(notify_desk: Desk, receiver: Receiver) -> None:
    """A change that is refused queues nothing: the message and the change go together."""
    from deskcli.domain.errors import DeskError

    row = notify_desk.tickets.create(NewTicket(summary="VPN drops every ten minutes",
                                               caller="Cy", email="cy@example.org"))
    ref = display_ref(row["number"], row["provisional"])
    service = NotifyService(notify_desk)
    before = len(service.listing(everything=True))
    with pytest.raises(DeskError):
        notify_desk.tickets.resolve(ref, root_cause="x", resolution="fixed")
    assert len(service.listing(everything=True)) == before


def test_a_reply_is_emailed_and_replaces_an_unsent_acknowledgement(
        notify_desk: Desk, mail: MailCatcher) -> None:
    """The caller gets one acknowledgement: the technician's own words win if first."""
    row = notify_desk.tickets.create(NewTicket(summary="Printer on floor 3 jams",
                                               caller="Dee Park", email="dee@example.org"))
    ref = display_ref(row["number"], row["provisional"])
    notify_desk.tickets.add_note(ref, "Hi Dee, a technician is on the way up.", internal=False)
    notify_desk.tickets.add_note(ref, "Toner swapped, spare tray ordered.", internal=True)
    NotifyService(notify_desk).send_due()
    [reply] = mail.messages
    assert "a technician is on the way up" in reply.get_payload()
    assert "Toner" not in reply.get_payload()
    assert f"[{ref}] About your request" in reply["Subject"]
    [sent] = _events(notify_desk, ref, "message_sent")
    assert sent["detail"]["template"] == "update" and sent["detail"]["audience"] == "caller"


def test_the_queue_stays_local_while_its_events_sync(notify_desk: Desk) -> None:
    """The machine that made the change sends: queued messages make no sync ops, but
    each send's timeline event does, like every other event."""
    ref = _p1(notify_desk)
    ops = notify_desk.store.sync.outbox()
    assert ops and not any(op["entity"] == "outbound" for op in ops)
    NotifyService(notify_desk).send_due()
    sent = {e["id"] for e in notify_desk.tickets.detail(ref).timeline
            if e["kind"] == "message_sent"}
    synced = {op["entity_id"] for op in notify_desk.store.sync.outbox() if op["entity"] == "event"}
    assert sent and sent <= synced


def test_a_sender_without_the_channel_leaves_its_messages_alone(
        notify_desk: Desk, receiver: Receiver) -> None:
    """An app started before a channel was added to the config must not fail (or even
    attempt) that channel's messages: a sender that has the channel delivers them."""
    _p1(notify_desk)
    service = NotifyService(notify_desk)
    [page, *_] = [r for r in service.listing() if r["purpose"] == "page"]
    stale = service.worker()
    stale.senders = {name: sender for name, sender in stale.senders.items()
                     if name != page["channel"]}
    stale.run_once()
    [still] = [r for r in service.listing(everything=True) if r["id"] == page["id"]]
    assert (still["state"], still["attempts"]) == ("queued", 0)
    service.send_due()
    [sent] = [r for r in service.listing(everything=True) if r["id"] == page["id"]]
    assert sent["state"] == "sent"
