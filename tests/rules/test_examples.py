"""The issue's examples, run on a real store with an injected clock: keyword routing, urgent
from an enterprise client, the untouched-ticket escalation, and the three-day follow-up
that closes the ticket when the caller confirms or stays silent."""

from __future__ import annotations

import json
from datetime import timedelta

from deskcli.domain.enums import Priority
from deskcli.domain.ids import stable_id
from deskcli.domain.intake import NewTicket
from deskcli.services.desk import Desk
from deskcli.services.mail import MailIntake
from deskcli.storage.outbound import OutboundQueue
from helpers import FakeClock, settle_steps
from intake import corpus

from .conftest import DeskMaker

ROUTING = """
[[rule]]
name = "refund to billing"
on = "create"
if = { text_has = ["refund", "invoice"] }
then = { queue = "billing", note = "Routed to billing: the caller mentions a refund." }
"""

URGENT = """
[[rule]]
name = "urgent from an enterprise client"
on = "create"
if = { text_has = ["urgent"], tier = ["enterprise"] }
then = { priority = "P2", notify = "incident-room" }
"""

UNTOUCHED = """
[[rule]]
name = "untouched P2 escalates"
on = "schedule"
if = { priority = ["P1", "P2"], status = ["new", "open"], idle = "2h" }
then = { escalate = "tier2", notify = "incident-room" }
"""

FOLLOW_UP = """
[[rule]]
name = "caller confirms: close"
on = "reply"
if = { text_has = ["fixed", "works", "solved"] }
then = { status = "resolved", close = true }

[[rule]]
name = "resolved and silent: nudge"
on = "schedule"
if = { status = ["resolved"], waiting = "3d" }
then = { reply = "still-there" }

[[rule]]
name = "resolved and still silent: close"
on = "schedule"
if = { status = ["resolved"], waiting = "5d" }
then = { close = true }
"""


def timeline(desk: Desk, ref: str) -> list[dict[str, object]]:
    return desk.tickets.detail(ref).timeline


def fired(desk: Desk, ref: str) -> list[str]:
    return [str(e["summary"]) for e in timeline(desk, ref) if e["kind"] == "rule_fired"]


def ref_of(row: dict[str, object]) -> str:
    return f"#{row['number']}"


class TestKeywordRouting:
    def test_a_refund_goes_to_billing_with_a_note(self, rules_desk: DeskMaker) -> None:
        desk = rules_desk(ROUTING)
        row = desk.tickets.create(NewTicket(summary="Please REFUND my last invoice",
                                            caller="Ann"))
        ticket = desk.tickets.find(ref_of(row))
        assert ticket["queue"] == "billing"
        events = timeline(desk, ref_of(row))
        assert fired(desk, ref_of(row)) == [
            "rule 'refund to billing' set queue billing; added an internal note"]
        change = next(e for e in events if e["kind"] == "field_changed")
        assert change["actor"] == "rule:refund to billing"
        assert change["summary"] == "queue: — → billing"
        note = next(e for e in events if e["kind"] == "internal_note")
        assert note["note_body"] == "Routed to billing: the caller mentions a refund."
        firing = next(e for e in events if e["kind"] == "rule_fired")
        assert firing["id"] == stable_id("rule-firing",
                                         f"refund to billing\n{ticket['id']}\n1")

    def test_whole_words_only(self, rules_desk: DeskMaker) -> None:
        desk = rules_desk(ROUTING)
        row = desk.tickets.create(NewTicket(summary="I was refunded, invoicing works"))
        assert desk.tickets.find(ref_of(row))["queue"] is None
        assert fired(desk, ref_of(row)) == []

    def test_a_batch_routes_each_ticket(self, rules_desk: DeskMaker) -> None:
        desk = rules_desk(ROUTING)
        made = desk.tickets.create_many([NewTicket(summary="refund 1"),
                                         NewTicket(summary="printer"),
                                         NewTicket(summary="invoice wrong")])
        queues = [desk.tickets.find(ref)["queue"] for _, ref in made]
        assert queues == ["billing", None, "billing"]


class TestUrgentFromEnterprise:
    def test_raises_the_priority_and_tells_the_incident_room(
            self, rules_desk: DeskMaker) -> None:
        desk = rules_desk(URGENT)
        desk.tickets.set_client_tier("Contoso", "enterprise")
        row = desk.tickets.create(NewTicket(summary="Urgent: payroll export fails",
                                            client="Contoso"))
        ticket = desk.tickets.find(ref_of(row))
        assert ticket["priority"] == "P2"
        posts = [m for m in OutboundQueue(desk.store).for_ticket(ticket["id"])
                 if m["purpose"] == "chat"]
        assert [(m["channel"], json.loads(m["payload"])["text"].split(":")[0])
                for m in posts] == [("incident-room", f"{ref_of(row)} P2 (new)")]
        assert fired(desk, ref_of(row)) == [
            "rule 'urgent from an enterprise client' set priority P2; notified incident-room"]

    def test_not_for_another_tier_or_without_the_word(self, rules_desk: DeskMaker) -> None:
        desk = rules_desk(URGENT)
        desk.tickets.set_client_tier("Contoso", "enterprise")
        standard = desk.tickets.create(NewTicket(summary="Urgent: payroll", client="Fabrikam"))
        calm = desk.tickets.create(NewTicket(summary="payroll question", client="Contoso"))
        for row in (standard, calm):
            assert desk.tickets.find(ref_of(row))["priority"] == "P3"
            assert fired(desk, ref_of(row)) == []


