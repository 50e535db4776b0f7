"""``deskcli queue``: filters, formats and the stable field names."""

from __future__ import annotations

import csv
import io
import json

import pytest

from deskcli.cli.fields import DEFAULT_TEXT_FIELDS, FIELDS


@pytest.fixture
def tickets(cli) -> dict[str, str]:
    """Five tickets across priorities, types, clients and assignees, plus a closed one."""
    made = {
        "p1": cli.new("--priority", "P1", "--client", "Acme", "--assignee", "dana",
                      "--caller", "Ana Chen", summary="Mail server down"),
        "p2": cli.new("--priority", "P2", "--client", "Globex", "--assignee", "eli",
                      summary="VPN drops every few minutes"),
        "p3": cli.new("--priority", "P3", "--type", "request", "--client", "acme",
                      summary="New starter laptop"),
        "p4": cli.new("--priority", "P4", "--assignee", "dana", summary="Install Acrobat"),
        "done": cli.new("--priority", "P3", summary="Printer offline"),
    }
    cli.ok("resolve", made["done"], "--root-cause", "jammed spooler",
           "--resolution", "Restarted the Print Spooler service on PRN-SRV01; KB 2210")
    return made


def numbers(stdout: str) -> list[str]:
    return [line.split("\t")[0] for line in stdout.splitlines()[1:]]


class TestFormats:
    def test_tsv_when_piped_with_the_default_fields(self, cli, tickets) -> None:
        result = cli.ok("queue")
        lines = result.stdout.splitlines()
        assert lines[0].split("\t") == list(DEFAULT_TEXT_FIELDS)
        assert all(len(line.split("\t")) == len(DEFAULT_TEXT_FIELDS) for line in lines)
        assert numbers(result.stdout) == ["1001", "1002", "1003", "1004"]
        assert result.stderr == ""

    def test_csv_parses_with_the_standard_library(self, cli, tickets) -> None:
        rows = list(csv.DictReader(io.StringIO(cli.ok("queue", "--format", "csv").stdout)))
        assert [r["number"] for r in rows] == ["1001", "1002", "1003", "1004"]
        assert rows[0]["client"] == "Acme" and rows[3]["client"] == ""

    def test_json_has_every_documented_key(self, cli, tickets) -> None:
        rows = json.loads(cli.ok("queue", "--format", "json").stdout)
        assert [list(row) for row in rows] == [list(FIELDS)] * 4
        first = rows[0]
        assert first["number"] == 1001 and first["ref"] == "#1001"
        assert first["priority"] == "P1" and first["status"] == "new"
        assert first["sla_state"] == "ok" and first["time_left"] == "15m"
        assert first["time_left_seconds"] == 900
        assert first["response_due"] == "2026-11-24T09:15:00Z"

    def test_jsonl_is_one_object_per_line(self, cli, tickets) -> None:
        lines = cli.ok("queue", "--format", "jsonl").stdout.splitlines()
        assert [json.loads(line)["summary"] for line in lines] == [
            "Mail server down", "VPN drops every few minutes", "New starter laptop",
            "Install Acrobat"]

    def test_an_empty_json_queue_is_an_empty_array(self, cli) -> None:
        assert json.loads(cli.ok("queue", "--format", "json").stdout) == []
        assert cli.ok("queue", "--format", "jsonl").stdout == ""

    def test_fields_and_no_header(self, cli, tickets) -> None:
        result = cli.ok("queue", "--fields", "priority,number,ref", "--no-header")
        assert result.stdout.splitlines()[0] == "P1\t1001\t#1001"
        csv_out = cli.ok("queue", "--format", "csv", "--fields", "number", "--no-header")
        assert csv_out.stdout.split() == ["1001", "1002", "1003", "1004"]
        one = json.loads(cli.ok("queue", "--format", "json", "--fields", "id").stdout)[0]
        assert list(one) == ["id"]

    def test_table_has_labels_and_no_colour_under_no_color(self, cli, tickets) -> None:
        out = cli.ok("queue", "--format", "table").stdout
        assert "Pri" in out and "SLA" in out and "Mail server down" in out
        assert "\x1b[" not in out

    def test_table_colour_can_be_forced(self, cli, tickets, monkeypatch) -> None:
        monkeypatch.delenv("NO_COLOR")
        plain = cli.ok("--color", "never", "queue", "--format", "table").stdout
        assert "\x1b[" not in plain
        coloured = cli.ok("--color", "always", "queue", "--format", "table").stdout
        assert "\x1b[" in coloured

    def test_table_widths_are_terminal_cells_so_cjk_and_emoji_are_not_cut_early(
            self, capsys, monkeypatch) -> None:
        from deskcli.cli import output

        monkeypatch.setenv("COLUMNS", "80")
        wide = "打印机无法连接 👩‍💻 プリンター"
        output.write_rows([(1001, wide)], ["number", "summary"], output.Format.TABLE)
        shown = capsys.readouterr().out
        assert wide in shown and "…" not in shown

    def test_values_with_tabs_cannot_break_columns(self, cli, capsys) -> None:
        # A one-line field refuses a tab at input (the one-line rule)...
        result = cli("new", "--summary", "Printer", "--client", "Tab\tCorp")
        assert result.exit_code == 2 and "U+0009 TAB" in result.stderr
        # ...and text a store already holds still cannot break the columns.
        from deskcli.cli import output

        output.write_rows([(1001, "Tab\tCorp", "line\none")], ["number", "client", "summary"],
                          output.Format.TSV, header=False)
        assert capsys.readouterr().out == "1001\tTab Corp\tline one\n"


