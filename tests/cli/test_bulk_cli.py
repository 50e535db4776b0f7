"""Several tickets at once from the shell: multi-ref, stdin refs, --dry-run, --keep-going,
and all or nothing (row and outbox counts unchanged on refusal)."""

from __future__ import annotations

import json

import pytest

GOOD_RESOLUTION = "Restarted the ERP posting service on erp-app-02; see KB 4567"


@pytest.fixture
def refs(cli) -> list[str]:
    return [cli.new("--caller", f"Caller {n}", "--email", f"c{n}@acme.example",
                    "--client", "Acme", summary=f"ERP posting fails ({n})") for n in range(4)]


def _show(cli, ref: str) -> dict:
    return json.loads(cli.ok("show", ref, "--format", "json").stdout)


def test_single_ref_output_is_unchanged(cli, refs) -> None:
    result = cli.ok("set", refs[0], "--priority", "P2")
    assert result.stderr == "#1001 updated: priority P2\n" and result.stdout == ""
    assert cli.ok("note", refs[0], "--internal", "one").stderr == "#1001: internal note added\n"
    assert cli.ok("log-time", refs[0], "15m").stderr == "#1001: 15 min logged\n"


def test_several_refs_change_each_ticket(cli, refs) -> None:
    result = cli.ok("set", *refs[:3], "--priority", "P2", "--tag", "outage")
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "#1001: priority P3 → P2; tags +outage", "#1002: priority P3 → P2; tags +outage",
        "#1003: priority P3 → P2; tags +outage",
        "set priority → P2, +outage: 3 tickets changed"]
    assert [_show(cli, r)["priority"] for r in refs] == ["P2", "P2", "P2", "P3"]


def test_refs_from_stdin_with_comments_and_blank_lines(cli, refs) -> None:
    ids = cli.ok("queue", "--format", "ids").stdout
    assert ids.splitlines() == ["1001", "1002", "1003", "1004"]
    piped = "# the ERP outage\n\n" + "\n".join(ids.splitlines()[:2]) + "  # first two\n"
    cli.ok("note", "-", "Fixed at 10:40, please retry", input=piped)
    for ref, expected in zip(refs, (True, True, False, False), strict=True):
        replies = [e for e in _show(cli, ref)["timeline"] if e["kind"] == "public_reply"]
        assert bool(replies) is expected
        if expected:
            assert replies[0]["note"] == "Fixed at 10:40, please retry"


def test_queue_ids_pipes_into_a_bulk_command(cli, refs) -> None:
    cli.ok("set", refs[1], refs[3], "--tag", "erp")
    ids = cli.ok("queue", "--tag", "erp", "--format", "ids").stdout
    assert ids == "1002\n1004\n"
    cli.ok("set", "-", "--assignee", "dana", input=ids)
    assert [_show(cli, r)["assignee"] for r in refs] == [None, "dana", None, "dana"]
    cli.refused(["queue", "--format", "ids", "--fields", "summary"], 2, "leave out --fields")


def test_dry_run_prints_the_preview_and_writes_nothing(cli, refs) -> None:
    before = cli.counts()
    result = cli("set", *refs, "9999", "--priority", "P1", "--dry-run")
    assert result.exit_code == 2
    assert result.stdout.splitlines() == [
        "set priority → P1: 4 tickets would change, 1 refused",
        "no ticket #9999 in this store",
        *(f"#{1001 + n}: priority P3 → P1" for n in range(4))]
    assert result.stderr == "deskcli: error: no ticket #9999 in this store\n"
    assert cli.counts() == before
    clean = cli("close", *refs[:2], "--dry-run")
    assert clean.exit_code == 2 and "cannot close #1001" in clean.stdout
    assert cli.ok("set", refs[0], "--priority", "P1", "--dry-run").stdout.splitlines() == [
        "set priority → P1: 1 ticket would change", "#1001: priority P3 → P1"]
    assert cli.counts() == before


def test_all_or_nothing_by_default(cli, refs) -> None:
    cli.settle(refs[2])
    cli.ok("resolve", refs[2], "--root-cause", "posting service hung", "--resolution",
           GOOD_RESOLUTION)
    before = cli.counts()
    result = cli("set", *refs, "--status", "pending-caller")
    assert result.exit_code == 2 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith("deskcli: error: #1003: cannot move a resolved ticket")
    assert lines[-1] == ("deskcli: error: nothing was written: 1 of 4 tickets refused (fix "
                         "them, or use --keep-going to change the others)")
    assert cli.counts() == before, "row and outbox counts unchanged"
    # A public update on a refused batch queues no message either.
    public = cli("note", *refs, "9999", "Fixed, please retry")
    assert public.exit_code == 2 and cli.counts() == before


