"""``show``, ``set``, ``note``, ``log-time``, ``step``, ``escalate``, ``resolve``, ``close``
and ``reopen``: the happy paths, and every refusal leaves the store untouched."""

from __future__ import annotations

import json

import pytest

GOOD_RESOLUTION = "Cleared Outlook entries in Windows Credential Manager; see KB 4567"


@pytest.fixture
def ref(cli) -> str:
    return cli.new("--caller", "Ana Chen", "--email", "ana@example.com", "--error",
                   "0x800CCC0E: cannot connect", "--priority", "P3")


def show(cli, ref: str) -> dict:
    return json.loads(cli.ok("show", ref, "--format", "json").stdout)


class TestShow:
    def test_text_has_fields_checklist_and_timeline(self, cli, ref) -> None:
        out = cli.ok("show", ref).stdout
        assert out.startswith("#1001  Outlook keeps asking for a password\n")
        assert "Checklist: Tier 1 ticket handling" in out
        assert "▶ Verify the caller's identity" in out
        assert "Timeline:" in out and "Ticket #1001 opened" in out

    @pytest.mark.parametrize("spelling", ["1001", "#1001", " 1001 "])
    def test_refs_by_number(self, cli, ref, spelling) -> None:
        assert show(cli, spelling)["number"] == 1001

    def test_ref_by_id(self, cli, ref) -> None:
        ticket_id = show(cli, ref)["id"]
        assert show(cli, ticket_id)["number"] == 1001

    def test_json_has_progress_and_timeline(self, cli, ref) -> None:
        data = show(cli, ref)
        assert data["checklist_progress"]["current"] == "verify_identity"
        assert data["timeline"][0]["kind"] == "created"
        assert data["minutes_logged"] == 0 and data["attachments"] == []

    def test_unknown_ticket_is_a_failure_not_bad_input(self, cli, ref) -> None:
        cli.refused(["show", "4521"], 1, "no ticket #4521")

    def test_malformed_ref_is_bad_input(self, cli, ref) -> None:
        cli.refused(["show", "ticket-one"], 2, "is not a ticket reference")


class TestSet:
    def test_changes_fields_and_reports_on_stderr(self, cli, ref) -> None:
        result = cli.ok("set", ref, "--status", "in-progress", "--priority", "P2",
                        "--assignee", "eli", "--category", "email")
        assert result.stdout == ""
        assert result.stderr.startswith("#1001 updated: status in-progress, priority P2")
        data = show(cli, ref)
        assert (data["status"], data["priority"], data["assignee"]) == ("in-progress", "P2",
                                                                        "eli")

    @pytest.mark.parametrize(("args", "needle"), [
        (["--status", "closed"], "cannot set the status to closed directly"),
        (["--status", "finished"], "unknown status 'finished'"),
        (["--priority", "urgent"], "unknown priority 'urgent'"),
        (["--type", "outage"], "unknown type 'outage'"),
        (["--summary", ""], "summary is required"),
        ([], "nothing to change"),
    ])
    def test_refusals(self, cli, ref, args, needle) -> None:
        cli.refused(["set", ref, *args], 2, needle)

    def test_unknown_ticket(self, cli, ref) -> None:
        cli.refused(["set", "9999", "--priority", "P1"], 1, "no ticket #9999")


class TestNotesAndTime:
    def test_reply_and_internal_note(self, cli, ref) -> None:
        assert "reply added" in cli.ok("note", ref, "On it, back in 20 minutes").stderr
        cli.ok("note", ref, "--internal", "two stale entries in Credential Manager")
        kinds = [e["kind"] for e in show(cli, ref)["timeline"]]
        assert "public_reply" in kinds and "internal_note" in kinds
        assert show(cli, ref)["first_response_at"] == "2026-11-24T09:00:00Z"

    def test_note_from_stdin(self, cli, ref) -> None:
        cli.ok("note", ref, "--internal", "-", input="line one\nline two\n")
        notes = [e.get("note") for e in show(cli, ref)["timeline"]]
        assert "line one\nline two" in notes

    def test_empty_note_is_refused(self, cli, ref) -> None:
        cli.refused(["note", ref, "  "], 2, "note is required")

    def test_log_time(self, cli, ref) -> None:
        assert "75 min logged" in cli.ok("log-time", ref, "1h15m", "--note", "rebuild").stderr
        assert show(cli, ref)["minutes_logged"] == 75

    @pytest.mark.parametrize(("duration", "needle"), [
        ("banana", "'banana' is not a duration"),
        ("0m", "no time at all"),
        ("25h", "longer than one day"),
    ])
    def test_bad_duration(self, cli, ref, duration, needle) -> None:
        cli.refused(["log-time", ref, duration], 2, needle)


