"""Each metric on small hand-built timelines, the expected figure worked out here."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from deskcli.domain import metrics
from deskcli.domain.enums import Priority, Status
from deskcli.domain.errors import InvalidInput, Refused
from deskcli.domain.metrics import Answer, GroupBy, Timeline, Window
from deskcli.domain.sla import SlaPolicy, compute_clock

NOW = datetime(2026, 11, 24, 9, 0, 0, tzinfo=UTC)
T = int(NOW.timestamp())
H = 3600
M = 60
POLICY = SlaPolicy()
#: The 30 days before NOW.
WINDOW = Window(NOW - timedelta(days=30), NOW)


def ticket(ref: str, created: int, events: str = "", *, priority: str = "P3",
           minutes: int = 0, category: str | None = "email", error: str | None = None,
           tech: str | None = "dana", tier: str | None = None) -> Timeline:
    return Timeline(f"id-{ref}", ref, priority, "incident", "Northwind", tier, tech,
                    category, error, created, events, minutes)


def figure(report: metrics.Report, name: str, group: str | None = None) -> metrics.Figure:
    tally = report.total if group is None else report.groups[group]
    return next(f for f in metrics.figures(tally) if f.metric == name)


def run(*tickets: Timeline, answers: tuple[Answer, ...] = (), by: GroupBy = GroupBy.NONE,
        window: Window = WINDOW) -> metrics.Report:
    return metrics.compute(tickets, answers, window, POLICY, by)


# --- fold -----------------------------------------------------------------------------


def test_fold_subtracts_only_the_pauses_before_the_first_resolution() -> None:
    start = T - 10 * H
    events = (f"f{start + 10 * M} p{start + 1 * H} u{start + 3 * H} "
              f"r{start + 5 * H} o{start + 6 * H} p{start + 7 * H} u{start + 8 * H} "
              f"r{start + 9 * H}")
    outcome = metrics.fold(events)
    assert outcome.first_response == start + 10 * M
    assert outcome.first_resolution == start + 5 * H
    assert outcome.paused_before_resolution == 2 * H  # the later pause is after it
    assert outcome.reopened and outcome.waited_on_caller
    assert not outcome.first_contact_resolution


def test_resolving_straight_out_of_a_pause_ends_the_pause_there() -> None:
    start = T - 10 * H
    outcome = metrics.fold(f"p{start + H} r{start + 4 * H}")
    assert outcome.paused_before_resolution == 3 * H


def test_an_empty_timeline_is_nothing_yet() -> None:
    assert metrics.fold(None) == metrics.fold("")
    assert metrics.fold(None).first_resolution is None


# --- FRT and response SLA ------------------------------------------------------------------


def test_frt_counts_public_replies_and_caller_messages_alike() -> None:
    a = ticket("#1", T - 5 * H, f"f{T - 5 * H + 20 * M}")  # 20 min
    b = ticket("#2", T - 5 * H, f"f{T - 5 * H + 2 * H}")  # 2 h
    c = ticket("#3", T - 5 * H, f"f{T - 5 * H + 6 * H - H}")  # 5 h: past the 4 h target
    report = run(a, b, c)
    assert figure(report, "frt_median").value == 2 * H
    assert figure(report, "frt_mean").value == (20 * M + 2 * H + 5 * H) / 3
    sla = figure(report, "response_sla")
    assert (sla.count, sla.total) == (2, 3)
    assert sla.refs == ("#1", "#2")


def test_an_unanswered_ticket_breaches_only_once_its_due_time_passed() -> None:
    late = ticket("#1", T - 5 * H)  # P3 target 4 h: due an hour ago, no reply
    running = ticket("#2", T - 1 * H)  # due in 3 h: not counted yet
    sla = figure(run(late, running), "response_sla")
    assert (sla.count, sla.total) == (0, 1)
    frt = figure(run(late, running), "frt_median")
    assert frt.value is None and frt.count == 0 and frt.total == 2


def test_response_sla_agrees_with_the_sla_clock() -> None:
    created = NOW - timedelta(days=2)
    clock = compute_clock(created, Priority.P1, POLICY)
    on_time = int(clock.response_due.timestamp())
    start = int(created.timestamp())
    met = ticket("#1", start, f"f{on_time}", priority="P1")
    missed = ticket("#2", start, f"f{on_time + 1}", priority="P1")
    assert figure(run(met, missed), "response_sla").refs == ("#1",)


# --- resolution time, resolution SLA, FCR, reopen, time logged -----------------------------


def test_resolution_time_excludes_paused_time_and_meets_the_sla_because_of_it() -> None:
    start = T - 2 * 86400
    # P3: 24 h to resolve. 30 h elapsed, 8 h of it waiting on the caller: 22 h counted.
    events = f"f{start + 5 * M} p{start + 2 * H} u{start + 10 * H} r{start + 30 * H}"
    report = run(ticket("#1", start, events, minutes=45))
    assert figure(report, "resolution_median").value == 22 * H
    assert figure(report, "resolution_sla").count == 1
    assert figure(report, "fcr").count == 0  # it waited on the caller
    time_logged = figure(report, "time_logged")
    assert (time_logged.value, time_logged.count, time_logged.total) == (45, 45, 1)


def test_pauses_count_only_under_a_policy_that_pauses() -> None:
    never = SlaPolicy(pause_on_pending_caller=False)
    assert metrics.paused_statuses(POLICY) == [Status.PENDING_CALLER.value]
    assert metrics.paused_statuses(never) == []


def test_fcr_needs_one_contact_no_wait_no_escalation_no_reopen() -> None:
    s = T - 3 * 86400
    one_call = ticket("#1", s, f"f{s + M} r{s + 30 * M}")
    two_calls = ticket("#2", s, f"f{s + M} f{s + H} r{s + 2 * H}")
    escalated = ticket("#3", s, f"f{s + M} e{s + 10 * M} r{s + H}")
    reopened = ticket("#4", s, f"f{s + M} r{s + H} o{s + 2 * H} r{s + 3 * H}")
    silent = ticket("#5", s, f"r{s + H}")  # fixed without a word to the caller: still one
    report = run(one_call, two_calls, escalated, reopened, silent)
    fcr = figure(report, "fcr")
    assert (fcr.count, fcr.total) == (2, 5)
    assert fcr.refs == ("#1", "#5")
    reopen = figure(report, "reopen_rate")
    assert (reopen.value, reopen.refs) == (20.0, ("#4",))
    escalation = figure(report, "escalation_rate")
    assert (escalation.count, escalation.total, escalation.refs) == (1, 5, ("#3",))


def test_resolution_time_uses_the_first_resolution_even_after_a_reopen() -> None:
    s = T - 3 * 86400
    report = run(ticket("#1", s, f"r{s + 2 * H} o{s + 3 * H} r{s + 50 * H}"))
    assert figure(report, "resolution_mean").value == 2 * H


# --- window edges ----------------------------------------------------------------------------


def test_tickets_spanning_the_window_edge() -> None:
    window = Window(NOW - timedelta(days=7), NOW)
    edge = window.start
    before = ticket("#1", edge - 2 * H, f"f{edge - H} r{edge + H}")  # created before
    at_edge = ticket("#2", edge, f"f{edge + H}")  # created exactly at the start: inside
    after_end = ticket("#3", window.end, "")  # created at the end: outside (exclusive)
    resolved_late = ticket("#4", edge + H, f"f{edge + 2 * H}")  # resolution after end is cut
    report = run(before, at_edge, after_end, resolved_late, window=window)
    volume = figure(report, "volume")
    assert volume.refs == ("#2", "#4")
    # #1: not created in the window, so no FRT/volume; resolved in it, so resolution counts.
    assert figure(report, "resolution_mean").refs == ("#1",)
    assert figure(report, "resolution_mean").value == 3 * H
    assert figure(report, "frt_mean").refs == ("#2", "#4")


def test_parse_window_relative_dates_and_errors() -> None:
    window = metrics.parse_window("30d", None, NOW)
    assert (window.since, window.until) == (NOW - timedelta(days=30), NOW)
    assert metrics.parse_window("2w", None, NOW).since == NOW - timedelta(days=14)
    january = metrics.parse_window("2026-01-01", "2026-02-01", NOW)
    assert january.until - january.since == timedelta(days=31)
    assert metrics.parse_window("6mo", None, NOW).since == NOW - timedelta(days=180)
    for since, until, words in [("x", None, "not a length of time back"),
                                ("0d", None, "less than 1d"),
                                ("6m", None, "for months write 6mo"),
                                ("2026-02-01", "2026-01-01", "must come after"),
                                ("30d", "30d", "is not a date"),
                                ("2026-13-01", None, "not a length of time back")]:
        with pytest.raises(InvalidInput, match=words):
            metrics.parse_window(since, until, NOW)


# --- grouping --------------------------------------------------------------------------------


def test_grouping_by_priority_and_by_week_of_the_measured_event() -> None:
    monday = int(datetime(2026, 11, 16, 10, tzinfo=UTC).timestamp())  # 2026-W47
    a = ticket("#1", monday, f"f{monday + M} r{monday + 7 * 86400}", priority="P1")
    b = ticket("#2", monday + H, f"f{monday + 2 * H}", priority="P2", tech=None)
    by_priority = run(a, b, by=GroupBy.PRIORITY)
    assert set(by_priority.groups) == {"P1", "P2"}
    assert figure(by_priority, "volume", "P1").refs == ("#1",)
    weekly = run(a, b, by=GroupBy.WEEK)
    assert figure(weekly, "volume", "2026-W47").count == 2
    # resolved the next Monday: its resolution lands in the week it happened
    assert figure(weekly, "resolution_mean", "2026-W48").refs == ("#1",)
    assert figure(weekly, "resolution_mean", "2026-W47").count == 0
    by_tech = run(a, b, by=GroupBy.TECH)
    assert set(by_tech.groups) == {"dana", metrics.NOBODY}


def test_unknown_grouping_is_refused_with_the_choices() -> None:
    with pytest.raises(InvalidInput, match="priority, type, client, tech, category, week"):
        GroupBy.parse("colour")


# --- CSAT and surveys -----------------------------------------------------------------------


def test_csat_share_and_mean_with_unanswered_surveys() -> None:
    s = T - 5 * 86400
    sent = s + 2 * H
    tickets = [ticket(f"#{n}", s, f"r{s + H} s{sent}") for n in range(1, 5)]
    answers = (Answer("id-#1", sent + H, 5), Answer("id-#2", sent + H, 4),
               Answer("id-#3", sent + H, 2))
    report = run(*tickets, answers=answers)
    csat = figure(report, "csat")
    assert (csat.count, csat.total) == (2, 3)
    assert csat.value == pytest.approx(200 / 3)
    assert figure(report, "csat_mean").value == pytest.approx(11 / 3)
    pending = figure(report, "surveys_pending")
    assert (pending.count, pending.total, pending.refs) == (1, 4, ("#4",))


def test_a_reopen_withdraws_the_pending_survey() -> None:
    s = T - 5 * 86400
    events = f"r{s + H} s{s + 2 * H} o{s + 3 * H}"
    assert metrics.survey_state(events, []) is metrics.SurveyState.NOT_SENT
    assert metrics.fold(events).survey_sent is None
    resent = events + f" r{s + 4 * H} s{s + 5 * H}"
    assert metrics.survey_state(resent, []) is metrics.SurveyState.PENDING
    # an answer from before the reopen belongs to the old round
    assert metrics.survey_state(resent, [s + 2 * H + 1]) is metrics.SurveyState.PENDING
    assert metrics.survey_state(resent, [s + 6 * H]) is metrics.SurveyState.ANSWERED
    report = run(ticket("#1", s, events))
    assert figure(report, "surveys_pending").count == 0


def test_only_the_latest_answer_per_ticket_counts() -> None:
    s = T - 5 * 86400
    answers = (Answer("id-#1", s + 3 * H, 1), Answer("id-#1", s + 4 * H, 5))
    report = run(ticket("#1", s, f"r{s + H} s{s + 2 * H}"), answers=answers)
    assert figure(report, "csat_mean").value == 5


def test_score_must_be_a_whole_number_from_one_to_five() -> None:
    assert metrics.check_score("4") == 4
    for bad in ("0", "6", "x", "4.5", "", "-1"):
        with pytest.raises(InvalidInput, match="from 1 to 5"):
            metrics.check_score(bad)


def test_answers_only_for_resolved_tickets_once_per_round() -> None:
    metrics.check_answer("#1", Status.CLOSED, None, str)
    with pytest.raises(Refused, match="only taken for a resolved or closed"):
        metrics.check_answer("#1", Status.OPEN, None, str)
    with pytest.raises(Refused, match="never replaced"):
        metrics.check_answer("#1", Status.RESOLVED, 123, str)


# --- recurring issues ------------------------------------------------------------------------


def test_error_codes_normalise_case_and_spelling() -> None:
    assert metrics.error_codes("0x800ccc0e: cannot connect") == ("0x800CCC0E",)
    assert metrics.error_codes("Error 0x800CCC0E") == ("0x800CCC0E",)
    assert metrics.error_codes("event id: 4740 and Event ID 4740") == ("Event ID 4740",)
    assert metrics.error_codes("gateway unreachable (error 1809)") == ("Error 1809",)
    assert metrics.error_codes("no code here") == ()
    assert metrics.error_codes(None) == ()


def test_the_third_repeat_makes_a_recurring_issue() -> None:
    s = T - 86400
    tickets = [ticket("#1", s, error="0x800ccc0e"), ticket("#2", s + 1, error="0x800CCC0E"),
               ticket("#3", s + 2, error="Error 0x800Ccc0E", category="printing"),
               ticket("#4", s + 3, error="Event ID 41", category="printing")]
    report = run(*tickets)
    assert [(r.key, r.refs) for r in report.error_codes] == [
        ("0x800CCC0E", ("#1", "#2", "#3"))]
    assert [(r.key, r.count) for r in report.categories] == []  # email 2, printing 2
    report = run(*tickets, ticket("#5", s + 4, category="printing"))
    assert [(r.key, r.count) for r in report.categories] == [("printing", 3)]


def test_a_printed_report_counts_every_ticket_but_keeps_few() -> None:
    """Without refs (what the CLI prints) the figures and the recurring counts are the
    same; a recurring issue keeps only its newest tickets, and durations are kept as
    machine integers, so a million tickets fit in little memory."""
    s = T - 86400
    tickets = [ticket(f"#{n}", s + n, f"f{s + n + 600} r{s + n + 7200}", error="Event ID 41",
                      category="printing") for n in range(1, 60)]
    whole = run(*tickets)
    lean = metrics.compute(tickets, (), WINDOW, POLICY, refs=False, recurring_refs=5)
    assert [(f.metric, f.value, f.count, f.total) for f in metrics.figures(lean.total)] == [
        (f.metric, f.value, f.count, f.total) for f in metrics.figures(whole.total)]
    for kept, full in ((lean.categories, whole.categories),
                       (lean.error_codes, whole.error_codes)):
        assert [(r.key, r.count) for r in kept] == [(r.key, r.count) for r in full] != []
        assert [r.refs for r in kept] == [r.refs[-5:] for r in full]
    assert lean.categories[0].count == 59 and lean.categories[0].refs[-1] == "#59"
    assert not isinstance(lean.total.resolved, list)


def test_format_value_is_readable() -> None:
    assert metrics.format_value(metrics.Figure("x", 3900.0, "seconds", 1, 1, ())) == "1h05m"
    assert metrics.format_value(metrics.Figure("x", 92.456, "percent", 1, 1, ())) == "92.5%"
    assert metrics.format_value(metrics.Figure("x", None, "percent", 0, 0, ())) == "—"