class TestFilters:
    @pytest.mark.parametrize(("args", "expected"), [
        (["--priority", "P1,P2"], ["1001", "1002"]),
        (["--priority", "1", "--priority", "p4"], ["1001", "1004"]),
        (["--type", "request"], ["1003"]),
        (["--client", "ACME"], ["1001", "1003"]),
        (["--assignee", "eli"], ["1002"]),
        (["--mine"], ["1001", "1004"]),
        (["--status", "resolved"], ["1005"]),
        (["--all"], ["1001", "1002", "1003", "1004", "1005"]),
        (["--limit", "2"], ["1001", "1002"]),
        (["--priority", "P3", "--client", "acme"], ["1003"]),
    ])
    def test_filters(self, cli, tickets, args, expected) -> None:
        assert numbers(cli.ok("queue", *args).stdout) == expected

    def test_at_risk_and_breached_follow_the_clock(self, cli, tickets) -> None:
        cli.clock.advance(minutes=12)  # P1 response (15m) at risk after 11m15s
        assert numbers(cli.ok("queue", "--at-risk").stdout) == ["1001"]
        assert numbers(cli.ok("queue", "--breached").stdout) == []
        cli.clock.advance(minutes=4)  # 16 minutes: P1 response breached
        assert numbers(cli.ok("queue", "--breached").stdout) == ["1001"]
        assert numbers(cli.ok("queue", "--at-risk").stdout) == []
        cli.clock.advance(minutes=30)  # 46 minutes: P2 response (1h) at risk
        both = cli.ok("queue", "--at-risk", "--breached", "--fields", "number,sla_state")
        assert both.stdout.splitlines()[1:] == ["1001\tbreached", "1002\tat-risk"]

    def test_closed_tickets_show_met_or_missed(self, cli, tickets) -> None:
        rows = json.loads(cli.ok("queue", "--status", "resolved", "--format", "json").stdout)
        assert rows[0]["sla_state"] == "met" and rows[0]["time_left"] is None

    @pytest.mark.parametrize(("args", "needle"), [
        (["--priority", "P7"], "unknown priority 'P7'"),
        (["--status", "done"], "unknown status 'done'"),
        (["--type", "outage"], "unknown type 'outage'"),
        (["--fields", "number,colour"], "unknown field 'colour'"),
        (["--fields", ","], "--fields is empty"),
        (["--format", "json", "--no-header"], "--no-header applies to"),
        (["--format", "yaml"], "--format"),
        (["--limit", "0"], "--limit"),
        (["--mine", "--assignee", "eli"], "--mine and --assignee"),
    ])
    def test_bad_filters(self, cli, tickets, args, needle) -> None:
        cli.refused(["queue", *args], 2, needle)
