"""Surveys, survey answers and the report, through the real service on a real SQLite file.

Timelines are made by the ticket service itself (replies, pauses, escalations, reopens),
so these tests also prove the store's compact timeline carries what the domain needs.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from deskcli.domain import metrics
from deskcli.domain.errors import InvalidInput, Refused
from deskcli.domain.intake import NewTicket
from deskcli.domain.metrics import GroupBy
from deskcli.services import demo
from deskcli.services.desk import Desk
from deskcli.services.metrics import build_report, window_for
from helpers import FakeClock, SeqIds, settle_steps

FIX = "Rebuilt the Outlook profile and cleared Credential Manager; KB 4567"


def _new(desk: Desk, **record: Any) -> str:
    record.setdefault("summary", "Outlook asks for a password again and again")
    return str(desk.tickets.create(NewTicket.from_mapping(record))["number"])


def _resolve_and_close(desk: Desk, ref: str) -> None:
    desk.tickets.resolve(ref, root_cause="Stale token", resolution=FIX)
    desk.tickets.log_time(ref, "15m")
    settle_steps(desk, ref)
    desk.tickets.close(ref)


def _figure(report: metrics.Report, name: str, group: str | None = None) -> metrics.Figure:
    tally = report.total if group is None else report.groups[group]
    return next(f for f in metrics.figures(tally) if f.metric == name)


def _report(desk: Desk, since: str = "30d", by: GroupBy = GroupBy.NONE) -> metrics.Report:
    return build_report(desk.store, desk.config.sla, window_for(since, None, desk.now()), by)


class TestSurveys:
    def test_send_survey_step_records_the_event_and_csat_answers_it(
            self, desk: Desk, clock: FakeClock) -> None:
        ref = _new(desk)
        t = desk.tickets
        t.update(ref, {"status": "open"})
        _resolve_and_close(desk, ref)
        with desk.store.transaction():  # the step's gates are not under test here
            ticket = t.find(ref)
            t._survey_sent(ticket, "by-hand", "2026-11-24T09:00:00Z")
        assert t.survey_state(ref) is metrics.SurveyState.PENDING
        clock.advance(hours=2)
        t.record_csat(ref, "4", "Quick and friendly")
        assert t.survey_state(ref) is metrics.SurveyState.ANSWERED
        answers = desk.store.timeline.csat_responses(t.find(ref)["id"])
        assert [(a["score"], a["comment"], a["author"]) for a in answers] == [
            (4, "Quick and friendly", "dana")]
        timeline = t.detail(ref).timeline
        csat = [e for e in timeline if e["kind"] == "csat"]
        assert json.loads(csat[0]["detail"])["score"] == 4
        ops = [(o["entity"], o["kind"]) for o in desk.store.sync.outbox()]
        assert ("csat_response", "append") in ops, "the answer must sync like notes"

    def test_checklist_step_calls_record_survey_sent(self, desk: Desk) -> None:
        ref = _new(desk, caller="Ana Chen", verified="callback", priority="P3")
        t = desk.tickets
        t.update(ref, {"status": "open"})
        _resolve_and_close(desk, ref)
        t.complete_step(ref, "send_survey", {"survey": "sent-by-hand"})
        sent = [e for e in t.detail(ref).timeline if e["kind"] == "survey_sent"]
        assert len(sent) == 1 and json.loads(sent[0]["detail"]) == {"via": "by-hand"}

    def test_record_survey_sent_refused_while_open(self, desk: Desk) -> None:
        ref = _new(desk)
        with pytest.raises(Refused, match="once the ticket is resolved or closed"):
            desk.tickets.record_survey_sent(ref, "email")

    def test_bad_answers_write_nothing(self, desk: Desk, clock: FakeClock) -> None:
        ref = _new(desk)
        t = desk.tickets
        before = len(desk.store.sync.outbox())
        with pytest.raises(Refused, match="only taken for a resolved or closed"):
            t.record_csat(ref, 5)
        t.update(ref, {"status": "open"})
        _resolve_and_close(desk, ref)
        for bad in ("0", "6", "x"):
            with pytest.raises(InvalidInput, match="from 1 to 5"):
                t.record_csat(ref, bad)
        middle = len(desk.store.sync.outbox())
        assert middle > before
        t.record_csat(ref, 2)
        clock.advance(minutes=5)
        with pytest.raises(Refused, match="never replaced"):
            t.record_csat(ref, 5)
        assert len(desk.store.timeline.csat_responses(t.find(ref)["id"])) == 1

    def test_a_reopen_starts_a_new_survey_round(self, desk: Desk, clock: FakeClock) -> None:
        ref = _new(desk)
        t = desk.tickets
        t.update(ref, {"status": "open"})
        _resolve_and_close(desk, ref)
        t.record_survey_sent(ref, "email")
        t.record_csat(ref, 1, "Still broken")
        clock.advance(hours=1)
        t.reopen(ref, reason="Prompt came back after the reboot")
        assert t.survey_state(ref) is metrics.SurveyState.NOT_SENT
        clock.advance(hours=1)
        _resolve_and_close(desk, ref)
        t.record_survey_sent(ref, "email")
        assert t.survey_state(ref) is metrics.SurveyState.PENDING
        clock.advance(hours=1)
        t.record_csat(ref, 5)
        assert t.survey_state(ref) is metrics.SurveyState.ANSWERED


class TestReportFromRealTimelines:
    def test_pauses_escalations_reopens_and_replies(self, desk: Desk, clock: FakeClock) -> None:
        t = desk.tickets
        start = clock.now()
        # #1001 P3: reply after 30 min, waits on the caller 5 h, resolved at 10 h: 5 h counted.
        a = _new(desk, priority="P3")
        clock.advance(minutes=30)
        t.add_note(a, "We are looking at it", internal=False)
        t.update(a, {"status": "pending-caller"})
        clock.advance(hours=5)
        t.update(a, {"status": "in-progress"})
        clock.advance(hours=4, minutes=30)
        t.resolve(a, root_cause="Stale token", resolution=FIX)
        # #1002 P2: escalated, then resolved: no FCR; never answered (1 h target missed).
        clock.current = start
        b = _new(desk, priority="P2", error="GlobalProtect error 1809")
        clock.advance(hours=2)
        t.escalate(b, queue="networking", repro="Connect the VPN", tried="Reinstalled client",
                   impact="Sales cannot reach CRM")
        clock.advance(hours=1)
        t.resolve(b, root_cause="MTU", resolution="Lowered the MTU to 1400 on the gateway "
                  "portal; KB 7003")
        # #1003 P3: one reply, resolved, then reopened and resolved again.
        clock.current = start
        c = _new(desk, priority="P3")
        clock.advance(minutes=10)
        t.add_note(c, "Try this", internal=False)
        t.update(c, {"status": "open"})
        clock.advance(minutes=20)
        t.resolve(c, root_cause="Stale token", resolution=FIX)
        clock.advance(hours=1)
        t.reopen(c, reason="Asked again")
        clock.advance(hours=1)
        t.resolve(c, root_cause="Stale token", resolution=FIX)
        clock.current = start.replace(hour=start.hour + 11)  # after #1001's resolution

        report = _report(desk)
        assert _figure(report, "volume").count == 3
        frt = _figure(report, "frt_mean")
        assert frt.refs == ("#1001", "#1003") and frt.value == (30 * 60 + 10 * 60) / 2
        response = _figure(report, "response_sla")
        assert (response.count, response.total) == (2, 3)  # #1002 is past its 1 h due
        resolution = _figure(report, "resolution_mean")
        assert resolution.refs == ("#1001", "#1002", "#1003")
        assert resolution.value == (5 * 3600 + 3 * 3600 + 30 * 60) / 3
        assert _figure(report, "fcr").count == 0  # waited, escalated, reopened
        assert _figure(report, "escalation_rate").refs == ("#1002",)
        assert _figure(report, "reopen_rate").refs == ("#1003",)
        assert [r.key for r in report.error_codes] == []  # only one 1809: not recurring yet

        by_priority = _report(desk, by=GroupBy.PRIORITY)
        assert set(by_priority.groups) == {"P2", "P3"}
        assert _figure(by_priority, "volume", "P3").count == 2

    def test_caller_messages_count_as_first_response(self, desk: Desk,
                                                      clock: FakeClock) -> None:
        ref = _new(desk)
        ticket = desk.tickets.find(ref)
        clock.advance(minutes=7)
        with desk.store.transaction():  # what issue 8's email worker writes
            desk.tickets.record_event(ticket["id"], "2026-11-24T09:07:00Z", "message_sent",
                                      "Acknowledgement emailed", {"audience": "caller"})
            desk.tickets.record_event(ticket["id"], "2026-11-24T09:05:00Z", "message_sent",
                                      "Heads-up to the team", {"audience": "team"})
        clock.advance(hours=1)
        assert _figure(_report(desk), "frt_mean").value == 7 * 60

    def test_a_ticket_from_before_the_window_counts_for_what_happened_in_it(
            self, desk: Desk, clock: FakeClock) -> None:
        ref = _new(desk)
        desk.tickets.update(ref, {"status": "open"})
        clock.advance(days=10)
        desk.tickets.resolve(ref, root_cause="Stale token", resolution=FIX)
        clock.advance(hours=1)
        report = _report(desk, since="7d")
        assert _figure(report, "volume").count == 0
        assert _figure(report, "resolution_mean").refs == (f"#{ref}",)


class TestDemoData:
    def test_demo_gives_the_dashboard_something_to_show(self, desk: Desk) -> None:
        demo.seed(desk.store, count=300, now=desk.now(), policy=desk.config.sla,
                  new_id=SeqIds(), rng_seed=7)
        report = _report(desk, since="365d")
        for name in ("volume", "frt_median", "resolution_median", "csat", "escalation_rate",
                     "reopen_rate", "surveys_pending"):
            assert _figure(report, name).count > 0, name
        fcr = _figure(report, "fcr")
        assert 0 < fcr.count < fcr.total
        assert report.categories and report.error_codes
