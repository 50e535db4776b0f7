"""``deskcli report`` in every format and ``deskcli csat``, with their bad inputs."""

from __future__ import annotations

import csv
import io
import json

import pytest

GOOD_RESOLUTION = "Cleared Outlook entries in Windows Credential Manager; see KB 4567"


def _closed(cli, *extra: str, error: str = "0x800ccc0e: cannot connect") -> str:
    ref = cli.new("--caller", "Ana Chen", "--priority", "P3", "--error", error, *extra)
    cli.clock.advance(minutes=20)
    cli.ok("note", ref, "Looking at your Outlook now")
    cli.ok("set", ref, "--status", "open")
    cli.clock.advance(minutes=40)
    cli.ok("resolve", ref, "--root-cause", "Stale token", "--resolution", GOOD_RESOLUTION)
    cli.ok("log-time", ref, "15m")
    cli.settle(ref)
    cli.ok("close", ref)
    return ref


@pytest.fixture
def history(cli) -> list[str]:
    """Three closed tickets with the same error code in two spellings, one answered."""
    refs = [_closed(cli), _closed(cli, error="0x800CCC0E again"), _closed(cli)]
    cli.ok("csat", refs[0], "5", "--comment", "Quick and friendly")
    cli.ok("csat", refs[1], "2")
    cli.clock.advance(hours=1)
    return refs


class TestReport:
    def test_json_has_every_metric_with_counts_and_recurring_tickets(self, cli,
                                                                     history) -> None:
        data = json.loads(cli.ok("report", "--format", "json").stdout)
        total = data["total"]
        assert total["volume"] == {"value": 3, "unit": "count", "count": 3, "total": 3,
                                   "label": "Tickets created"}
        assert total["frt_median"]["value"] == 20 * 60
        assert total["resolution_mean"]["value"] == 60 * 60
        assert total["fcr"]["value"] == 100
        assert (total["csat"]["count"], total["csat"]["total"]) == (1, 2)
        assert total["csat_mean"]["value"] == 3.5
        assert total["time_logged"]["value"] == 15
        assert data["recurring"]["error_codes"] == [
            {"key": "0x800CCC0E", "count": 3, "tickets": ["#1001", "#1002", "#1003"]}]
        assert data["by"] == "none" and data["groups"] == []

    def test_tsv_is_one_schema_for_metrics_and_recurring_rows(self, cli, history) -> None:
        out = cli.ok("report", "--format", "tsv", "--by", "priority").stdout
        lines = [line.split("\t") for line in out.splitlines()]
        assert lines[0] == ["section", "group", "metric", "value", "unit", "count", "total",
                            "tickets"]
        assert all(len(line) == 8 for line in lines)
        groups = {line[1] for line in lines[1:] if line[0] == "metric"}
        assert groups == {"P3", "all"}
        recurring = [line for line in lines if line[0] == "recurring-error-code"]
        assert recurring[0][2:4] == ["0x800CCC0E", "3"]
        assert recurring[0][7] == "#1001 #1002 #1003"
        csat = next(line for line in lines if line[1] == "all" and line[2] == "csat")
        assert csat[3:7] == ["50", "percent", "1", "2"]

    def test_csv_parses_and_matches_tsv(self, cli, history) -> None:
        rows = list(csv.reader(io.StringIO(cli.ok("report", "--format", "csv").stdout)))
        tsv = [line.split("\t") for line in
               cli.ok("report", "--format", "tsv").stdout.splitlines()]
        assert rows == tsv

    def test_table_for_people(self, cli, history) -> None:
        result = cli.ok("report", "--format", "table", "--by", "week")
        assert "Metrics from" in result.stderr
        out = result.stdout
        assert "First response, median" in out and "20m" in out
        assert "2026-W48" in out
        assert "0x800CCC0E" in out and "#1001 #1002 #1003" in out

    def test_window_until_excludes_later_work(self, cli, history) -> None:
        data = json.loads(cli.ok("report", "--since", "2026-11-01", "--until", "2026-11-24",
                                 "--format", "json").stdout)
        assert data["total"]["volume"]["count"] == 0
        assert data["until"] == "2026-11-24T00:00:00Z"

    def test_empty_store_reports_no_figures(self, cli) -> None:
        data = json.loads(cli.ok("report", "--format", "json").stdout)
        assert data["total"]["frt_median"]["value"] is None
        assert data["total"]["volume"]["count"] == 0

    @pytest.mark.parametrize(("args", "needle"), [
        (["--since", "yesterday"], "is not a length of time back"),
        (["--since", "0d"], "is less than 1d"),
        (["--since", "6m"], "m is minutes; for months write 6mo"),
        (["--since", "2026-02-01", "--until", "2026-01-01"], "must come after --since"),
        (["--until", "30d"], "is not a date"),
        (["--by", "colour"], "use one of priority, type, client, tech, category, week"),
        (["--format", "xml"], "--format"),
    ])
    def test_bad_input_exits_2_with_one_line(self, cli, args, needle) -> None:
        cli.refused(["report", *args], 2, needle)


class TestCsat:
    def test_records_once_and_refuses_a_second_answer(self, cli, history) -> None:
        cli.refused(["csat", history[0], "4"], 2, "never replaced")

    @pytest.mark.parametrize("score", ["0", "6", "x", "4.5"])
    def test_bad_scores(self, cli, history, score) -> None:
        cli.refused(["csat", history[2], score], 2, "from 1 to 5")

    def test_open_ticket_refused(self, cli) -> None:
        ref = cli.new()
        cli.refused(["csat", ref, "5"], 2, "only taken for a resolved or closed ticket")

    def test_unknown_ticket_is_exit_1(self, cli) -> None:
        cli.refused(["csat", "9999", "5"], 1, "no ticket #9999")

    def test_answer_is_on_the_timeline(self, cli, history) -> None:
        shown = json.loads(cli.ok("show", history[0], "--format", "json").stdout)
        kinds = [event["kind"] for event in shown["timeline"]]
        assert "csat" in kinds