class TestUntouchedEscalation:
    def test_escalates_after_two_hours_once(self, rules_desk: DeskMaker,
                                            clock: FakeClock) -> None:
        desk = rules_desk(UNTOUCHED)
        assert desk.rules is not None
        row = desk.tickets.create(NewTicket(summary="VPN down for the office",
                                            priority=Priority.P2))
        other = desk.tickets.create(NewTicket(summary="new mouse", priority=Priority.P4))
        clock.advance(hours=1, minutes=59)
        assert desk.rules.run_schedule() == []
        clock.advance(minutes=1)
        assert [f.ticket for f in desk.rules.run_schedule()] == [ref_of(row)]
        ticket = desk.tickets.find(ref_of(row))
        assert (ticket["status"], ticket["queue"]) == ("escalated", "tier2")
        assert fired(desk, ref_of(row)) == [
            "rule 'untouched P2 escalates' escalated to tier2; notified incident-room"]
        clock.advance(hours=5)
        assert desk.rules.run_schedule() == []
        assert desk.tickets.find(ref_of(other))["status"] == "new"

    def test_a_technician_touching_it_restarts_the_clock(self, rules_desk: DeskMaker,
                                                         clock: FakeClock) -> None:
        desk = rules_desk(UNTOUCHED)
        assert desk.rules is not None
        row = desk.tickets.create(NewTicket(summary="VPN down", priority=Priority.P2))
        clock.advance(hours=1, minutes=30)
        desk.tickets.update(ref_of(row), {"category": "network"})
        clock.advance(hours=1)
        assert desk.rules.run_schedule() == []
        clock.advance(hours=1)
        assert len(desk.rules.run_schedule()) == 1

    def test_a_dry_run_changes_nothing(self, rules_desk: DeskMaker, clock: FakeClock) -> None:
        desk = rules_desk(UNTOUCHED)
        assert desk.rules is not None
        row = desk.tickets.create(NewTicket(summary="VPN down", priority=Priority.P2))
        later = clock.advance(hours=3)
        planned = desk.rules.test(later)
        assert [f.as_json() for f in planned] == [{
            "rule": "untouched P2 escalates", "ticket": ref_of(row), "on": "schedule",
            "changes": {"queue": "tier2", "status": "escalated", "notify": "incident-room"},
            "notify": "incident-room"}]
        assert desk.tickets.find(ref_of(row))["status"] == "new"
        assert fired(desk, ref_of(row)) == []