class TestStep:
    def test_complete_a_step_with_values(self, cli, ref) -> None:
        result = cli.ok("step", ref, "verify_identity", "--value", "method=callback",
                        "--value", "detail=called back the number on file")
        assert "step verify_identity done" in result.stderr
        steps = {s["key"]: s["state"] for s in show(cli, ref)["checklist_progress"]["steps"]}
        assert steps["verify_identity"] == "done"
        assert show(cli, ref)["verification"] == "callback"

    def test_repeated_keys_make_a_list(self, cli, ref) -> None:
        cli.ok("step", ref, "check_changes", "--value", "findings=password changed",
               "--value", "sources=event log", "--value", "sources=intune")
        events = show(cli, ref)["timeline"]
        assert any(e["kind"] == "step_completed" for e in events)

    @pytest.mark.parametrize(("args", "code", "needle"), [
        (["nope"], 2, "unknown step 'nope'"),
        (["verify_identity", "--value", "method"], 2, "is not KEY=VALUE"),
        (["verify_identity", "--value", "method=telepathy"], 2, "is not one of"),
        (["verify_identity", "--value", "colour=blue"], 2, "does not collect colour"),
        (["page_oncall"], 2, "does not apply to this ticket"),
    ])
    def test_refusals(self, cli, ref, args, code, needle) -> None:
        cli.refused(["step", ref, *args], code, needle)


class TestLifecycle:
    def test_escalate_needs_the_handoff_notes(self, cli, ref) -> None:
        cli.refused(["escalate", ref, "--queue", "networking"], 2,
                    "escalation refused: Tier 2 needs reproduction steps")

    def test_escalate_uses_the_tickets_error_text(self, cli, ref) -> None:
        result = cli.ok("escalate", ref, "--queue", "messaging", "--repro", "open Outlook",
                        "--tried", "new profile", "--impact", "one user blocked")
        assert "escalated to messaging" in result.stderr
        data = show(cli, ref)
        assert data["status"] == "escalated" and data["queue"] == "messaging"
        notes = [e.get("note") or "" for e in data["timeline"]]
        assert any("Error: 0x800CCC0E: cannot connect" in n for n in notes)

    def test_resolve_refuses_a_vague_note(self, cli, ref) -> None:
        cli.refused(["resolve", ref, "--root-cause", "stale token", "--resolution",
                     "rebooted and it worked"], 2, "resolution note is too vague")

    def test_resolve_close_reopen(self, cli, ref) -> None:
        cli.ok("resolve", ref, "--root-cause", "stale token", "--resolution", GOOD_RESOLUTION)
        cli.refused(["close", ref], 2, "cannot close #1001", "time")
        cli.ok("log-time", ref, "20m")
        cli.refused(["close", ref], 2, "cannot close #1001", "neither done nor skipped",
                    "'Check recent changes' (check_changes)")
        assert "skipped: nothing changed" in cli.ok(
            "step", ref, "check_changes", "--skip", "nothing changed").stderr
        cli.settle(ref)
        assert "closed as incident" in cli.ok("close", ref).stderr
        cli.refused(["reopen", ref], 2, "reopening needs a reason")
        cli.refused(["set", ref, "--status", "in-progress"], 2,
                    "cannot move a closed ticket to in-progress")
        assert "reopened" in cli.ok("reopen", ref, "--reason", "prompt is back").stderr
        assert show(cli, ref)["status"] == "open"

    def test_set_status_cannot_skip_the_verbs(self, cli, ref) -> None:
        """`set --status resolved` would dodge the resolution rule: refused, as in the TUI."""
        for status, verb in (("resolved", "use resolve"), ("closed", "use close"),
                             ("escalated", "use escalate")):
            cli.refused(["set", ref, "--status", status], 2, verb)

    def test_reopen_an_open_ticket_is_refused(self, cli, ref) -> None:
        cli.refused(["reopen", ref, "--reason", "x"], 2, "only those can be reopened")

    def test_close_with_a_bad_category(self, cli, ref) -> None:
        cli.ok("resolve", ref, "--root-cause", "stale token", "--resolution", GOOD_RESOLUTION)
        cli.ok("log-time", ref, "20m")
        cli.settle(ref)
        cli.refused(["close", ref, "--category", "misc"], 2, "unknown category 'misc'")

    @pytest.mark.parametrize("command", [["escalate"], ["resolve"], ["close"],
                                         ["reopen"], ["note", "x"], ["log-time", "5m"],
                                         ["step", "verify_identity"]])
    def test_unknown_ticket_everywhere(self, cli, ref, command) -> None:
        cli.refused([command[0], "777", *command[1:]], 1, "no ticket #777")
