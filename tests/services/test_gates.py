"""Issue 13's gates through the ticket service: the identity rule on account work, on every
path that records it; closing skips nothing silently; no no-op timeline entries; one
reading of a closed ticket's clocks; the queue's order."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from deskcli.domain import engine
from deskcli.domain.account_work import AccountWords, AccountWork, identity_refusal
from deskcli.domain.engine import StepState
from deskcli.domain.enums import Status
from deskcli.domain.errors import DeskError, InvalidInput, Refused
from deskcli.domain.intake import NewTicket
from deskcli.domain.sla import ClockState, clocks_of
from deskcli.services.desk import Desk
from deskcli.services.tickets import TicketService
from helpers import FakeClock, settle_steps

MFA_FIX = "Reset the MFA registration for the user in Entra ID; KB 3390"
ROLLER_FIX = "Replaced the worn pickup roller on HP-4 following KB 77"


def _new(desk: Desk, **record: Any) -> str:
    record.setdefault("summary", "Something is wrong")
    record.setdefault("caller", "Sam Ortiz")
    return str(desk.tickets.create(NewTicket.from_mapping(record))["number"])


def _unverified(desk: Desk, **record: Any) -> str:
    ref = _new(desk, **record)
    desk.tickets.complete_step(ref, "verify_identity",
                               {"method": "none", "detail": "no callback number on file"})
    return ref


def _counts(desk: Desk) -> tuple[int, ...]:
    db = desk.store.db
    tables = ("tickets", "events", "step_records", "outbox", "clients", "callers")
    return tuple(db.execute(f"SELECT count(*) AS n FROM {t}").fetchone()["n"] for t in tables)


def refused(desk: Desk, action: Callable[[], object], error: type[DeskError],
            *needles: str) -> str:
    before = _counts(desk)
    with pytest.raises(error) as caught:
        action()
    for needle in needles:
        assert needle in caught.value.message, (needle, caught.value.message)
    assert _counts(desk) == before, "a refused change must write nothing"
    return caught.value.message


WHY_MFA = identity_refusal(AccountWork("resolution", "MFA"))


class TestIdentityOnEveryPath:
    def test_the_console_bug_resolving_an_mfa_reset_for_an_unverified_caller(
            self, desk: Desk) -> None:
        """Issue 13, item 1: resolved with an MFA reset for an unverified caller, then
        closed. Resolving is refused, through the step and through ``resolve``."""
        ref = _unverified(desk)
        t = desk.tickets
        message = refused(desk, lambda: t.resolve(ref, root_cause="Lost phone",
                                                  resolution=MFA_FIX), Refused)
        assert message == f"cannot resolve #{ref}: {WHY_MFA}"
        message = refused(desk, lambda: t.complete_step(ref, "document_resolution", {
            "root_cause": "Lost phone", "resolution": MFA_FIX}), Refused)
        assert message.endswith(WHY_MFA)

    def test_the_fix_is_refused_when_its_runbook_names_a_password(self, desk: Desk) -> None:
        ref = _unverified(desk)
        desk.tickets.complete_step(ref, "scope_decision", {"decision": "tier1",
                                                           "reason": "Tier 1 work"})
        message = refused(desk, lambda: desk.tickets.complete_step(
            ref, "apply_fix", {"runbook": "KB 12", "deviations": "reset the password by hand"}),
            Refused, "identity is not verified", "the where you left the runbook, and why "
            "names 'password'")
        assert "cannot record 'Apply the documented fix'" in message

    def test_an_accounts_ticket_blocks_the_fix_before_anything_is_typed(
            self, desk: Desk) -> None:
        ref = _unverified(desk, category="accounts")
        desk.tickets.complete_step(ref, "scope_decision", {"decision": "tier1",
                                                           "reason": "unlock"})
        item = desk.tickets.detail(ref).progress.of("apply_fix")
        assert item.state is StepState.BLOCKED
        assert item.reason == identity_refusal(AccountWork("category", "accounts"))
        refused(desk, lambda: desk.tickets.complete_step(ref, "apply_fix", {"runbook": "KB 1"}),
                Refused, "the category names 'accounts'")

    def test_close_refuses_account_work_already_recorded(self, desk: Desk) -> None:
        """A ticket resolved before the rule (or by a path that skipped it) cannot close."""
        ref = _unverified(desk)
        t = desk.tickets
        ticket = t.find(ref)
        with desk.store.transaction():  # as an old version of deskcli left it
            ticket = t.write_changes(ticket, {"root_cause": "Lost phone", "resolution": MFA_FIX},
                                     "2026-11-24T09:05:00Z")
            t.change_status(ticket, Status.RESOLVED, "2026-11-24T09:05:00Z")
        t.log_time(ref, "10m")
        settle_steps(desk, ref)
        message = refused(desk, lambda: t.close(ref), Refused)
        assert message == f"cannot close #{ref}: {WHY_MFA}"
        refused(desk, lambda: t.complete_step(ref, "log_time_close", {}), Refused, WHY_MFA)

    def test_verifying_first_lets_the_same_work_through(self, desk: Desk) -> None:
        ref = _new(desk, verified="callback")
        desk.tickets.resolve(ref, root_cause="Lost phone", resolution=MFA_FIX)
        assert desk.tickets.find(ref)["status"] == "resolved"

    def test_a_resolved_ticket_cannot_be_made_unverified_after_the_work(
            self, desk: Desk) -> None:
        ref = _new(desk, verified="callback")
        desk.tickets.resolve(ref, root_cause="Lost phone", resolution=MFA_FIX)
        refused(desk, lambda: desk.tickets.complete_step(ref, "verify_identity",
                                                         {"method": "none", "detail": "x"}),
                Refused, "reopen the ticket")

    def test_work_touching_no_account_needs_no_verification(self, desk: Desk) -> None:
        """The printer roller: fix, resolve and close for an unverified caller."""
        ref = _unverified(desk, category="printing")
        t = desk.tickets
        t.complete_step(ref, "scope_decision", {"decision": "tier1", "reason": "worn roller"})
        t.complete_step(ref, "apply_fix", {"runbook": "KB 77"})
        t.resolve(ref, root_cause="Worn pickup roller", resolution=ROLLER_FIX)
        t.log_time(ref, "25m")
        settle_steps(desk, ref)
        assert t.close(ref)["status"] == "closed"

    def test_monitoring_tickets_have_no_caller_to_verify(self, desk: Desk) -> None:
        ref = str(desk.tickets.create(NewTicket.from_mapping({
            "summary": "Service account locked out", "channel": "monitoring"}))["number"])
        desk.tickets.resolve(ref, root_cause="Expired secret",
                             resolution="Unlocked the svc-backup account and rotated its "
                             "password in the vault; KB 9")

    def test_a_failed_verification_is_not_undone_by_calling_it_monitoring(
            self, desk: Desk) -> None:
        ref = _unverified(desk)
        desk.tickets.update(ref, {"channel": "monitoring"})
        refused(desk, lambda: desk.tickets.resolve(ref, root_cause="Lost phone",
                                                   resolution=MFA_FIX), Refused, WHY_MFA)

    def test_the_team_extends_the_words_in_config(self, tmp_path: Path,
                                                  clock: FakeClock) -> None:
        from helpers import make_desk, paths_under

        config = paths_under(tmp_path).config_dir
        config.mkdir(parents=True)
        (config / "config.toml").write_text(
            '[account_work]\nwords = ["yubikey"]\ncategories = ["badges"]\n')
        with make_desk(tmp_path, clock) as desk:
            ref = _unverified(desk)
            refused(desk, lambda: desk.tickets.resolve(
                ref, root_cause="Broken key", resolution="Issued a new YubiKey 5C; KB 40"),
                Refused, "names 'YubiKey'")
            badge = _unverified(desk, category="Badges")
            refused(desk, lambda: desk.tickets.resolve(
                badge, root_cause="Worn card", resolution=ROLLER_FIX), Refused,
                "the category names 'Badges'")

    @pytest.mark.parametrize(("text", "message"), [
        ("[account_work]\nwords = \"okta\"\n", "must be a list"),
        ("[account_work]\nphrases = [\"okta\"]\n", "unknown key 'phrases'"),
        ("account_work = 3\n", "must be a table"),
    ])
    def test_bad_account_work_settings_name_the_problem(self, tmp_path: Path, text: str,
                                                        message: str) -> None:
        from deskcli.config import load_config

        path = tmp_path / "config.toml"
        path.write_text(text)
        with pytest.raises(InvalidInput, match=message):
            load_config(path, environ={})

    def test_phrases_not_substrings(self) -> None:
        words = AccountWords()
        assert words.named_in("Changed the SMTP port in the Outlook account settings") is None
        assert words.named_in("Wireless access point replaced") is None
        assert words.named_in("Unlocked the user's AD account") == "Unlocked the user's AD account"
        assert words.named_in("multi factor prompt re-registered") == "multi factor"


class TestSkipping:
    def test_skip_needs_a_reason_and_writes_nothing_without_one(self, desk: Desk) -> None:
        ref = _new(desk)
        for blank in (None, "", "   \n "):
            refused(desk, lambda b=blank: desk.tickets.skip_step(ref, "test_with_user", b),
                    InvalidInput, "needs a reason")
        refused(desk, lambda: desk.tickets.skip_step(ref, "nope", "x"), InvalidInput,
                "unknown step 'nope'")
        refused(desk, lambda: desk.tickets.skip_step(ref, "x", "y" * 501), InvalidInput)

    def test_the_reason_is_on_the_timeline_and_in_the_checklist(self, desk: Desk) -> None:
        ref = _new(desk)
        desk.tickets.skip_step(ref, "test_with_user", "caller unreachable after two attempts")
        detail = desk.tickets.detail(ref)
        item = detail.progress.of("test_with_user")
        assert item.state is StepState.SKIPPED and item.by_hand
        assert item.reason == "caller unreachable after two attempts"
        [event] = [e for e in detail.timeline if e["kind"] == "step_skipped"]
        assert "caller unreachable after two attempts" in event["summary"]
        assert json.loads(event["detail"]) == {
            "step": "test_with_user", "reason": "caller unreachable after two attempts"}
        assert detail.progress.skipped_by_hand == 1

    @pytest.mark.parametrize(("step", "needle"), [
        ("document_resolution", "done by the resolve itself"),
        ("log_time_close", "done by the close itself"),
        ("scope_decision", "decides whether"),
        ("page_oncall", "does not apply"),
    ])
    def test_what_cannot_be_skipped(self, desk: Desk, step: str, needle: str) -> None:
        ref = _new(desk)
        refused(desk, lambda: desk.tickets.skip_step(ref, step, "no time"), Refused, needle)

    def test_a_done_step_is_not_skipped_and_a_skipped_one_can_still_be_done(
            self, desk: Desk) -> None:
        ref = _new(desk, verified="callback")
        refused(desk, lambda: desk.tickets.skip_step(ref, "verify_identity", "x"), Refused,
                "already done")
        desk.tickets.skip_step(ref, "check_changes", "nobody could say")
        refused(desk, lambda: desk.tickets.skip_step(ref, "check_changes", "again"), Refused,
                "already skipped: nobody could say")
        desk.tickets.complete_step(ref, "check_changes", {"findings": "no recent changes"})
        assert desk.tickets.detail(ref).progress.of("check_changes").state is StepState.DONE

    def test_close_names_every_step_left_then_closes_once_settled(self, desk: Desk) -> None:
        ref = _new(desk, verified="callback")
        t = desk.tickets
        t.resolve(ref, root_cause="Worn roller", resolution=ROLLER_FIX)
        t.log_time(ref, "20m")
        message = refused(desk, lambda: t.close(ref), Refused, "neither done nor skipped",
                          "'Decide: Tier 1 fix or escalate' (scope_decision)")
        assert "Send the satisfaction survey" not in message, "the survey follows closing"
        assert "test_with_user" not in message, "undecided: the decision is named instead"
        t.complete_step(ref, "scope_decision", {"decision": "tier1", "reason": "roller"})
        refused(desk, lambda: t.close(ref), Refused,
                "'Test the fix with the user' (test_with_user)")
        refused(desk, lambda: t.complete_step(ref, "log_time_close", {}), Refused,
                "neither done nor skipped")
        settle_steps(desk, ref)
        t.complete_step(ref, "log_time_close", {})
        assert t.find(ref)["status"] == "closed"


class TestNoOpChanges:
    def test_setting_the_same_client_records_nothing(self, desk: Desk) -> None:
        ref = _new(desk, client="Foxglove Studio")
        before = _counts(desk)
        desk.tickets.update(ref, {"client": "Foxglove Studio"})
        desk.tickets.complete_step(ref, "open_ticket", {"client": "Foxglove Studio",
                                                        "category": "email",
                                                        "channel": "phone"})
        timeline = desk.tickets.detail(ref).timeline
        assert not [e for e in timeline if "client:" in e["summary"]]
        assert _counts(desk)[1] == before[1] + 3  # step, category change, status change

    def test_setting_the_same_caller_email_records_nothing(self, desk: Desk) -> None:
        ref = _new(desk, email="sam@example.org")
        before = _counts(desk)
        desk.tickets.complete_step(ref, "open_ticket", {"caller_email": "SAM@example.org",
                                                        "category": "email",
                                                        "channel": "phone"})
        ops = desk.store.db.execute(
            "SELECT count(*) AS n FROM outbox WHERE entity = 'caller'").fetchone()["n"]
        assert ops == 1  # the caller's creation only
        assert _counts(desk)[0] == before[0]


class TestClocks:
    def test_a_closed_ticket_has_no_time_left(self, desk: Desk, clock: FakeClock) -> None:
        """Issue 13, item 7: closed with no reply on record, the header said 'Response
        3h50m left'. The resolution counts as the answer: met or missed, never left."""
        ref = _new(desk, verified="callback")
        clock.advance(minutes=10)
        desk.tickets.resolve(ref, root_cause="Worn roller", resolution=ROLLER_FIX)
        desk.tickets.log_time(ref, "10m")
        settle_steps(desk, ref)
        desk.tickets.close(ref)
        response, resolve = clocks_of(desk.tickets.find(ref), clock.now())
        assert (response.state, resolve.state) == (ClockState.MET, ClockState.MET)
        assert response.words(clock.now()) == "met"
        clock.advance(days=2)
        assert "left" not in response.words(clock.now()) + resolve.words(clock.now())

    def test_missed_clocks_say_by_how_much(self, desk: Desk, clock: FakeClock) -> None:
        ref = _new(desk, verified="callback", priority="P1")
        clock.advance(hours=5)
        desk.tickets.resolve(ref, root_cause="Worn roller", resolution=ROLLER_FIX)
        response, resolve = clocks_of(desk.tickets.find(ref), clock.now())
        assert response.words(clock.now()) == "missed by 4h45m"
        assert resolve.words(clock.now()) == "missed by 1h00m"


