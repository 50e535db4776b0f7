"""Tags from the shell: ``set --tag/--untag``, ``queue --tag``, and tags in every output."""

from __future__ import annotations

import json
import sqlite3

import pytest

from helpers import make_desk


@pytest.fixture
def refs(cli) -> list[str]:
    return [cli.new(summary="ERP posting fails"), cli.new(summary="ERP slow"),
            cli.new(summary="Printer jam")]


def test_set_adds_and_removes_tags(cli, refs) -> None:
    result = cli.ok("set", refs[0], "--tag", "Outage,erp", "--untag", "vip")
    assert "tags erp outage" in result.stderr
    cli.ok("set", refs[0], "--untag", "erp")
    data = json.loads(cli.ok("show", refs[0], "--format", "json").stdout)
    assert data["tags"] == ["outage"]
    assert [e["summary"] for e in data["timeline"] if e["kind"] == "tags_changed"] == [
        "Tags: +outage +erp", "Tags: −erp"]
    assert "  Tags            outage" in cli.ok("show", refs[0]).stdout


def test_a_bad_tag_is_refused_and_writes_nothing(cli, refs) -> None:
    cli.refused(["set", refs[0], "--tag", "two words"], 2, "'two words' is not a tag",
                "one lower-case word")
    cli.refused(["set", refs[0], "--status", "open", "--tag", "ok", "--tag", "Ünï"], 2,
                "not a tag")
    cli.refused(["queue", "--tag", "a;b"], 2, "not a tag")
    cli.refused(["set", refs[0], "--tag", "vip", "--untag", "vip"], 2,
                "both added and removed")


def test_queue_filters_by_tag_and_shows_tags_in_every_format(cli, refs) -> None:
    cli.ok("set", refs[0], "--tag", "outage", "--tag", "erp")
    cli.ok("set", refs[1], "--tag", "outage")
    tsv = cli.ok("queue", "--tag", "outage", "--fields", "number,tags").stdout.splitlines()
    assert tsv == ["number\ttags", "1001\terp outage", "1002\toutage"]
    both = cli.ok("queue", "--tag", "outage,erp", "--format", "json").stdout
    assert [(t["number"], t["tags"]) for t in json.loads(both)] == [(1001, ["erp", "outage"])]
    jsonl = cli.ok("queue", "--format", "jsonl").stdout.splitlines()
    assert [json.loads(line)["tags"] for line in jsonl] == [["erp", "outage"], ["outage"], []]
    csv_out = cli.ok("queue", "--format", "csv", "--fields", "number,tags").stdout
    assert csv_out.splitlines()[1] == "1001,erp outage"
    table = cli.ok("queue", "--format", "table").stdout
    assert "Tags" in table and "erp outage" in table
    assert cli.ok("queue", "--tag", "nothing-here").stdout.strip() == "\t".join(
        ("number", "priority", "status", "sla_state", "time_left", "client", "caller",
         "assignee", "summary", "tags"))


def test_an_untagged_desk_keeps_its_table(cli, refs) -> None:
    assert "Tags" not in cli.ok("queue", "--format", "table").stdout


@pytest.mark.parametrize("filters", [{"open_only": True}, {"open_only": False},
                                     {"open_only": False, "priorities": ["P3"]}])
def test_tag_filter_uses_the_index(cli, refs, filters) -> None:
    """``queue --tag`` reads the (tag, ticket) key or the status index, never every
    ticket: the SQL the service runs is captured and explained."""
    with make_desk(cli.home, cli.clock) as desk:
        db: sqlite3.Connection = desk.store.db
        seen: list[str] = []
        db.set_trace_callback(seen.append)
        list(desk.tickets.queue(tags=["outage"], **filters))
        db.set_trace_callback(None)
        [sql] = [q for q in seen if "ticket_tags" in q]
        plan = " | ".join(str(row["detail"]) for row in db.execute("EXPLAIN QUERY PLAN " + sql))
    assert "ticket_tags USING PRIMARY KEY (tag=?)" in plan, plan
    assert "SCAN t" not in plan and "SCAN tickets" not in plan, plan
