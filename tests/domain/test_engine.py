"""The checklist engine: step states, gates, conditions and value validation."""

from __future__ import annotations

import pytest

from deskcli import checklists
from deskcli.domain import engine
from deskcli.domain.account_work import AccountWork, identity_refusal
from deskcli.domain.engine import StepState, evaluate
from deskcli.domain.enums import Channel, Priority, Status, Verification
from deskcli.domain.errors import InvalidInput, Refused
from deskcli.domain.facts import TicketFacts

TIER1 = checklists.builtin()["tier1"]


def _states(facts: TicketFacts) -> dict[str, StepState]:
    return {item.step.key: item.state for item in evaluate(TIER1, facts).items}


def test_a_new_ticket_starts_at_identity_verification() -> None:
    progress = evaluate(TIER1, TicketFacts())
    assert progress.current is not None
    assert progress.current.step.key == "verify_identity"
    assert progress.done == 0


def test_fix_and_escalation_wait_on_the_scope_decision() -> None:
    item = evaluate(TIER1, TicketFacts()).of("apply_fix")
    assert item.state is StepState.BLOCKED
    assert "Tier 1 fix or escalate" in item.reason


def test_paging_is_only_for_p1() -> None:
    assert _states(TicketFacts(priority=Priority.P2))["page_oncall"] is StepState.SKIPPED
    assert _states(TicketFacts(priority=Priority.P1))["page_oncall"] is not StepState.SKIPPED


def test_scope_decision_picks_one_branch() -> None:
    tier1 = _states(TicketFacts(verification=Verification.CALLBACK,
                                steps={"scope_decision": {"decision": "tier1"}}))
    assert tier1["escalate"] is StepState.SKIPPED
    assert tier1["apply_fix"] in (StepState.CURRENT, StepState.TODO)
    escalated = _states(TicketFacts(steps={"scope_decision": {"decision": "escalate"}}))
    assert escalated["apply_fix"] is StepState.SKIPPED
    assert escalated["test_with_user"] is StepState.SKIPPED
    assert escalated["escalate"] in (StepState.CURRENT, StepState.TODO)


def test_identity_gate_blocks_account_work_for_an_unverified_caller() -> None:
    work = AccountWork("category", "accounts")
    facts = TicketFacts(verification=Verification.NONE, account_work=work,
                        steps={"verify_identity": {"method": "none"},
                               "scope_decision": {"decision": "tier1"}})
    item = evaluate(TIER1, facts).of("apply_fix")
    assert item.state is StepState.BLOCKED
    assert item.reason == identity_refusal(work)
    with pytest.raises(Refused, match="identity is not verified"):
        engine.check_can_complete(TIER1, "apply_fix", facts)


def test_work_that_touches_no_account_needs_no_verified_caller() -> None:
    """A printer roller swap for an unverified caller: the fix is not blocked."""
    facts = TicketFacts(verification=Verification.NONE,
                        steps={"verify_identity": {"method": "none"},
                               "scope_decision": {"decision": "tier1"}})
    assert evaluate(TIER1, facts).of("apply_fix").state is not StepState.BLOCKED
    engine.check_can_complete(TIER1, "apply_fix", facts)


def test_monitoring_tickets_skip_verification_and_pass_the_gate() -> None:
    facts = TicketFacts(channel=Channel.MONITORING, steps={"scope_decision": {"decision": "tier1"}})
    states = _states(facts)
    assert states["verify_identity"] is StepState.SKIPPED
    assert states["apply_fix"] is not StepState.BLOCKED


def test_closing_needs_resolution_and_time() -> None:
    item = evaluate(TIER1, TicketFacts(status=Status.RESOLVED)).of("log_time_close")
    assert item.state is StepState.BLOCKED and "no time is logged" in item.reason
    ready = TicketFacts(status=Status.RESOLVED, minutes_logged=15)
    assert evaluate(TIER1, ready).of("log_time_close").state is not StepState.BLOCKED


def test_skipped_step_cannot_be_completed() -> None:
    with pytest.raises(Refused, match="does not apply.*Only P1"):
        engine.check_can_complete(TIER1, "page_oncall", TicketFacts(priority=Priority.P3))


def test_unknown_step_lists_the_steps() -> None:
    with pytest.raises(InvalidInput, match="unknown step 'reboot'.*verify_identity"):
        engine.check_can_complete(TIER1, "reboot", TicketFacts())


def test_values_are_normalised_by_kind() -> None:
    step = TIER1.step("record_errors")
    assert step is not None
    values = engine.validate_values(step, {"error_text": " 0x800CCC0E ",
                                           "event_ids": "4625, 1000,,"})
    assert values == {"error_text": "0x800CCC0E", "event_ids": ["4625", "1000"]}


@pytest.mark.parametrize(("step_key", "raw", "message"), [
    ("capture_issue", {"verbatim": "", "doing": "x", "reproducible": "yes",
                       "users_affected": "1"}, "In the caller's words is required"),
    ("capture_issue", {"verbatim": "x", "doing": "x", "reproducible": "sometimes",
                       "users_affected": "1"}, "not one of yes, no, unknown"),
    ("capture_issue", {"verbatim": "x", "doing": "x", "reproducible": "yes",
                       "users_affected": "a few"}, "whole number"),
    ("open_ticket", {"category": "email", "channel": "phone", "caller_email": "bad"},
     "not an email address"),
    ("scope_decision", {"decision": "tier1", "reason": "x", "mood": "good"},
     "does not collect mood"),
    ("test_with_user", {"workflow": "opened Outlook", "outcome": "still-failing"},
     "done only when it is works"),
    ("document_resolution", {"root_cause": "x", "resolution": "rebooted and it worked"},
     "too vague"),
])
def test_bad_values_are_refused_with_the_field_named(step_key: str, raw: dict,
                                                     message: str) -> None:
    step = TIER1.step(step_key)
    assert step is not None
    with pytest.raises((InvalidInput, Refused), match=message):
        engine.validate_values(step, raw)


def test_field_problem_drives_inline_feedback() -> None:
    step = TIER1.step("document_resolution")
    assert step is not None
    field = step.field("resolution")
    assert field is not None
    assert "too vague" in (engine.field_problem(field, "fixed it") or "")
    assert engine.field_problem(field, "Rebuilt the Outlook profile per KB 4567 and tested") is None


def test_complete_when_every_applicable_required_step_is_done() -> None:
    done = {s.key: {} for s in TIER1.steps if s.key not in ("escalate", "page_oncall")}
    done["scope_decision"] = {"decision": "tier1"}
    facts = TicketFacts(priority=Priority.P3, steps=done, verification=Verification.CALLBACK)
    assert evaluate(TIER1, facts).complete