class TestQueue:
    def test_a_new_p1_comes_before_a_long_breached_p4(self, desk: Desk,
                                                      clock: FakeClock) -> None:
        """Issue 13: a brand-new P1 sat 163rd behind a P4 breached three days ago."""
        old = [_new(desk, priority="P4") for _ in range(3)]
        clock.advance(days=6)
        p1 = _new(desk, priority="P1")
        p2 = _new(desk, priority="P2")
        numbers = [str(row[1]) for row in desk.tickets.queue()]
        assert numbers[0] == p1
        assert numbers[1:4] == old and numbers[4] == p2
        desk.tickets.add_note(p1, "On it: the on-call engineer is paged.", internal=False)
        numbers = [str(row[1]) for row in desk.tickets.queue()]
        assert numbers[:3] == old, "once answered, a P1 takes its place by due time"

    def test_the_open_queue_is_served_by_the_status_index(self, desk: Desk) -> None:
        from deskcli.storage.queue import OPEN_STATUSES, Queue

        assert OPEN_STATUSES == tuple(s.value for s in Status if s.is_open)
        body, params = Queue.filter(open_only=True)
        assert "NOT IN" not in body
        plan = [r["detail"] for r in desk.store.db.execute(
            f"EXPLAIN QUERY PLAN SELECT {Queue.COLUMNS} {body} "
            f"ORDER BY {Queue.ORDER}", params)]
        assert any("USING INDEX tickets_by_status" in line for line in plan), plan


