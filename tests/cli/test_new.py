"""``deskcli new``: from flags, and in bulk from JSON, JSON arrays and JSON Lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deskcli.cli.fields import FIELDS


class TestFromFlags:
    def test_prints_the_number_alone(self, cli) -> None:
        """So that n=$(deskcli new ...) captures exactly the number."""
        result = cli.ok("new", "--summary", "Printer offline", "--priority", "P2")
        assert result.stdout == "1001\n"
        assert result.stderr == ""
        assert cli.new() == "1002"

    def test_every_flag_lands_on_the_ticket(self, cli) -> None:
        number = cli.new("--caller", "Ana Chen", "--email", "Ana@Example.com", "--phone",
                         "+1 555 0100", "--verified", "callback", "--verbatim",
                         "It keeps asking", "--error", "0x800CCC0E", "--priority", "2",
                         "--type", "request", "--channel", "walk-up", "--client", "Acme",
                         "--asset", "LAPTOP-0231", "--category", "email", "--assignee",
                         "dana", "--users-affected", "3", "--doing", "opening Outlook")
        data = json.loads(cli.ok("show", number, "--format", "json").stdout)
        assert data["caller"] == "Ana Chen" and data["caller_email"] == "ana@example.com"
        assert (data["priority"], data["type"], data["channel"]) == ("P2", "request",
                                                                     "walk-up")
        assert (data["client"], data["asset"], data["assignee"]) == ("Acme", "LAPTOP-0231",
                                                                     "dana")
        assert data["verification"] == "callback" and data["users_affected"] == 3
        steps = {s["key"]: s["state"] for s in data["checklist_progress"]["steps"]}
        assert steps["verify_identity"] == "done" and steps["set_priority"] == "done"

    def test_json_format_prints_the_ticket(self, cli) -> None:
        result = cli.ok("new", "--summary", "VPN drops", "--priority", "P1", "--format",
                        "json")
        data = json.loads(result.stdout)
        assert data["number"] == 1001 and data["ref"] == "#1001"
        assert data["priority"] == "P1" and data["status"] == "new"
        assert data["sla_state"] == "ok" and data["time_left"] == "15m"
        assert set(FIELDS) <= set(data)

    @pytest.mark.parametrize(("args", "needle"), [
        (["--summary", "x", "--priority", "P9"], "unknown priority 'P9'"),
        (["--summary", "x", "--email", "ana@"], "'ana@' is not an email address"),
        (["--summary", "   "], "summary is required"),
        ([], "summary is required"),
        (["--summary", "x", "--type", "outage"], "unknown type 'outage'"),
        (["--summary", "x", "--channel", "fax"], "unknown channel 'fax'"),
        (["--summary", "x", "--verified", "vibes", "--caller", "Ana"],
         "unknown verified 'vibes'"),
        (["--summary", "x", "--verified", "callback"], "verified identity needs the caller"),
        (["--summary", "x", "--phone", "call me"], "is not a phone number"),
        (["--summary", "x", "--users-affected", "many"], "must be a whole number"),
        (["--summary", "x", "--keep-going"], "--keep-going only applies with --from"),
        (["--summary", "x", "--bogus"], "No such option: --bogus"),
        (["--summary", "x", "--format", "xml"], "--format"),
    ])
    def test_bad_input_is_refused_and_nothing_is_written(self, cli, args, needle) -> None:
        cli.refused(["new", *args], 2, needle)


RECORDS = [
    {"summary": "Printer offline", "priority": "P3", "client": "Acme"},
    {"summary": "VPN drops", "priority": "P2", "caller": "Ana Chen", "verified": "callback"},
    {"summary": "New starter laptop", "type": "request", "priority": 4},
]


class TestFromFile:
    def test_json_lines_on_stdin(self, cli) -> None:
        text = "\n".join(json.dumps(r) for r in RECORDS) + "\n"
        result = cli.ok("new", "--from", "-", input=text)
        assert result.stdout.split() == ["1001", "1002", "1003"]
        assert "created 3 tickets" in result.stderr
        assert cli.counts()["tickets"] == 3

    def test_a_json_array_from_a_file(self, cli, tmp_path: Path) -> None:
        path = tmp_path / "tickets.json"
        path.write_text(json.dumps(RECORDS, indent=2))
        assert cli.ok("new", "--from", str(path)).stdout.split() == ["1001", "1002", "1003"]

    def test_a_single_pretty_printed_object(self, cli) -> None:
        result = cli.ok("new", "--from", "-", input=json.dumps(RECORDS[1], indent=2))
        assert result.stdout == "1001\n"

    def test_json_output_is_an_array_and_jsonl_a_line_each(self, cli) -> None:
        text = "\n".join(json.dumps(r) for r in RECORDS)
        tickets = json.loads(cli.ok("new", "--from", "-", "--format", "json",
                                    input=text).stdout)
        assert [t["summary"] for t in tickets] == [r["summary"] for r in RECORDS]
        lines = cli.ok("new", "--from", "-", "--format", "jsonl", input=text).stdout
        assert [json.loads(line)["number"] for line in lines.splitlines()] == [1004, 1005,
                                                                                 1006]

    def test_one_bad_record_writes_nothing(self, cli) -> None:
        """All or nothing: the bad record's line and problem are named, exit 2."""
        text = "\n".join([json.dumps(RECORDS[0]), json.dumps(RECORDS[1]),
                          json.dumps({"summary": "x", "priority": "urgent"})])
        before = cli.counts()
        result = cli("new", "--from", "-", input=text)
        assert result.exit_code == 2 and result.stdout == ""
        lines = result.stderr.splitlines()
        assert lines[0] == ("deskcli: error: <stdin>:3: unknown priority 'urgent': use one "
                            "of P1, P2, P3, P4")
        assert "nothing was written" in lines[-1]
        assert cli.counts() == before

    def test_one_bad_record_at_the_end_of_a_long_import_writes_nothing(self, cli) -> None:
        """The batch is checked whole before it is written: record 450 of 450 refused
        leaves no ticket, op or queued message behind, and names its line."""
        good = [json.dumps({**RECORDS[i % len(RECORDS)], "summary": f"Alert {i}"})
                for i in range(449)]
        text = "\n".join([*good, json.dumps({"summary": "Alert", "email": "nobody"})])
        before = cli.counts()
        result = cli("new", "--from", "-", input=text)
        assert result.exit_code == 2 and result.stdout == ""
        assert result.stderr.splitlines()[0] == (
            "deskcli: error: <stdin>:450: 'nobody' is not an email address: expected "
            "name@example.com")
        assert "Traceback" not in result.output
        assert cli.counts() == before
        assert cli.ok("new", "--from", "-", input="\n".join(good)).stdout.split()[-1] == \
            "1449"

    def test_a_broken_json_line_is_named(self, cli) -> None:
        text = json.dumps(RECORDS[0]) + "\n\n" + '{"summary": "VPN drops", \n'
        result = cli("new", "--from", "-", input=text)
        assert result.exit_code == 2
        assert result.stderr.startswith("deskcli: error: <stdin>:3: not valid JSON")
        assert cli.counts()["tickets"] == 0

    def test_every_problem_is_reported_in_one_run(self, cli, tmp_path: Path) -> None:
        path = tmp_path / "bad.jsonl"
        path.write_text('{"summary": ""}\n{"summary": "ok"}\n[1, 2]\n{"sumary": "typo"}\n')
        result = cli("new", "--from", str(path))
        assert result.exit_code == 2
        lines = result.stderr.splitlines()
        assert [line.startswith(f"deskcli: error: {path}:{n}: ") for line, n in
                zip(lines, (1, 3, 4), strict=False)] == [True, True, True]
        assert "3 problems" in lines[-1]
        assert "unknown key 'sumary'" in result.stderr
        assert cli.counts()["tickets"] == 0

    def test_keep_going_writes_the_good_records(self, cli) -> None:
        text = "\n".join([json.dumps(RECORDS[0]), "{not json", json.dumps(RECORDS[2])])
        result = cli("new", "--from", "-", "--keep-going", input=text)
        assert result.exit_code == 1, "partly written is a failure of the operation"
        assert result.stdout.split() == ["1001", "1002"]
        assert "<stdin>:2: not valid JSON" in result.stderr
        assert "created 2 tickets; skipped 1 invalid record" in result.stderr
        assert cli.counts()["tickets"] == 2

    def test_bulk_create_is_one_transaction(self, cli, monkeypatch) -> None:
        """A failure while writing the batch leaves none of it behind."""
        from deskcli.services.tickets import TicketService

        original = TicketService.insert_ticket
        calls = []

        def flaky(self, draft, now):
            calls.append(draft.summary)
            if len(calls) == 3:
                raise RuntimeError("disk unplugged")
            return original(self, draft, now)

        monkeypatch.setattr(TicketService, "insert_ticket", flaky)
        text = "\n".join(json.dumps(r) for r in RECORDS)
        result = cli("new", "--from", "-", input=text)
        assert result.exit_code == 1 and "internal error" in result.stderr
        assert cli.counts()["tickets"] == 0 and cli.counts()["outbox"] == 0

    @pytest.mark.parametrize(("args", "stdin", "needle"), [
        (["--from", "-"], "", "the input is empty"),
        (["--from", "-"], "   \n", "the input is empty"),
        (["--from", "-"], '[{"summary": "a"}, ', "not valid JSON"),
        (["--from", "-"], '[{"summary": "a"}] trailing', "unexpected text after"),
        (["--from", "-"], '"just a string"', "must be a JSON object"),
        (["--from", "/nonexistent/tickets.jsonl"], None, "no file at"),
        (["--from", "-", "--summary", "x"], "{}", "cannot be combined"),
    ])
    def test_bad_sources(self, cli, args, stdin, needle) -> None:
        before = cli.counts()
        result = cli("new", *args, input=stdin)
        assert result.exit_code == 2, result.stderr
        assert needle in result.stderr and result.stdout == ""
        assert "Traceback" not in result.output
        assert cli.counts() == before

    @pytest.mark.parametrize("layout", ["lines", "array", "pretty"])
    @pytest.mark.parametrize(("value", "needle"), [
        ("9" * 5000, "more than 4300 digits"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ], ids=["long-number", "deep-nesting"])
    def test_json_python_cannot_read_is_a_problem_of_its_record(
            self, cli, layout: str, value: str, needle: str) -> None:
        """Python's JSON reader refuses an integer of more than 4,300 digits (a guard
        against slow conversions) and runs out of stack on deep nesting: both are bad
        input on the record's line, exit 2, nothing written, not an internal error."""
        good, bad = '{"summary": "VPN drops"}', f'{{"summary": "x", "doing": {value}}}'
        text = {"lines": f"{good}\n{bad}\n",
                "array": f"[{good},\n{bad}]",
                "pretty": f'{{\n  "summary": "x",\n  "doing": {value}\n}}\n'}[layout]
        before = cli.counts()
        result = cli("new", "--from", "-", input=text)
        assert result.exit_code == 2, result.stderr
        line = 1 if layout == "pretty" else 2
        assert result.stderr.startswith(f"deskcli: error: <stdin>:{line}: "), result.stderr
        assert needle in result.stderr and "internal error" not in result.stderr
        assert len(result.stderr) < 500 and result.stdout == ""
        assert cli.counts() == before
