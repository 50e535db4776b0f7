"""The root command, ``demo``, ``client-tier``, ``checklist`` and the error policy."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest
from typer.testing import CliRunner

from deskcli import __version__
from deskcli.cli.exits import ExitCode
from deskcli.cli.main import COMMANDS, app


def test_exit_codes_are_documented() -> None:
    assert [int(c) for c in ExitCode] == [0, 1, 2, 130]
    docs = [code.__doc__ for code in ExitCode]
    assert all(docs) and len(set(docs)) == 4 and ExitCode.__doc__ not in docs


def test_version(cli) -> None:
    assert cli.ok("--version").stdout == f"deskcli {__version__}\n"


def test_help_lists_every_command(cli) -> None:
    out = cli.ok("--help").stdout
    for name in COMMANDS:
        assert f"  {name} " in out


def test_no_arguments_opens_the_full_screen_app(cli, monkeypatch) -> None:
    calls = []
    fake = types.ModuleType("deskcli.tui.app")
    fake.main = lambda: calls.append("tui") or 0  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "deskcli.tui.app", fake)
    result = CliRunner().invoke(app, [], prog_name="deskcli")
    assert result.exit_code == 0 and calls == ["tui"]


def test_the_apps_exit_code_is_passed_on(monkeypatch) -> None:
    fake = types.ModuleType("deskcli.tui.app")
    fake.main = lambda: 3  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "deskcli.tui.app", fake)
    assert CliRunner().invoke(app, [], prog_name="deskcli").exit_code == 3


def test_demo_creates_sample_tickets(cli) -> None:
    result = cli.ok("demo", "--tickets", "40")
    assert result.stdout == ""
    assert result.stderr.startswith("created 40 sample tickets, #1001 to #1040, and 6 sample "
                                    "KB articles, in ")
    assert cli.counts()["tickets"] == 40
    assert cli.counts()["outbox"] == 0, "sample data is never synced"
    queue = cli.ok("queue", "--all", "--format", "jsonl").stdout.splitlines()
    assert len(queue) == 40


def test_demo_twice_adds_more_and_says_the_articles_were_loaded(cli) -> None:
    """A second run used to fail with 'UNIQUE constraint failed: events.id'."""
    cli.ok("demo", "--tickets", "200")
    again = cli.ok("demo", "--tickets", "200")
    assert "#1201 to #1400" in again.stderr
    assert "sample articles were already loaded" in again.stderr
    assert len(cli.ok("queue", "--all", "--format", "jsonl").stdout.splitlines()) == 400


def test_demo_open_share_makes_a_backlog(cli) -> None:
    cli.ok("demo", "--tickets", "1000", "--open-share", "0.5")
    assert len(cli.ok("queue", "--no-header").stdout.splitlines()) == 500


@pytest.mark.parametrize(("args", "needle"), [
    (["--tickets", "0"], "--tickets must be at least 1"),
    (["--tickets", "lots"], "--tickets"),
    (["--tickets", "5", "--open-share", "2"], "--open-share must be between 0 and 1"),
])
def test_demo_bad_input(cli, args, needle) -> None:
    cli.refused(["demo", *args], 2, needle)


def test_client_tier(cli) -> None:
    assert cli.ok("client-tier", "Meridian Clinic", "premium").stderr == (
        "Meridian Clinic: contract tier premium\n")
    number = cli.new("--client", "Meridian Clinic", "--priority", "P1")
    data = json.loads(cli.ok("show", number, "--format", "json").stdout)
    assert data["contract_tier"] == "premium"
    assert data["response_due"] == "2026-11-24T09:10:00Z"
    cli.refused(["client-tier", "Acme", "gold"], 2, "unknown contract tier 'gold'")


class TestChecklist:
    def test_list(self, cli) -> None:
        out = cli.ok("checklist", "list").stdout.splitlines()
        assert out[0] == "key\ttitle\tversion\tsteps\tsource"
        assert out[1].startswith("tier1\tTier 1 ticket handling\t1\t17\t")
        rows = json.loads(cli.ok("checklist", "list", "--format", "json").stdout)
        assert rows[0]["key"] == "tier1"

    def test_show_text_and_json(self, cli) -> None:
        text = cli.ok("checklist", "show").stdout
        assert "verify_identity" in text and "--value method=" in text
        data = json.loads(cli.ok("checklist", "show", "tier1", "--format", "json").stdout)
        steps = [s["key"] for phase in data["phases"] for s in phase["steps"]]
        assert len(steps) == 17 and steps[0] == "verify_identity"

    def test_no_subcommand_shows_help(self, cli) -> None:
        result = cli("checklist")
        assert result.exit_code == 2 and result.stderr.startswith("Usage: deskcli checklist")

    def test_unknown_checklist(self, cli) -> None:
        cli.refused(["checklist", "show", "tier9"], 1, "no checklist 'tier9'")

    def test_a_team_checklist_with_a_mistake_is_a_clear_failure(self, cli) -> None:
        folder = cli.home / "config" / "checklists"
        folder.mkdir(parents=True)
        (folder / "team.toml").write_text("[checklist]\nkey = 'team'\n title = \n")
        result = cli("checklist", "list")
        assert result.exit_code == 1
        assert result.stderr.startswith("deskcli: error: ") and "team.toml" in result.stderr
        assert "not valid TOML" in result.stderr and len(result.stderr.splitlines()) == 1


class TestErrorPolicy:
    def test_usage_errors_are_one_line(self, cli) -> None:
        result = cli("queue", "--frobnicate")
        assert result.exit_code == 2
        assert result.stderr.startswith("deskcli: error: No such option: --frobnicate")
        assert result.stderr.endswith(" (see 'deskcli queue --help')\n")
        assert len(result.stderr.splitlines()) == 1

    def test_unknown_command(self, cli) -> None:
        result = cli("frobnicate")
        assert result.exit_code == 2 and "No such command 'frobnicate'" in result.stderr

    def test_a_database_that_is_not_one(self, isolated_home: Path) -> None:
        """Real open_desk (no fake): a broken store is a failure, in one line."""
        (isolated_home / "data").mkdir(parents=True)
        (isolated_home / "data" / "deskcli.db").write_text("this is not sqlite " * 100)
        result = CliRunner().invoke(app, ["queue"], prog_name="deskcli")
        assert result.exit_code == 1
        assert result.stderr.startswith("deskcli: error: ") and "not a deskcli database" in (
            result.stderr)
        assert len(result.stderr.splitlines()) == 1

    def test_an_unexpected_bug_is_one_line_without_traceback(self, cli, monkeypatch) -> None:
        from deskcli.services.tickets import TicketService

        def broken(*args: object, **kwargs: object) -> None:
            raise ZeroDivisionError("oops")

        monkeypatch.setattr(TicketService, "detail", broken)
        cli.new()
        result = cli("show", "1001")
        assert result.exit_code == 1
        assert result.stderr.startswith("deskcli: error: internal error: ZeroDivisionError")
        assert "Traceback" not in result.output
