"""``deskcli rules check|list|test|run`` through the real entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.conftest import Cli
from deskcli.cli import session
from helpers import FakeClock, make_desk

RULES = """
[[rule]]
name = "refund to billing"
on = "create"
if = { text_has = ["refund", "invoice"] }
then = { queue = "billing", note = "Routed to billing." }

[[rule]]
name = "untouched P2 escalates"
on = "schedule"
if = { priority = ["P1", "P2"], status = ["new", "open"], idle = "2h" }
then = { escalate = "tier2" }
"""


@pytest.fixture
def cli(isolated_home: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.setattr(session, "desk_factory", lambda: make_desk(isolated_home, clock))
    return Cli(isolated_home, clock)


def write_rules(home: Path, text: str) -> Path:
    path = home / "config" / "rules.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


class TestCheck:
    def test_no_file(self, cli: Cli) -> None:
        result = cli.ok("rules", "check")
        assert "no rules are in force" in result.stderr

    def test_a_good_file(self, cli: Cli, isolated_home: Path) -> None:
        path = write_rules(isolated_home, RULES)
        assert cli.ok("rules", "check").stderr.strip() == f"{path}: 2 rule(s), no problems"

    def test_a_bad_file_names_each_problem_and_exits_2(self, cli: Cli,
                                                       isolated_home: Path) -> None:
        before = cli.counts()
        path = write_rules(isolated_home, RULES + """
[[rule]]
name = "bad"
on = "sometimes"
if = { priority = "P9" }
then = { reply = "ack" }
""")
        result = cli("rules", "check")
        assert result.exit_code == 2
        assert result.stdout == ""
        assert result.stderr.splitlines() == [
            f"{path}:16: rule 'bad': on = 'sometimes' is not an event; use one of create, "
            "update, reply, schedule",
            f"{path}:17: rule 'bad': condition 'priority': unknown priority 'P9': use one of "
            "P1, P2, P3, P4"]
        path.unlink()
        assert cli.counts() == before

    def test_config_problems(self, cli: Cli, isolated_home: Path) -> None:
        path = write_rules(isolated_home, '[[rule]]\nname = "n"\non = "schedule"\n'
                                          'if = { idle = "1d" }\nthen = { notify = "room" }\n')
        result = cli("rules", "check")
        assert result.exit_code == 2
        assert result.stderr.startswith(f"{path}:5: rule 'n': no channel 'room' in "
                                        "[notify.channels]")

    def test_other_commands_refuse_a_bad_file(self, cli: Cli, isolated_home: Path) -> None:
        write_rules(isolated_home, "[[rule]]\nname = 3\n")
        result = cli("queue")
        assert result.exit_code == 1
        assert "rules.toml:1: every rule needs a name" in result.stderr


class TestListTestRun:
    def test_list(self, cli: Cli, isolated_home: Path) -> None:
        write_rules(isolated_home, RULES)
        rows = json.loads(cli.ok("rules", "list", "--format", "json").stdout)
        assert [(r["name"], r["on"], r["line"]) for r in rows] == [
            ("refund to billing", "create", 2), ("untouched P2 escalates", "schedule", 8)]

    def test_event_rules_run_inside_new(self, cli: Cli, isolated_home: Path) -> None:
        write_rules(isolated_home, RULES)
        ref = cli.new(summary="refund for invoice 7")
        shown = json.loads(cli.ok("show", ref, "--format", "json").stdout)
        assert shown["queue"] == "billing"

    def test_test_changes_nothing_and_run_does_it_once(self, cli: Cli, isolated_home: Path,
                                                       clock: FakeClock) -> None:
        write_rules(isolated_home, RULES)
        ref = "#" + cli.new("--priority", "P2", summary="VPN down")
        clock.advance(hours=1)
        assert json.loads(cli.ok("rules", "test", "--format", "json").stdout) == []
        planned = json.loads(cli.ok("rules", "test", "--at", "+1h", "--format",
                                    "json").stdout)
        assert planned == [{"rule": "untouched P2 escalates", "ticket": ref, "on": "schedule",
                            "changes": {"queue": "tier2", "status": "escalated"}}]
        one = json.loads(cli.ok("rules", "test", "--ticket", ref, "--at", "+1h",
                                "--format", "json").stdout)
        assert one == planned
        before = cli.counts()
        assert cli.counts() == before
        clock.advance(hours=1)
        done = json.loads(cli.ok("rules", "run", "--format", "json").stdout)
        assert done == planned
        assert json.loads(cli.ok("rules", "run", "--format", "json").stdout) == []
        table = cli.ok("rules", "test", "--format", "tsv").stdout
        assert table.splitlines() == ["rule\tticket\ton\tchanges\trefused"]

    @pytest.mark.parametrize(("args", "code", "needle"), [
        (("rules", "test", "--at", "soon"), 2, "--at 'soon' is not a time"),
        (("rules", "test", "--ticket", "#99999"), 1, "no ticket"),
    ])
    def test_bad_input(self, cli: Cli, isolated_home: Path, args: tuple[str, ...], code: int,
                       needle: str) -> None:
        write_rules(isolated_home, RULES)
        cli.refused(args, code, needle)

    def test_run_on_a_joined_store(self, cli: Cli, isolated_home: Path,
                                   clock: FakeClock) -> None:
        with make_desk(isolated_home, clock) as desk, desk.store.transaction():
            desk.store.set_meta("server_url", "http://127.0.0.1:9")
        write_rules(isolated_home, RULES)
        cli.refused(("rules", "run"), 1, "joined to a team server")


def test_serve_refuses_a_broken_rules_file(cli: Cli, isolated_home: Path,
                                           tmp_path: Path) -> None:
    path = write_rules(isolated_home, '[[rule]]\nname = "a"\non = "never"\n'
                                      'then = { queue = "q" }\n')
    result = cli("serve", "--database-url", f"sqlite:///{tmp_path / 'server.db'}")
    assert result.exit_code == 2
    assert f"{path}:3: rule 'a': on = 'never' is not an event" in result.stderr
