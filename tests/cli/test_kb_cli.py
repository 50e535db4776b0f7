"""``deskcli kb``: the real Typer app on a real store; bad input is one line, exit 2,
nothing written."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from .conftest import Cli

ARTICLE = """+++
title = "Outlook cannot send: 0x800CCC0E"
tags = ["outlook", "smtp"]
errors = ["0x800CCC0E"]
products = ["Microsoft 365"]
+++

## Steps

1. Set the outgoing port to 587.
"""


def add(cli: Cli, *args: str, input: str | None = None) -> str:
    return cli.ok("kb", "add", *args, input=input).stdout.strip()


class TestAddShowSearch:
    def test_add_prints_an_id_that_show_and_search_accept(self, cli: Cli) -> None:
        handle = add(cli, "--title", "VPN drops hourly", "--errors", "Event ID 20227",
                     "--tags", "vpn")
        assert len(handle) == 8
        shown = json.loads(cli.ok("kb", "show", handle, "--format", "json").stdout)
        assert shown["title"] == "VPN drops hourly" and shown["errors"] == ["Event ID 20227"]
        assert shown["versions"][0]["changed"] == ["created"]
        hits = [json.loads(line) for line in cli.ok(
            "kb", "search", "event id 20227", "--format", "jsonl").stdout.splitlines()]
        assert [(h["kind"], h["ref"]) for h in hits] == [("article", handle)]
        assert "**Event ID 20227**" in hits[0]["snippet"]

    def test_search_lists_tickets_and_articles(self, cli: Cli) -> None:
        number = cli.new("--error", "0x800CCC0E when sending", summary="Mail stuck")
        cli.ok("resolve", number, "--root-cause", "ISP blocks port 25", "--resolution",
               "Changed the Outlook SMTP port to 587 with TLS")
        handle = add(cli, "--from", "-", input=ARTICLE)
        out = cli.ok("kb", "search", "0x800CCC0E", "--format", "tsv").stdout.splitlines()
        assert out[0].split("\t") == ["kind", "ref", "title", "score", "snippet", "at",
                                      "client"]
        kinds = {tuple(line.split("\t")[:2]) for line in out[1:]}
        assert kinds == {("ticket", f"#{number}"), ("article", handle)}

    def test_snippets_are_one_line_of_words(self, cli: Cli) -> None:
        """The article's ``## Steps`` heading is not echoed into a result's snippet."""
        add(cli, "--from", "-", input=ARTICLE)
        [hit] = [json.loads(line) for line in cli.ok(
            "kb", "search", "outgoing port", "--format", "jsonl").stdout.splitlines()]
        assert "**outgoing** **port**" in hit["snippet"]
        assert "#" not in hit["snippet"] and "\n" not in hit["snippet"]

    def test_body_from_stdin_and_markdown_show(self, cli: Cli) -> None:
        handle = add(cli, "--title", "Printer", "--body-file", "-", input="Restart spooler\n")
        assert "Restart spooler" in cli.ok("kb", "show", handle, "--format",
                                           "markdown").stdout

    @pytest.mark.parametrize(("args", "code", "needle"), [
        (("kb", "add"), 2, "needs a title"),
        (("kb", "add", "--title", " "), 2, "needs a title"),
        (("kb", "add", "--title", "x", "--client", "Nobody"), 2, "no client named"),
        (("kb", "add", "--title", "x", "--body-file", "/nope/file.md"), 2,
         "no file at '/nope/file.md': give a Markdown file"),
        (("kb", "search", "x", "--since", "ninety"), 2, "age 'ninety' not understood"),
        (("kb", "search", "x", "--kind", "note"), 2, "kind 'note' not known"),
        (("kb", "show", "zz"), 2, "not an article id"),
        (("kb", "show", "abc"), 2, "too short"),
        (("kb", "show", "abcdef12"), 1, "no article"),
        (("kb", "link", "9999", "abcdef12"), 1, "no ticket"),
    ])
    def test_bad_input(self, cli: Cli, args: tuple[str, ...], code: int,
                       needle: str) -> None:
        cli.refused(args, code, needle)

    def test_bad_front_matter_names_file_and_line(self, cli: Cli) -> None:
        bad = "+++\ntitle = \"x\"\ntags = [1, 2]\n+++\nbody\n"
        cli.refused(("kb", "add", "--from", "-"), 2, "<stdin>, line 3",
                    "'tags' must be a list of strings", input=bad)
        cli.refused(("kb", "add", "--from", "-"), 2, "<stdin>, line 2", "not valid TOML",
                    input="+++\ntitle = \n+++\n")
        cli.refused(("kb", "add", "--from", "-"), 2, "never closed", input="+++\ntitle='x'\n")
        cli.refused(("kb", "add", "--from", "-"), 2, "unknown front matter key 'owner'",
                    input="+++\ntitle='x'\nowner='me'\n+++\n")


class TestEditAndLink:
    def test_edit_with_options_saves_a_version(self, cli: Cli) -> None:
        handle = add(cli, "--title", "Old title")
        result = cli.ok("kb", "edit", handle, "--title", "New title", "--tags", "a,b")
        assert "title, tags changed" in result.stderr
        assert "nothing saved" in cli.ok("kb", "edit", handle, "--title", "New title").stderr
        shown = json.loads(cli.ok("kb", "show", handle, "--format", "json").stdout)
        assert [v["changed"] for v in shown["versions"]] == [["created"], ["title", "tags"]]

    def test_edit_in_editor(self, cli: Cli, tmp_path: Path,
                            monkeypatch: pytest.MonkeyPatch) -> None:
        handle = add(cli, "--title", "Typo titel", "--body-file", "-", input="Body\n")
        script = tmp_path / "fake_editor.py"
        script.write_text("import sys, pathlib\np = pathlib.Path(sys.argv[1])\n"
                          "p.write_text(p.read_text().replace('titel', 'title'))\n")
        monkeypatch.setenv("VISUAL", f"{sys.executable} {script}")
        assert "title changed" in cli.ok("kb", "edit", handle).stderr
        assert cli.ok("kb", "show", handle, "--format", "json").stdout.count("Typo title")

    def test_editor_leaving_bad_front_matter_saves_nothing(
            self, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        handle = add(cli, "--title", "Keep me")
        script = tmp_path / "breaker.py"
        script.write_text("import sys, pathlib\npathlib.Path(sys.argv[1]).write_text("
                          "'+++\\ntitle = = 1\\n+++\\n')\n")
        monkeypatch.setenv("VISUAL", f"{sys.executable} {script}")
        cli.refused(("kb", "edit", handle), 2, "line 2", "your text is kept in")

    def test_link_once(self, cli: Cli) -> None:
        number = cli.new()
        handle = add(cli, "--title", "Runbook")
        assert "linked" in cli.ok("kb", "link", number, handle).stderr
        assert "already linked" in cli.ok("kb", "link", number, handle).stderr
        shown = json.loads(cli.ok("kb", "show", handle, "--format", "json").stdout)
        assert [link["ticket"] for link in shown["links"]] == [f"#{number}"]


class TestImportExport:
    def test_round_trip(self, cli: Cli, tmp_path: Path) -> None:
        add(cli, "--from", "-", input=ARTICLE)
        add(cli, "--title", "Second", "--tags", "x")
        out = tmp_path / "out"
        assert len(cli.ok("kb", "export", str(out)).stdout.splitlines()) == 2
        result = cli.ok("kb", "import", str(out))
        assert "0 new, 0 updated, 2 unchanged" in result.stderr
        (out / "extra.md").write_text("# Hudu page\n\nSome steps\n")
        assert "1 new" in cli.ok("kb", "import", str(out)).stderr

    def test_one_bad_file_and_nothing_is_written(self, cli: Cli, tmp_path: Path) -> None:
        folder = tmp_path / "in"
        folder.mkdir()
        (folder / "a.md").write_text("# Good article\nbody\n")
        (folder / "b.md").write_text("+++\ntitle = \"ok\"\nerrors = \"x\"\nbad line\n+++\n")
        cli.refused(("kb", "import", str(folder)), 2, "b.md, line 4")
        (folder / "b.md").write_text("no heading here\n")
        cli.refused(("kb", "import", str(folder)), 2, "b.md, line 1", "no title")
        cli.refused(("kb", "import", str(tmp_path / "missing")), 2, "not a folder")

    def test_yaml_front_matter_other_endings_and_every_skipped_file_named(
            self, cli: Cli, tmp_path: Path) -> None:
        folder = tmp_path / "vault"
        (folder / "sub").mkdir(parents=True)
        (folder / ".obsidian").mkdir()
        (folder / "hugo.markdown").write_text(
            "---\ntitle: VPN drops every hour\ndate: 2024-03-01\ndraft: false\n"
            "tags: [vpn, 2024]\nproducts:\n  - GlobalProtect\n---\n\nRenew the lease.\n")
        (folder / "sub" / "UPPER.MD").write_text("# Printer jams\n\nOpen tray 2.\n")
        (folder / "notes.txt").write_text("not an article\n")
        (folder / ".obsidian" / "app.json").write_text("{}\n")
        result = cli.ok("kb", "import", str(folder))
        assert "2 new" in result.stderr
        assert f"skipped {folder / 'notes.txt'}: not a Markdown file" in result.stderr
        assert f"skipped {folder / '.obsidian' / 'app.json'}: hidden" in result.stderr
        hits = json.loads(cli.ok("kb", "search", "lease", "--format", "json").stdout)
        shown = json.loads(cli.ok("kb", "show", hits[0]["ref"], "--format", "json").stdout)
        assert shown["title"] == "VPN drops every hour"
        assert shown["tags"] == ["vpn", "2024"] and shown["products"] == ["GlobalProtect"]

    def test_bad_yaml_names_the_line(self, cli: Cli, tmp_path: Path) -> None:
        folder = tmp_path / "in"
        folder.mkdir()
        (folder / "a.md").write_text("---\ntitle: ok\ntags: [a, b\n---\nbody\n")
        cli.refused(("kb", "import", str(folder)), 2, "a.md, line", "not valid YAML")

    def test_a_comma_inside_a_list_item_is_refused_not_split(
            self, cli: Cli, tmp_path: Path) -> None:
        folder = tmp_path / "in"
        folder.mkdir()
        (folder / "a.md").write_text(
            '+++\ntitle = "VDI"\nproducts = ["Acme, Inc. VDI"]\n+++\nbody\n')
        cli.refused(("kb", "import", str(folder)), 2, "'Acme, Inc. VDI' contains a comma")

    def test_export_import_is_lossless_for_what_the_store_holds(
            self, cli: Cli, tmp_path: Path) -> None:
        """Titles with quotes, backslashes and a DEL written by an older version."""
        handle = add(cli, "--title", 'Quote " and back\\slash', "--products",
                     "Acme Inc. VDI,Citrix", "--tags", "vdi")
        from helpers import make_desk

        with make_desk(cli.home, cli.clock) as desk, desk.store.transaction():
            desk.store.db.execute("UPDATE kb_articles SET title = title || ' \x7f end'")
        out = tmp_path / "out"
        cli.ok("kb", "export", str(out))
        [path] = list(out.iterdir())
        import tomllib

        front = path.read_text().split("+++")[1]
        assert tomllib.loads(front)["title"] == 'Quote " and back\\slash \x7f end'
        before = json.loads(cli.ok("kb", "show", handle, "--format", "json").stdout)
        assert before["products"] == ["Acme Inc. VDI", "Citrix"]


class TestRepeatsInShow:
    def test_show_says_seen_before_with_the_latest_fix(self, cli: Cli) -> None:
        for fix in ("Changed the Outlook SMTP port to 587 with TLS",
                    "Reset the Outlook SMTP port to 587 and cleared the outbox"):
            number = cli.new("--error", "0x800CCC0E on send", summary="Mail stuck")
            cli.ok("resolve", number, "--root-cause", "ISP blocks port 25",
                   "--resolution", fix)
            cli.clock.advance(days=1)
        fresh = cli.new("--error", "Sending reported error (0x800CCC0E)")
        text = cli.ok("show", fresh).stdout
        assert "Seen 2 times before (0x800CCC0E)" in text and "cleared the outbox" in text
        document = json.loads(cli.ok("show", fresh, "--format", "json").stdout)
        assert document["seen_before"]["count"] == 2
        quiet = cli.new("--error", "0x11112222")
        assert "Seen" not in cli.ok("show", quiet).stdout