def test_service_default_words_are_the_builtin_lists(desk: Desk) -> None:
    assert isinstance(desk.tickets, TicketService)
    assert desk.tickets.account_words == AccountWords()
    assert engine.records_work(desk.tickets.checklists["tier1"].step("apply_fix"))  # type: ignore[arg-type]


class TestHonestOutcomes:
    def test_unpaged_p1s_until_a_page_is_recorded_or_a_pager_configured(
            self, desk: Desk) -> None:
        from deskcli.domain.outcomes import DeskChannels, unpaged_warning

        p1 = _new(desk, priority="P1", verified="callback")
        _new(desk, priority="P2")
        assert desk.tickets.unpaged_p1s() == [f"#{p1}"]
        assert unpaged_warning(len(desk.tickets.unpaged_p1s())) is not None
        desk.tickets.skip_step(p1, "page_oncall", "on-call is already on the bridge")
        assert desk.tickets.unpaged_p1s() == [f"#{p1}"], "a skip is not a page"
        desk.tickets.complete_step(p1, "page_oncall", {
            "pager": "phone", "bridge": "tel:+1 555 0100", "channel_posted": "yes"})
        assert desk.tickets.unpaged_p1s() == []
        assert unpaged_warning(len(desk.tickets.unpaged_p1s())) is None
        other = _new(desk, priority="P1")
        desk.tickets.channels = DeskChannels(pagers=("pagerduty-main",))
        assert desk.tickets.unpaged_p1s() == [], f"{other}: the pager pages it"

    def test_unpaged_p1s_come_most_urgent_first(self, desk: Desk) -> None:
        # The status bar names the first one: it must be the P1 nobody has answered,
        # in the queue's order, not simply the oldest.
        older = _new(desk, priority="P1", verified="callback")
        newer = _new(desk, priority="P1", verified="callback")
        assert desk.tickets.unpaged_p1s() == [f"#{older}", f"#{newer}"]
        desk.tickets.add_note(older, "We are on it and will call back within the hour.",
                              internal=False)
        assert desk.tickets.unpaged_p1s() == [f"#{newer}", f"#{older}"]

    def test_survey_choices_record_what_happened(self, desk: Desk) -> None:
        from deskcli.domain.outcomes import DeskChannels

        ref = _new(desk, verified="callback", email="sam@example.org")
        desk.tickets.resolve(ref, root_cause="Worn roller", resolution=ROLLER_FIX)
        desk.tickets.log_time(ref, "10m")
        settle_steps(desk, ref)
        desk.tickets.close(ref)
        refused(desk, lambda: desk.tickets.complete_step(
            ref, "send_survey", {"survey": "sent-automatically"}), Refused,
            "no email channel is configured")
        desk.tickets.channels = DeskChannels(email="smtp")
        desk.tickets.complete_step(ref, "send_survey", {"survey": "sent-automatically"})
        kinds = [e["kind"] for e in desk.tickets.detail(ref).timeline]
        assert "survey_queued" in kinds and "survey_sent" not in kinds, \
            "the sender records survey_sent when it actually goes"
