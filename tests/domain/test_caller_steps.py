"""Issue 13 (console parts) in the domain: steps about a caller do not apply to a ticket
raised by monitoring, what a step collects is named for display, and a field can start
from an earlier step's record (``prefill``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from deskcli import checklists
from deskcli.domain import engine
from deskcli.domain.enums import Channel
from deskcli.domain.errors import ChecklistFileError
from deskcli.domain.facts import TicketFacts

TIER1 = checklists.builtin()["tier1"]


def test_caller_steps_do_not_apply_to_a_monitoring_ticket_escalated_or_not() -> None:
    for decided in ({}, {"scope_decision": {"decision": "tier1"}},
                    {"scope_decision": {"decision": "escalate"}}):
        progress = engine.evaluate(TIER1, TicketFacts(channel=Channel.MONITORING,
                                                      steps=decided))
        for key in ("verify_identity", "test_with_user", "send_survey"):
            item = progress.of(key)
            assert item.state is engine.StepState.SKIPPED, (key, decided)
            assert "monitoring" in item.reason and "no caller" in item.reason
    # A phone ticket still tests with the user once Tier 1 fixes it.
    phone = engine.evaluate(TIER1, TicketFacts(steps={"scope_decision": {"decision": "tier1"}}))
    assert phone.of("test_with_user").state is not engine.StepState.SKIPPED
    assert phone.of("send_survey").state is not engine.StepState.SKIPPED


def test_collected_names_what_a_step_recorded_and_leaves_out_ticket_fields() -> None:
    reproduce = TIER1.step("reproduce")
    assert reproduce is not None
    assert engine.collected(reproduce, {
        "result": "reproduced-in-user-session", "notes": "Open Outlook: prompt"}) == (
        ("Result", "reproduced in user session"), ("Reproduction notes", "Open Outlook: prompt"))
    resolve = TIER1.step("document_resolution")
    assert resolve is not None
    assert engine.collected(resolve, {"root_cause": "x", "resolution": "y"}) == ()
    capture = TIER1.step("capture_issue")
    assert capture is not None
    assert engine.collected(capture, {"verbatim": "mapped to the ticket"}) == ()


def test_the_escalation_starts_from_the_reproduce_notes() -> None:
    escalate = TIER1.step("escalate")
    assert escalate is not None
    assert engine.prefilled(escalate, {"reproduce": {"notes": "Connect the VPN, wait"}}) == {
        "repro": "Connect the VPN, wait"}
    assert engine.prefilled(escalate, {}) == {}


BAD_PREFILL = """
[checklist]
key = "printers"
title = "Printer triage"

[[phase]]
key = "triage"
title = "Triage"

[[phase.step]]
key = "check_queue"
title = "Check the print queue"
guidance = "Look for a stuck job."

[[phase.step.field]]
key = "jobs"
label = "Jobs stuck"
kind = "text"
prefill = "{prefill}"
"""


@pytest.mark.parametrize(("prefill", "needle"), [
    ("nowhere", 'must be written as "step_key.field_key"'),
    ("later_step.notes", "not a field of an earlier step"),
])
def test_a_bad_prefill_is_refused_with_the_reason(tmp_path: Path, prefill: str,
                                                  needle: str) -> None:
    (tmp_path / "checklists").mkdir()
    (tmp_path / "checklists" / "printers.toml").write_text(BAD_PREFILL.format(prefill=prefill))
    with pytest.raises(ChecklistFileError, match=needle):
        checklists.load_all(tmp_path)