class TestFollowUpThenClose:
    def _feed(self, desk: Desk):  # type: ignore[no-untyped-def]
        from deskcli.domain.mailboxes import parse_intake

        settings = parse_intake({"mailboxes": {"support": {
            "host": "127.0.0.1", "security": "none", "username": "support@example.org"}}})
        box = settings.mailboxes["support"]
        intake = MailIntake(desk, settings)
        uids = iter(range(1, 100))
        return lambda raw: intake.ingest(box, "INBOX", 7, next(uids), raw)

    def _ticket(self, desk: Desk) -> str:
        feed = self._feed(desk)
        ref = str(feed(corpus.plain()).ticket_ref)
        desk.tickets.log_time(ref, "10m")
        desk.tickets.resolve(ref, root_cause="corrupt Outlook profile",
                             resolution="Rebuilt the Outlook profile from Control Panel > "
                                        "Mail and re-added the mailbox")
        settle_steps(desk, ref)
        return ref

    def test_silent_caller_is_nudged_then_the_ticket_closes(
            self, rules_desk: DeskMaker, clock: FakeClock) -> None:
        desk = rules_desk(FOLLOW_UP)
        assert desk.rules is not None
        ref = self._ticket(desk)
        ticket_id = desk.tickets.find(ref)["id"]
        clock.advance(days=2, hours=23)
        assert desk.rules.run_schedule() == []
        clock.advance(hours=1)
        assert [f.rule for f in desk.rules.run_schedule()] == ["resolved and silent: nudge"]
        updates = [m for m in OutboundQueue(desk.store).for_ticket(ticket_id)
                   if m["purpose"] == "update"]
        assert len(updates) == 1
        assert "Is the problem still there?" in json.loads(updates[0]["payload"])["body"]
        clock.advance(days=1)
        assert desk.rules.run_schedule() == []  # nudged once, not every pass
        clock.advance(days=1)
        assert [f.rule for f in desk.rules.run_schedule()] == [
            "resolved and still silent: close"]
        assert desk.tickets.find(ref)["status"] == "closed"
        assert fired(desk, ref)[-1] == "rule 'resolved and still silent: close' closed the ticket"

    def test_a_caller_who_confirms_gets_the_ticket_closed(
            self, rules_desk: DeskMaker, clock: FakeClock) -> None:
        desk = rules_desk(FOLLOW_UP)
        ref = self._ticket(desk)
        ticket = desk.tickets.find(ref)
        clock.advance(hours=5)
        feed = self._feed(desk)
        ack = f"<deskcli-{ticket['id']}-acknowledgement-mail-1@deskcli.invalid>"
        outcome = feed(corpus.gmail_reply(ack, "We have your request"))
        assert outcome.action == "reply"
        assert desk.tickets.find(ref)["status"] == "closed"
        kinds = [e["kind"] for e in timeline(desk, ref)]
        assert kinds[-1] == "rule_fired"
        assert "reopened" in kinds  # the reply reopened it first, as any reply does
        assert fired(desk, ref) == [
            "rule 'caller confirms: close' set status resolved; closed the ticket"]

    def test_the_issues_pending_caller_nudge(self, rules_desk: DeskMaker,
                                            clock: FakeClock) -> None:
        desk = rules_desk("""
[[rule]]
name = "silent caller: nudge, then close"
on = "schedule"
if = { status = ["pending-caller"], waiting = "3d" }
then = { reply = "still-there", status = "open" }
""")
        assert desk.rules is not None
        ref = str(self._feed(desk)(corpus.plain()).ticket_ref)
        desk.tickets.set_status(ref, "open")
        desk.tickets.set_status(ref, "pending-caller")
        clock.advance(days=3)
        assert [f.ticket for f in desk.rules.run_schedule()] == [ref]
        assert desk.tickets.find(ref)["status"] == "open"
        assert fired(desk, ref) == [
            "rule 'silent caller: nudge, then close' set status open; sent reply 'still-there'"]


def test_the_dashboard_counts_what_rules_did(rules_desk: DeskMaker, clock: FakeClock) -> None:
    from deskcli.domain import metrics
    from deskcli.services.metrics import build_report, rule_activity

    desk = rules_desk(ROUTING + UNTOUCHED)
    assert desk.rules is not None
    routed = desk.tickets.create(NewTicket(summary="refund", priority=Priority.P2))
    desk.tickets.create(NewTicket(summary="printer"))
    clock.advance(hours=3)
    desk.rules.run_schedule()
    window = metrics.parse_window("7d", None, clock.advance(minutes=1))
    activity = rule_activity(desk.store, window)
    assert activity.firings == 2
    assert activity.refs["routed"] == (ref_of(routed),)  # routed on create, escalated later
    assert activity.refs["escalated"] == (ref_of(routed),)
    assert activity.count("followed_up") == activity.count("auto_closed") == 0
    from deskcli.tui.screens.dashboard import DashboardData, dashboard_rows

    report = build_report(desk.store, desk.config.sla, window, metrics.GroupBy.WEEK)
    rows = dashboard_rows(DashboardData(report, report, activity))
    texts = [str(row[0] if isinstance(row, tuple) else row) for row in rows if row]
    assert "WHAT RULES DID (2 firings; enter lists the tickets)" in texts
    assert any(" ".join(t.split()) == "Tickets routed 1 tickets" for t in texts)
    earlier = metrics.parse_window("7d", None, clock.now() - timedelta(days=30))
    assert rule_activity(desk.store, earlier).firings == 0


def test_tags_as_conditions_and_actions(rules_desk: DeskMaker, clock: FakeClock) -> None:
    desk = rules_desk("""
[[rule]]
name = "outages are tagged"
on = "create"
if = { text_has = ["outage", "down"] }
then = { tag = "outage" }

[[rule]]
name = "a vip tag goes to the vip queue"
on = "update"
if = { tag = ["vip"] }
then = { queue = "vip" }

[[rule]]
name = "untouched outages are raised"
on = "schedule"
if = { tag = "outage", status = ["new"], idle = "1h" }
then = { priority = "P2" }
""")
    assert desk.rules is not None
    down = desk.tickets.create(NewTicket(summary="ERP is down"))
    calm = desk.tickets.create(NewTicket(summary="new keyboard"))
    assert desk.tickets.tags_of(down["id"]) == ["outage"]
    assert desk.tickets.tags_of(calm["id"]) == []
    desk.tickets.tag(ref_of(calm), add=["vip"])
    assert desk.tickets.find(calm["id"])["queue"] == "vip"
    clock.advance(hours=1)
    assert [f.ticket for f in desk.rules.run_schedule()] == [ref_of(down)]
    assert desk.tickets.find(down["id"])["priority"] == "P2"
