"""Pure rules behind issue 13: recognising account work, the skip and close rules, the
honest survey and page outcomes, the clocks of a stopped ticket and the queue's bands."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from deskcli import checklists
from deskcli.domain import engine
from deskcli.domain.account_work import AccountWords, find_account_work
from deskcli.domain.errors import InvalidInput, Refused
from deskcli.domain.facts import TicketFacts
from deskcli.domain.outcomes import DeskChannels, page_summary, survey_outcome
from deskcli.domain.sla import ClockState, queue_rank, read_clocks

TIER1 = checklists.builtin()["tier1"]
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("text", "found"), [
    ("Reset MFA registration for the user in Entra ID", "MFA"),
    ("Reset the password via SSPR", "password"),
    ("Unlocked the account in AD", "Unlocked the account"),
    ("Granted access to the HR share", "Granted access"),
    ("Added to group Finance-RW", "Added to group"),
    ("Re-enrolled the Authenticator app", "Authenticator"),
    ("Replaced the pickup roller on HP-4", None),
    ("Changed the SMTP port in the Outlook account settings", None),
    ("Access point on floor 3 rebooted", None),
    ("passwordless? no: the word must stand alone", None),
])
def test_account_words(text: str, found: str | None) -> None:
    assert AccountWords().named_in(text) == found


def test_category_then_texts_in_order() -> None:
    work = find_account_work("Accounts", [("resolution", "Replaced the roller")])
    assert work is not None and work.why == "the category names 'Accounts'"
    work = find_account_work("printing", [("root cause", "none"),
                                          ("resolution", "Reset the password")])
    assert work is not None and work.source == "resolution"
    assert find_account_work(None, [("resolution", None)]) is None


def test_team_words_are_added_not_replacing() -> None:
    words = AccountWords.from_mapping({"words": ["YubiKey", "badge access"]})
    assert words.named_in("issued a new yubikey") == "yubikey"
    assert words.named_in("Fixed badge-access for the lobby") == "badge-access"
    assert words.named_in("Reset the password") == "password"
    with pytest.raises(InvalidInput, match="longer than 80"):
        AccountWords.from_mapping({"words": ["x" * 81]})


def test_regex_characters_in_team_words_are_plain_text() -> None:
    words = AccountWords.from_mapping({"words": ["a.b(c"]})
    assert words.named_in("see a.b(c here") == "a.b(c"
    assert words.named_in("see aXb(c here") is None


def test_skip_rules() -> None:
    facts = TicketFacts()
    step, reason = engine.check_can_skip(TIER1, "test_with_user", facts,
                                         "  caller\n unreachable ")
    assert step.key == "test_with_user" and reason == "caller unreachable"
    with pytest.raises(InvalidInput, match="needs a reason"):
        engine.check_can_skip(TIER1, "test_with_user", facts, "")
    with pytest.raises(Refused, match="decides whether"):
        engine.check_can_skip(TIER1, "scope_decision", facts, "x")
    skipped = TicketFacts(skipped={"test_with_user": "caller unreachable"})
    item = engine.evaluate(TIER1, skipped).of("test_with_user")
    assert item.by_hand and item.state is engine.StepState.SKIPPED
    engine.check_can_complete(TIER1, "test_with_user", TicketFacts(
        skipped={"test_with_user": "x"}, steps={"scope_decision": {"decision": "tier1"},
                                               "apply_fix": {"runbook": "KB 1"}}))


def test_nothing_after_closing_is_required_before_it() -> None:
    progress = engine.evaluate(TIER1, TicketFacts())
    keys = {i.step.key for i in engine.unfinished_before_close(progress)}
    assert "send_survey" not in keys and "log_time_close" not in keys
    assert "apply_fix" not in keys, "undecided: the scope decision is listed instead"
    assert {"verify_identity", "scope_decision", "update_kb"} <= keys


def test_survey_outcomes() -> None:
    none = DeskChannels()
    with pytest.raises(Refused, match="no email channel is configured"):
        survey_outcome("sent-automatically", none, "a@example.org")
    with pytest.raises(Refused, match="has no email address"):
        survey_outcome("sent-automatically", DeskChannels(email="smtp"), None)
    assert survey_outcome("not-sent", none, None).summary == (
        "Satisfaction survey not sent: no email channel is configured ([notify] email in "
        "config.toml)")
    assert survey_outcome("sent-by-hand", none, None).kind == "survey_sent"
    assert survey_outcome("sent-automatically", DeskChannels(email="smtp"),
                          "a@example.org").kind == "survey_queued"


def test_page_summaries() -> None:
    assert page_summary("phone", DeskChannels()) == (
        "On-call paged by phone: no pager is configured in deskcli")
    assert page_summary("pagerduty", DeskChannels()).endswith("by hand: no pager is "
                                                              "configured in deskcli")
    assert "deskcli pages through pd" in page_summary("pagerduty",
                                                       DeskChannels(pagers=("pd",)))


def test_stopped_clocks_never_have_time_left() -> None:
    response, resolve = read_clocks(
        now=T0 + timedelta(days=3), is_open=False, paused=False,
        response_due=T0 + timedelta(hours=4), response_risk_at=T0 + timedelta(hours=3),
        first_response_at=None, resolve_due=T0 + timedelta(hours=24),
        resolve_risk_at=T0 + timedelta(hours=18), resolved_at=T0 + timedelta(minutes=10))
    assert (response.state, resolve.state) == (ClockState.MET, ClockState.MET)
    assert response.stopped_at == T0 + timedelta(minutes=10)
    response, _ = read_clocks(
        now=T0, is_open=True, paused=True, response_due=T0 + timedelta(hours=4),
        response_risk_at=T0 + timedelta(hours=3), first_response_at=None,
        resolve_due=T0 + timedelta(hours=24), resolve_risk_at=T0 + timedelta(hours=18),
        resolved_at=None)
    assert response.words(T0) == "4h00m left"


def test_queue_bands() -> None:
    assert queue_rank(priority="P1", is_open=True, responded=False, urgency_due="x") == 0
    assert queue_rank(priority="P1", is_open=True, responded=True, urgency_due="x") == 1
    assert queue_rank(priority="P4", is_open=True, responded=False, urgency_due="x") == 1
    assert queue_rank(priority="P1", is_open=False, responded=False, urgency_due=None) == 2
