"""Issue 13 from the shell: the identity rule on ``step``, ``resolve`` and ``close``; skipping
a step with ``step --skip``; honest survey and page steps; a closed ticket's clocks; the
queue's order. Refusals exit 2 with one line and write nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from deskcli.domain.account_work import AccountWork, identity_refusal

MFA_FIX = "Reset the MFA registration for the user in Entra ID; KB 3390"
ROLLER_FIX = "Replaced the worn pickup roller on HP-4 following KB 77"


@pytest.fixture
def unverified(cli) -> str:
    ref = cli.new("--caller", "Sam Ortiz", "--verified", "none",
                  summary="MFA prompt keeps looping")
    return ref


def show(cli, ref: str) -> dict:
    return json.loads(cli.ok("show", ref, "--format", "json").stdout)


class TestIdentity:
    def test_resolve_names_the_rule(self, cli, unverified) -> None:
        result = cli.refused(["resolve", unverified, "--root-cause", "Lost phone",
                              "--resolution", MFA_FIX], 2)
        why = identity_refusal(AccountWork("resolution", "MFA"))
        assert result.stderr == f"deskcli: error: cannot resolve #{unverified}: {why}\n"

    def test_step_paths_use_the_same_words(self, cli, unverified) -> None:
        why = identity_refusal(AccountWork("resolution", "MFA"))
        cli.refused(["step", unverified, "document_resolution", "--value",
                     "root_cause=Lost phone", "--value", f"resolution={MFA_FIX}"], 2, why)
        cli.ok("step", unverified, "scope_decision", "--value", "decision=tier1",
               "--value", "reason=MFA re-registration")
        cli.refused(["step", unverified, "apply_fix", "--value", "runbook=KB 3390",
                     "--value", "deviations=re-registered MFA by hand"], 2,
                    "cannot record 'Apply the documented fix'", "identity is not verified",
                    "names 'MFA'")

    def test_a_printer_fix_needs_no_verified_caller(self, cli, unverified) -> None:
        cli.ok("step", unverified, "scope_decision", "--value", "decision=tier1",
               "--value", "reason=worn roller")
        cli.ok("step", unverified, "apply_fix", "--value", "runbook=KB 77")
        cli.ok("resolve", unverified, "--root-cause", "Worn roller", "--resolution",
               ROLLER_FIX)


class TestSkip:
    def test_skip_with_a_reason_shows_in_show_and_on_the_timeline(self, cli, unverified
                                                                  ) -> None:
        result = cli.ok("step", unverified, "test_with_user", "--skip",
                        "caller unreachable after two attempts")
        assert "step test_with_user skipped: caller unreachable" in result.stderr
        text = cli.ok("show", unverified).stdout
        assert ("– Test the fix with the user  (skipped: caller unreachable after two "
                "attempts)") in text
        assert "1 skipped with a reason" in text
        data = show(cli, unverified)
        [step] = [s for s in data["checklist_progress"]["steps"]
                  if s["key"] == "test_with_user"]
        assert step["state"] == "skipped" and step["skipped_by_hand"] is True
        assert step["reason"] == "caller unreachable after two attempts"
        assert any(e["kind"] == "step_skipped" and e["detail"]["reason"] ==
                   "caller unreachable after two attempts" for e in data["timeline"])

    @pytest.mark.parametrize(("args", "needle"), [
        (["--skip", "  "], "needs a reason"),
        (["--skip", "x", "--value", "workflow=y"], "either --value"),
    ])
    def test_bad_skips(self, cli, unverified, args, needle) -> None:
        cli.refused(["step", unverified, "test_with_user", *args], 2, needle)

    def test_close_lists_what_is_left(self, cli) -> None:
        ref = cli.new("--caller", "Sam Ortiz", "--verified", "callback")
        cli.ok("resolve", ref, "--root-cause", "Worn roller", "--resolution", ROLLER_FIX)
        cli.ok("log-time", ref, "15m")
        cli.refused(["close", ref], 2, "neither done nor skipped",
                    "'Decide: Tier 1 fix or escalate' (scope_decision)")
        cli.settle(ref)
        cli.ok("close", ref)


class TestHonestSteps:
    def _closed(self, cli) -> str:
        ref = cli.new("--caller", "Sam Ortiz", "--verified", "callback")
        cli.ok("resolve", ref, "--root-cause", "Worn roller", "--resolution", ROLLER_FIX)
        cli.ok("log-time", ref, "15m")
        cli.settle(ref)
        cli.ok("close", ref)
        return ref

    def test_no_automatic_survey_without_an_email_channel(self, cli) -> None:
        ref = self._closed(cli)
        assert "no email channel is configured" in cli.ok("show", ref).stdout
        cli.refused(["step", ref, "send_survey", "--value", "survey=sent-automatically"], 2,
                    "cannot be sent automatically: no email channel is configured")
        cli.ok("step", ref, "send_survey", "--value", "survey=not-sent")
        timeline = show(cli, ref)["timeline"]
        assert [e["summary"] for e in timeline if e["kind"] == "survey_not_sent"] == [
            "Satisfaction survey not sent: no email channel is configured ([notify] email "
            "in config.toml)"]
        assert not [e for e in timeline if e["kind"] == "survey_sent"]

    def test_a_p1_page_on_a_desk_with_no_pager(self, cli) -> None:
        ref = cli.new("--caller", "Sam Ortiz", "--verified", "callback", "--priority", "P1")
        assert "No pager is configured: deskcli pages nobody" in cli.ok("show", ref).stdout
        cli.ok("step", ref, "page_oncall", "--value", "pager=phone", "--value",
               "bridge=tel:+1 555 0100", "--value", "channel_posted=yes")
        summaries = [e["summary"] for e in show(cli, ref)["timeline"]]
        assert "On-call paged by phone: no pager is configured in deskcli" in summaries


class TestClocksAndQueue:
    def test_a_closed_ticket_shows_met_or_missed(self, cli) -> None:
        ref = TestHonestSteps()._closed(cli)
        cli.clock.advance(hours=1)
        text = cli.ok("show", ref).stdout
        clock_lines = [line for line in text.splitlines()
                       if line.strip().startswith(("Response", "Resolution "))]
        assert len(clock_lines) == 2
        assert all(" met (due" in line for line in clock_lines), clock_lines
        assert "left" not in "".join(clock_lines)
        clocks = show(cli, ref)["clocks"]
        assert {c["state"] for c in clocks.values()} == {"met"}

    def test_a_new_p1_heads_the_queue(self, cli) -> None:
        late = cli.new("--priority", "P4")
        cli.clock.advance(days=6)
        p1 = cli.new("--priority", "P1")
        rows = cli.ok("queue", "--format", "tsv", "--no-header",
                      "--fields", "number").stdout.split()
        assert rows[:2] == [p1, late]


@pytest.mark.subprocess
def test_the_real_entry_point_skips_and_refuses(isolated_home: Path) -> None:
    script = Path(sys.executable).with_name("deskcli")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "deskcli"]
    env = {**os.environ, "DESKCLI_HOME": str(isolated_home)}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*command, *args], capture_output=True, text=True, env=env,
                              timeout=60, check=False)

    ref = run("new", "--summary", "Locked out", "--caller", "Sam", "--verified",
              "none").stdout.strip()
    done = run("resolve", ref, "--root-cause", "Too many attempts", "--resolution",
               "Unlocked the user's AD account in ADUC; KB 12")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith(f"deskcli: error: cannot resolve #{ref}: account or "
                                  "credential work needs a verified caller")
    done = run("step", ref, "record_errors", "--skip", "no error on screen")
    assert done.returncode == 0, done.stderr
