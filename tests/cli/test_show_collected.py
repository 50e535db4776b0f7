"""Issue 13, item 6: what a step collects is visible in ``deskcli show`` (text and JSON)
and on the timeline, not only in the step record."""

from __future__ import annotations

import json


def test_step_notes_show_in_text_json_and_timeline(cli) -> None:
    ref = cli.new("--caller", "Ana Chen", "--verified", "callback", "--priority", "P3")
    cli.ok("step", ref, "check_changes", "--value",
           "findings=KB5034441 installed the night before", "--value", "sources=RMM, WSUS")
    cli.ok("step", ref, "reproduce", "--value", "result=reproduced-in-fresh-profile",
           "--value", "notes=Open Outlook in a new profile: prompt comes back")
    cli.ok("step", ref, "search_kb", "--value", "query=0x800CCC0E outlook prompt",
           "--value", "found=no")
    cli.ok("step", ref, "scope_decision", "--value", "decision=escalate",
           "--value", "reason=Exchange side; Tier 1 has no admin rights")

    out = cli.ok("show", ref).stdout
    for needle in ("What changed: KB5034441 installed the night before",
                   "Sources checked: RMM, WSUS",
                   "Result: reproduced in fresh profile",
                   "Reproduction notes: Open Outlook in a new profile: prompt comes back",
                   "What you searched for: 0x800CCC0E outlook prompt",
                   "Why: Exchange side; Tier 1 has no admin rights"):
        assert needle in out, needle

    data = json.loads(cli.ok("show", ref, "--format", "json").stdout)
    steps = {s["key"]: s for s in data["checklist_progress"]["steps"]}
    assert steps["check_changes"]["values"]["findings"] == "KB5034441 installed the night before"
    assert steps["search_kb"]["values"]["query"] == "0x800CCC0E outlook prompt"
    assert steps["scope_decision"]["values"]["reason"] == \
        "Exchange side; Tier 1 has no admin rights"
    assert steps["escalate"]["values"] is None, "a step not done has no values"
    done = [e for e in data["timeline"] if e["kind"] == "step_completed"]
    collected = {e["detail"]["step"]: dict(e["detail"].get("collected", [])) for e in done}
    assert collected["reproduce"]["Reproduction notes"] == \
        "Open Outlook in a new profile: prompt comes back"
    assert collected["scope_decision"] == {
        "Decision": "escalate", "Why": "Exchange side; Tier 1 has no admin rights"}