def test_keep_going_applies_what_can_and_exits_1(cli, refs) -> None:
    cli.settle(refs[2])
    cli.ok("resolve", refs[2], "--root-cause", "posting service hung", "--resolution",
           GOOD_RESOLUTION)
    result = cli("set", *refs, "--status", "pending-caller", "--keep-going")
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("deskcli:")]
    assert len(errors) == 1 and "#1003" in errors[0]
    assert [_show(cli, r)["status"] for r in refs] == [
        "pending-caller", "pending-caller", "resolved", "pending-caller"]


def test_bad_references_are_named_and_nothing_is_written(cli, refs) -> None:
    cli.refused(["set", refs[0], "bogus", "#x1", "--priority", "P1"], 2,
                "not ticket references: 'bogus', '#x1'")
    cli.refused(["note", "-", "text"], 2, "no tickets named", input="\n# nothing\n")
    cli.refused(["set", *refs, "--summary", "same for all"], 2,
                "cannot set 'summary' on several tickets")
    cli.refused(["resolve", *refs, "--root-cause", "x", "--resolution", "fixed"], 2,
                "too vague")


def test_every_changing_command_takes_several_refs(cli, refs, tmp_path) -> None:
    two = refs[:2]
    cli.ok("log-time", *two, "10m")
    cli.ok("step", *two, "test_with_user", "--skip", "caller unreachable")
    cli.ok("escalate", *two, "--queue", "erp", "--repro", "post an invoice", "--tried",
           "restart client", "--impact", "finance blocked", "--error", "E42")
    (tmp_path / "log.txt").write_text("posting log")
    cli.ok("attach", *two, str(tmp_path / "log.txt"))
    for ref in two:
        data = _show(cli, ref)
        assert data["status"] == "escalated" and data["minutes_logged"] == 10
        assert [a["filename"] for a in data["attachments"]] == ["log.txt"]
    for ref in two:
        cli.settle(ref)
    cli.ok("resolve", *two, "--root-cause", "posting service hung", "--resolution",
           GOOD_RESOLUTION)
    cli.ok("close", *two)
    cli.ok("reopen", *two, "--reason", "came back after the restart")
    assert {_show(cli, r)["status"] for r in two} == {"open"}


def test_link_parent_children_and_resolve_with_children(cli, refs) -> None:
    parent, *kids = refs
    cli.ok("link", *kids, "--parent", parent)
    data = _show(cli, parent)
    assert [c["ref"] for c in data["children"]] == ["#1002", "#1003", "#1004"]
    assert _show(cli, kids[0])["parent"]["ref"] == "#1001"
    assert "Children (3):" in cli.ok("show", parent).stdout
    for ref in refs:
        cli.settle(ref)
    # In a script, no prompt: the parent alone, and a hint naming the open children.
    alone = cli.ok("resolve", parent, "--root-cause", "posting service hung",
                   "--resolution", GOOD_RESOLUTION)
    assert "3 open children left open: #1002, #1003, #1004" in alone.stderr
    cli.ok("reopen", parent, "--reason", "children too")
    both = cli.ok("resolve", parent, "--children", "--root-cause", "posting service hung",
                  "--resolution", GOOD_RESOLUTION)
    assert "and its 3 children" in both.stderr
    assert {_show(cli, r)["status"] for r in refs} == {"resolved"}
    assert _show(cli, kids[1])["resolution"] == GOOD_RESOLUTION


def test_merge_closes_the_duplicate_and_shows_it_under_the_target(cli, refs) -> None:
    target, dup = refs[0], refs[1]
    cli.ok("note", dup, "--internal", "seen on the duplicate")
    cli.ok("log-time", dup, "5m")
    result = cli.ok("merge", dup, "--into", target)
    assert result.stderr == "#1002: merged into #1001 and closed\n"
    gone = _show(cli, dup)
    assert gone["status"] == "closed" and gone["merged_into"]["ref"] == "#1001"
    data = _show(cli, target)
    assert [d["ref"] for d in data["merged"]] == ["#1002"]
    notes = [e for e in data["timeline"] if e.get("from") == "#1002"
             and e["kind"] == "internal_note"]
    assert notes[0]["note"] == "seen on the duplicate"
    assert [t["from"] for t in data["time_entries"]] == ["#1002"]
    assert "Also from       c1@acme.example" in cli.ok("show", target).stdout
    cli.refused(["merge", refs[2], "--into", dup], 2, "was itself merged")
    other = cli.new("--client", "Globex", summary="Globex ERP")
    cli.refused(["merge", other, "--into", target], 2, "different clients")
