"""Ticket work through the service API on a real SQLite file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from deskcli.domain.engine import StepState
from deskcli.domain.errors import DeskError, InvalidInput, NotFound, Refused
from deskcli.domain.intake import NewTicket
from deskcli.domain.numbering import Authority, Lease
from deskcli.services.desk import Desk
from helpers import FakeClock, settle_steps

GOOD_RESOLUTION = "Rebuilt the Outlook profile and cleared Credential Manager; KB 4567"


def _new(desk: Desk, **record: Any) -> str:
    record.setdefault("summary", "Outlook asks for a password again and again")
    return str(desk.tickets.create(NewTicket.from_mapping(record))["number"])


def _counts(desk: Desk) -> tuple[int, ...]:
    db = desk.store.db
    tables = ("tickets", "events", "notes", "time_entries", "step_records", "attachments",
              "outbox", "clients", "callers")
    return tuple(db.execute(f"SELECT count(*) AS n FROM {t}").fetchone()["n"] for t in tables)


def assert_nothing_written(desk: Desk, action: Callable[[], object],
                           error: type[DeskError], match: str) -> None:
    before = _counts(desk)
    with pytest.raises(error, match=match):
        action()
    assert _counts(desk) == before, "a refused change must write nothing"


class TestCreate:
    def test_numbers_are_sequential_from_1001(self, desk: Desk) -> None:
        assert [_new(desk) for _ in range(3)] == ["1001", "1002", "1003"]

    def test_callers_and_clients_are_reused(self, desk: Desk) -> None:
        _new(desk, caller="Ana Chen", email="ana@acme.example", client="Acme")
        _new(desk, caller="Ana Chen", email="ANA@acme.example", client="acme")
        assert len(desk.store.contacts.clients()) == 1
        assert len(desk.store.contacts.search_callers("Ana")) == 1

    def test_sla_follows_the_client_tier(self, desk: Desk) -> None:
        desk.tickets.set_client_tier("Meridian Clinic", "premium")
        premium = desk.tickets.find(_new(desk, client="Meridian Clinic", priority="P1"))
        standard = desk.tickets.find(_new(desk, client="Other", priority="P1"))
        assert premium["resolve_due"] < standard["resolve_due"]

    def test_verified_flag_completes_the_identity_step(self, desk: Desk) -> None:
        ref = _new(desk, caller="Ana Chen", verified="callback", priority="P2")
        progress = desk.tickets.detail(ref).progress
        assert progress.of("verify_identity").state is StepState.DONE
        assert progress.of("set_priority").state is StepState.DONE

    def test_unknown_checklist(self, desk: Desk) -> None:
        assert_nothing_written(desk, lambda: _new(desk, checklist="nope"), InvalidInput,
                               "unknown checklist 'nope'; installed: tier1")

    def test_provisional_label_when_the_server_lease_runs_dry(self, desk: Desk) -> None:
        """Joined to a server, offline, block used up: a provisional label, never a clash."""
        with desk.store.transaction():
            desk.store.sync.save_lease(Lease(5000, 5001, 5000, Authority.SERVER),
                                       "2026-01-01T00:00:00Z")
        assert _new(desk) == "5000"
        row = desk.tickets.create(NewTicket(summary="Offline and out of numbers"))
        assert row["number"] is None
        assert row["provisional"].startswith("L-")
        assert desk.tickets.find(row["provisional"])["id"] == row["id"]

    def test_unknown_ticket(self, desk: Desk) -> None:
        with pytest.raises(NotFound, match="no ticket #999"):
            desk.tickets.find("999")


class TestFullTier1Flow:
    def test_first_contact_resolution(self, desk: Desk, clock: FakeClock) -> None:
        ref = _new(desk, caller="Ana Chen", verified="callback", priority="P2", client="Acme")
        t = desk.tickets
        t.complete_step(ref, "capture_issue", {
            "verbatim": "It keeps asking for my password", "doing": "Opening Outlook",
            "reproducible": "yes", "users_affected": "1"})
        t.complete_step(ref, "open_ticket", {"category": "email", "channel": "phone",
                                             "caller_email": "ana@acme.example"})
        assert t.find(ref)["status"] == "open"
        t.add_note(ref, "Hi Ana, we are on it.", internal=False)
        clock.advance(minutes=10)
        for step, values in [
            ("record_errors", {"error_text": "Need password", "event_ids": "1000"}),
            ("check_changes", {"findings": "Password changed yesterday"}),
            ("reproduce", {"result": "reproduced-in-user-session"}),
            ("search_kb", {"query": "outlook password prompt", "found": "yes",
                           "references": "KB 4567"}),
            ("scope_decision", {"decision": "tier1", "reason": "Profile issue"}),
            ("apply_fix", {"runbook": "KB 4567"}),
            ("test_with_user", {"workflow": "Ana opened Outlook", "outcome": "works"}),
            ("document_resolution", {"root_cause": "Stale token", "resolution": GOOD_RESOLUTION}),
            ("update_kb", {"outcome": "already-correct", "article": "KB 4567"}),
        ]:
            t.complete_step(ref, step, values)
        t.log_time(ref, "20m")
        t.complete_step(ref, "log_time_close", {})
        t.complete_step(ref, "send_survey", {"survey": "sent-by-hand"})
        detail = t.detail(ref)
        assert detail.ticket["status"] == "closed"
        assert detail.ticket["resolution_category"] == "incident"
        assert detail.ticket["caller_email"] == "ana@acme.example"
        assert detail.progress.complete
        kinds = [e["kind"] for e in detail.timeline]
        assert kinds[0] == "created" and "resolved" in kinds and "closed" in kinds

    def test_escalation_refused_until_complete_then_accepted(self, desk: Desk) -> None:
        ref = _new(desk, error="error 1809 gateway unreachable")
        t = desk.tickets
        t.complete_step(ref, "scope_decision", {"decision": "escalate", "reason": "Network"})
        assert_nothing_written(
            desk, lambda: t.complete_step(ref, "escalate", {"queue": "networking",
                                                            "repro": "", "tried": "x",
                                                            "impact": ""}),
            InvalidInput, "Reproduction steps is required")
        assert_nothing_written(
            desk, lambda: t.escalate(ref, queue="networking", repro="Connect the VPN",
                                     tried=None, impact="Sales cannot reach CRM"),
            Refused, "Tier 2 needs what was already tried")
        t.escalate(ref, queue="networking", repro="Connect the VPN, wait five minutes",
                   tried="Reinstalled the client", impact="Sales team of 6 blocked")
        detail = t.detail(ref)
        assert detail.ticket["status"] == "escalated" and detail.ticket["queue"] == "networking"
        handoff = [e for e in detail.timeline if e["kind"] == "escalated"]
        assert handoff and "1809" in (handoff[0]["note_body"] or "")
        assert detail.progress.of("escalate").state is StepState.DONE

    def test_identity_gate_refuses_the_credential_step(self, desk: Desk) -> None:
        ref = _new(desk, caller="Caller claiming to be the CFO")
        t = desk.tickets
        t.complete_step(ref, "verify_identity", {"method": "none",
                                                 "detail": "No callback number on file"})
        t.complete_step(ref, "scope_decision", {"decision": "tier1", "reason": "MFA reset"})
        fix = {"runbook": "KB 3390: reset the MFA registration"}
        assert_nothing_written(desk, lambda: t.complete_step(ref, "apply_fix", fix),
                               Refused, "identity is not verified")
        t.complete_step(ref, "verify_identity", {"method": "callback",
                                                 "detail": "Called back +1 555 0100 on file"})
        t.complete_step(ref, "apply_fix", fix)

    def test_p1_shows_the_paging_step(self, desk: Desk) -> None:
        p1 = desk.tickets.detail(_new(desk, priority="P1")).progress.of("page_oncall")
        p3 = desk.tickets.detail(_new(desk, priority="P3")).progress.of("page_oncall")
        assert p1.state is not StepState.SKIPPED and p3.state is StepState.SKIPPED

    def test_closure_refuses_a_vague_resolution(self, desk: Desk) -> None:
        ref = _new(desk)
        assert_nothing_written(
            desk, lambda: desk.tickets.resolve(ref, root_cause="Unknown",
                                               resolution="Rebooted and it worked"),
            Refused, "too vague")
        desk.tickets.resolve(ref, root_cause="Stale token", resolution=GOOD_RESOLUTION)

    def test_close_needs_time_logged(self, desk: Desk) -> None:
        ref = _new(desk)
        desk.tickets.resolve(ref, root_cause="Stale token", resolution=GOOD_RESOLUTION)
        assert_nothing_written(desk, lambda: desk.tickets.close(ref), Refused,
                               "no time is logged")
        desk.tickets.log_time(ref, "1h15m")
        settle_steps(desk, ref)
        assert desk.tickets.close(ref, category="request")["resolution_category"] == "request"


class TestLifecycle:
    def test_invalid_transition_names_the_allowed_ones(self, desk: Desk) -> None:
        ref = _new(desk)
        desk.tickets.resolve(ref, root_cause="Stale token", resolution=GOOD_RESOLUTION)
        assert_nothing_written(desk, lambda: desk.tickets.set_status(ref, "in-progress"),
                               Refused, "cannot move a resolved ticket to in-progress; from "
                               "resolved it can go to: open, closed")

    @pytest.mark.parametrize("status", ["resolved", "closed", "escalated"])
    def test_no_back_door_around_the_verbs(self, desk: Desk, status: str) -> None:
        """A bare status change cannot skip the resolution rule, close gates or handoff."""
        ref = _new(desk)
        assert_nothing_written(desk, lambda: desk.tickets.set_status(ref, status), Refused,
                               f"cannot set the status to {status} directly")

    def test_reopen_needs_a_reason(self, desk: Desk) -> None:
        ref = _new(desk)
        desk.tickets.resolve(ref, root_cause="Stale token", resolution=GOOD_RESOLUTION)
        assert_nothing_written(desk, lambda: desk.tickets.reopen(ref, reason=" "),
                               InvalidInput, "reopening needs a reason")
        row = desk.tickets.reopen(ref, reason="Prompt came back after lunch")
        assert row["status"] == "open" and row["resolved_at"] is None
        assert desk.tickets.detail(ref).timeline[-1]["kind"] == "reopened"

    def test_pending_on_the_caller_pauses_the_resolution_clock(self, desk: Desk,
                                                                clock: FakeClock) -> None:
        ref = _new(desk, priority="P3")
        due = desk.tickets.find(ref)["resolve_due"]
        desk.tickets.set_status(ref, "pending-caller", reason="Waiting for a screenshot")
        clock.advance(hours=3)
        row = desk.tickets.set_status(ref, "in-progress")
        assert row["sla_paused_seconds"] == 3 * 3600
        assert row["resolve_due"] > due

    def test_priority_change_recomputes_the_clock(self, desk: Desk) -> None:
        ref = _new(desk, priority="P4")
        before = desk.tickets.find(ref)["resolve_due"]
        after = desk.tickets.update(ref, {"priority": "P1"})["resolve_due"]
        assert after < before
        change = desk.tickets.detail(ref).timeline[-1]
        assert change["kind"] == "field_changed" and "P4 → P1" in change["summary"]

    def test_the_callers_words_are_never_overwritten(self, desk: Desk) -> None:
        ref = _new(desk, verbatim="My screen went black")
        values = {"verbatim": "Something else", "doing": "x", "reproducible": "no",
                  "users_affected": "1"}
        assert_nothing_written(desk, lambda: desk.tickets.complete_step(ref, "capture_issue",
                                                                        values),
                               Refused, "never overwritten")

    def test_public_reply_counts_as_first_response(self, desk: Desk, clock: FakeClock) -> None:
        ref = _new(desk)
        desk.tickets.add_note(ref, "Internal only", internal=True)
        assert desk.tickets.find(ref)["first_response_at"] is None
        clock.advance(minutes=7)
        desk.tickets.add_note(ref, "We are on it", internal=False)
        row = desk.tickets.find(ref)
        assert row["first_response_at"] == "2026-11-24T09:07:00Z"
        assert row["last_contact_at"] == row["first_response_at"]

    @pytest.mark.parametrize(("changes", "message"), [
        ({"priority": "P9"}, "unknown priority"), ({"colour": "red"}, "cannot set 'colour'"),
        ({}, "nothing to change"), ({"summary": ""}, "summary is required"),
        ({"status": "done"}, "unknown status 'done'"),
    ])
    def test_bad_updates_write_nothing(self, desk: Desk, changes: dict, message: str) -> None:
        ref = _new(desk)
        assert_nothing_written(desk, lambda: desk.tickets.update(ref, changes), InvalidInput,
                               message)

    @pytest.mark.parametrize("duration", ["0", "soon", "30h"])
    def test_bad_time_entries_write_nothing(self, desk: Desk, duration: str) -> None:
        ref = _new(desk)
        assert_nothing_written(desk, lambda: desk.tickets.log_time(ref, duration), InvalidInput,
                               "duration|minute|day")


class TestAttachments:
    def test_content_is_stored_once_by_hash(self, desk: Desk, tmp_path: Path) -> None:
        shot = tmp_path / "error.png"
        shot.write_bytes(b"\x89PNG fake screenshot")
        ref = _new(desk)
        desk.tickets.attach(ref, str(shot))
        desk.tickets.complete_step(ref, "record_errors", {"error_text": "0x800CCC0E",
                                                         "screenshot": str(shot)})
        assert len(desk.tickets.detail(ref).attachments) == 2
        blobs = desk.store.db.execute("SELECT count(*) AS n FROM blobs").fetchone()["n"]
        assert blobs == 1
        digest = desk.tickets.detail(ref).attachments[0]["sha256"]
        assert desk.store.attachments.blob(digest) == shot.read_bytes()

    def test_missing_and_oversized_files_are_refused(self, desk: Desk, tmp_path: Path) -> None:
        ref = _new(desk)
        assert_nothing_written(desk, lambda: desk.tickets.attach(ref, str(tmp_path / "nope")),
                               InvalidInput, "no file at")
        big = tmp_path / "big.log"
        big.write_bytes(b"x" * (desk.tickets.attachment_max_bytes + 1))
        assert_nothing_written(desk, lambda: desk.tickets.attach(ref, str(big)), InvalidInput,
                               "attachments are limited to 10 MiB")
