"""The short commands' fast path (``cli/launch.py``) reads a command line exactly as Typer
does, or leaves it to Typer.

Three kinds of check: its option table against Typer's own declarations (a new option
added to a command without the table would otherwise be refused or misread); the
values both paths hand to the command's work, for a corpus of command lines; and whole
runs on a store, where output, messages, exit codes and the rows written must be the
same whichever path ran.
"""

from __future__ import annotations

import enum
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from deskcli.cli import launch, quick
from deskcli.cli.main import load_command


def _typer_command(name: str) -> Any:
    if name == "kb search":
        return load_command("kb").commands["search"]
    return load_command(name)


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple):
        return list(value) or None
    return value


@pytest.mark.parametrize("name", list(launch.FAST))
def test_the_option_table_is_the_typer_declaration(name: str) -> None:
    spec = launch.FAST[name]
    command = _typer_command(name)
    spellings: dict[str, tuple[Any, ...]] = {}
    arguments = []
    for param in command.params:
        if param.param_type_name == "argument":
            arguments.append(param.name + ("..." if param.nargs == -1 else ""))
            continue
        type_name = type(param.type).__name__
        if param.is_flag:
            kind: tuple[Any, ...] = (launch.FLAG,)
        elif param.multiple:
            kind = (launch.MANY,)
        elif type_name == "IntRange":
            assert (param.type.min, param.type.max, param.type.min_open) == (1, None, False)
            kind = (launch.INT1,)
        elif type_name == "IntParamType":
            kind = (launch.INT,)
        elif type_name in ("Choice", "TyperChoice"):
            offered = tuple(str(_plain(choice)) for choice in param.type.choices)
            [enum_kind] = [k for k, choices in launch.CHOICES.items()
                           if choices == offered and spec["options"][param.opts[0]][1] == k]
            assert not param.type.case_sensitive
            kind = (enum_kind,)
        else:
            assert type_name == "StringParamType", (name, param.name, type_name)
            kind = (launch.STR,)
        assert param.envvar is None and not param.count and param.nargs == 1
        for opt in param.opts:
            spellings[opt] = (param.name, *kind, *((True,) if param.is_flag else ()))
        for opt in param.secondary_opts:
            spellings[opt] = (param.name, *kind, False)
        assert spec["defaults"][param.name] == _plain(param.default), (name, param.name)
    # In declaration order too: completion offers them in this order, as Typer does.
    assert list(spellings.items()) == list(spec["options"].items())
    assert tuple(arguments) == spec["arguments"]


#: Command lines both paths must read the same way.
CORPUS = [
    ["queue"],
    ["queue", "--format", "tsv"],
    ["queue", "-f", "JSON", "--all", "-n", "3"],
    ["queue", "--limit=2", "--format=csv", "--csv-safe", "--no-header"],
    ["queue", "--status", "open,new", "-s", "escalated", "-p", "P1", "--priority", "P2"],
    ["queue", "--type", "incident", "-t", "request", "--tag", "outage", "--tag", "vip"],
    ["queue", "--client", "Acme", "--assignee", "dana", "--fields", "number,summary"],
    ["queue", "--mine", "--at-risk", "--breached", "--header", "--no-header", "--header"],
    ["queue", "-n", "5", "-n", "0007", "--format", "ids"],
    ["queue", "--client", "A", "--client", "B"],
    ["show", "1"],
    ["show", "#1", "--format", "json"],
    ["show", "-f", "Text", "1"],
    ["note", "1", "checked the logs"],
    ["note", "1", "checked the logs", "--internal"],
    ["note", "-i", "#1", "checked"],
    ["note", "1", "--template", "remote"],
    ["note", "--template=remote", "1"],
    ["new", "--summary", "Printer offline", "--caller", "Ana Chen", "--email",
     "ana@example.com", "--priority", "P3"],
    ["new", "--summary", "VPN drops", "--type", "request", "--users-affected", "3",
     "--format", "json", "--channel", "email", "--verified", "callback"],
    ["new", "--summary=x", "--doing", "work", "--error", "0x1", "--asset", "L-1",
     "--category", "net", "--assignee", "sam", "--client", "Acme", "--phone", "1",
     "--verbatim", "it broke", "-f", "jsonl"],
    ["kb", "search", "0x8004010F outlook"],
    ["kb", "search", "outlook", "--client", "Acme", "--tag", "mail", "--since", "90d",
     "--kind", "article", "-n", "5", "--format", "json", "--no-header", "--csv-safe"],
    ["kb", "search", "--limit", "0", "printer"],
]

#: Work functions, and the values each receives, by name.
WORK = ("queue", "show", "kb_search", "note_one", "new_one")


def _recording(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    calls: list[tuple[str, Any]] = []
    for name in WORK:
        def record(*args: Any, _name: str = name, **kwargs: Any) -> None:
            calls.append((_name, [_plain(a) for a in args],
                          {k: _plain(v) for k, v in kwargs.items()}))
        monkeypatch.setattr(quick, name, record)
    return calls


@pytest.mark.parametrize("argv", CORPUS, ids=" ".join)
def test_both_paths_hand_the_work_the_same_values(argv: list[str], cli: Any,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _recording(monkeypatch)
    assert launch.fast(argv) == 0
    by_fast = list(calls)
    calls.clear()
    cli.ok(*argv)
    assert by_fast == calls and len(calls) == 1


@pytest.mark.parametrize("argv", [
    [], ["--help"], ["--color", "never", "queue"], ["queue", "--help"], ["queue", "-h"],
    ["queue", "--lim", "5"], ["queue", "-n", "0"], ["queue", "-n", "x"], ["queue", "-n5"],
    ["queue", "-n", "-1"], ["queue", "--format", "xml"], ["queue", "--client"],
    ["queue", "--mine=yes"], ["queue", "--", "x"], ["queue", "extra"],
    ["queue", "--client", "-x"], ["show"], ["show", "1", "2"], ["show", "-5"],
    ["note", "-ia", "1", "x"], ["note"], ["kb"], ["kb", "show", "abcd"], ["kb", "search"],
    ["kb", "search", "--limit", "+3", "x"], ["set", "1", "--priority", "P1"],
    ["new", "--summary"], ["queue", "--format", "TSV", "--fields"],
])
def test_command_lines_it_is_not_sure_of_go_to_typer(argv: list[str]) -> None:
    assert launch.parse(argv) is None


@pytest.mark.parametrize("argv", [
    ["new", "--from", "tickets.jsonl"], ["new", "--summary", "x", "--keep-going"],
    ["note", "1", "2", "text"], ["note", "-", "text"], ["note", "1", "text", "--dry-run"],
    ["note", "1", "text", "--keep-going"], ["note", "1", "2", "--template", "remote"],
    ["note", "1"], ["note", "1", "text", "--template", "remote"],
])
def test_bulk_and_refused_shapes_go_to_typer(argv: list[str]) -> None:
    parsed = launch.parse(argv)
    assert parsed is not None and launch._work(*parsed) is None


def test_completion_is_left_to_typer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_DESKCLI_COMPLETE", "complete_bash")
    assert launch.fast(["queue"]) is None


def _fast_run(argv: list[str], capsys: pytest.CaptureFixture[str]
              ) -> tuple[int | None, str, str]:
    code = launch.fast(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("argv", [
    ["queue"], ["queue", "--format", "json"], ["queue", "--all", "-f", "csv"],
    ["queue", "--format", "ids"], ["queue", "--format", "table"],
    ["queue", "--status", "nonsense"], ["queue", "--fields", "number,bogus"],
    ["queue", "--mine", "--assignee", "sam"], ["queue", "--format", "ids", "--fields", "id"],
    ["queue", "--format", "tsv", "--csv-safe"], ["queue", "--tag", "Bad Tag!"],
    ["show", "1"], ["show", "1", "-f", "json"], ["show", "999"], ["show", "#nope"],
    ["kb", "search", "printer"], ["kb", "search", "printer", "--since", "6m"],
    ["kb", "search", "zzzz-nothing"], ["kb", "search", "printer", "--kind", "weird"],
    ["new", "--priority", "P3"], ["new", "--summary", "x", "--priority", "P9"],
    ["note", "999", "hello"], ["note", "1", "--template", "no-such-snippet"],
])
def test_whole_runs_match_the_typer_path(argv: list[str], cli: Any,
                                         capsys: pytest.CaptureFixture[str],
                                         isolated_home: Path) -> None:
    """Read-only or refused commands: the same stdout, stderr and exit code."""
    first = cli.new("--caller", "Ana Chen", "--client", "Acme", "--priority", "P2",
                    summary="Printer on the 3rd floor shows offline")
    cli.new("--priority", "P1", summary="VPN drops every few minutes")
    argv = [first if word == "1" else word for word in argv]
    before = cli.counts()
    capsys.readouterr()
    code, out, err = _fast_run(argv, capsys)
    typer_result = cli(*argv)
    assert (code, out, err) == (typer_result.exit_code, typer_result.stdout,
                                typer_result.stderr)
    assert cli.counts() == before


@pytest.mark.parametrize("argv", [
    ["note", "1", "checked the logs", "--internal"], ["note", "1", "Rebooting now"],
    ["new", "--summary", "Printer offline", "--caller", "Ana Chen", "--priority", "P3"],
    ["new", "--summary", "Mail bounces", "--format", "json"],
])
def test_writes_match_the_typer_path(argv: list[str], cli: Any,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    """The same change made by each path: the same messages, the same output (for
    ``new``, the next number), the same rows added."""
    # Two identical tickets: the fast path changes the first, Typer's the second.
    first, second = (cli.new("--caller", "Ana Chen", summary="Outlook keeps asking")
                     for _ in range(2))
    capsys.readouterr()
    before = cli.counts()
    code, out, err = _fast_run([first if word == "1" else word for word in argv], capsys)
    after_fast = cli.counts()
    typer_result = cli(*[second if word == "1" else word for word in argv])
    after_typer = cli.counts()
    typer_err = typer_result.stderr.replace(f"#{second}", f"#{first}")
    assert code == typer_result.exit_code == 0, (err, typer_result.stderr)
    assert err == typer_err
    if argv[0] == "new" and "--format" not in argv:  # the next number, then the one after
        assert int(typer_result.stdout) == int(out) + 1
    elif argv[0] == "new":
        fast_doc, typer_doc = json.loads(out), json.loads(typer_result.stdout)
        assert fast_doc.keys() == typer_doc.keys()
        assert typer_doc["number"] == fast_doc["number"] + 1
    else:
        assert out == typer_result.stdout
    assert {t: after_fast[t] - before[t] for t in before} == {
        t: after_typer[t] - after_fast[t] for t in before}


@pytest.mark.subprocess
@pytest.mark.parametrize("args", [
    ["queue", "--format", "tsv"], ["show", "1"], ["note", "1", "checked", "--internal"],
    ["new", "--summary", "Printer offline", "--caller", "Ana Chen"],
    ["kb", "search", "printer"],
])
def test_short_commands_start_without_typer_click_or_rich(isolated_home: Path,
                                                          args: list[str]) -> None:
    """Through the real entry point (``python -m deskcli``), in a fresh interpreter."""
    first = subprocess.run([sys.executable, "-m", "deskcli", "new", "--summary",
                            "A first ticket"], check=True, capture_output=True, text=True,
                           timeout=60).stdout.strip()
    args = [first if word == "1" else word for word in args]
    probe = (
        "import runpy, sys\n"
        f"sys.argv = ['deskcli', *{args!r}]\n"
        "try:\n    runpy.run_module('deskcli', run_name='__main__')\n"
        "except SystemExit as exit:\n    assert not exit.code, exit.code\n"
        "loaded = sorted({m.split('.')[0] for m in sys.modules} & {'typer', 'click', 'rich'})\n"
        "print('LOADED', ' '.join(loaded), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[-1].strip() == "LOADED", done.stderr


@pytest.mark.parametrize("words", ["deskcli ", "deskcli q", "deskcli s", "deskcli re",
                                   "deskcli zz", "deskcli log-", "/usr/bin/deskcli n"])
def test_completing_a_command_name_matches_typer(words: str) -> None:
    from typer.testing import CliRunner

    from deskcli.cli.main import app

    environ = {"_DESKCLI_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": "1"}
    typer_result = CliRunner().invoke(app, [], env=environ, prog_name="deskcli")
    assert typer_result.exit_code == 0
    assert launch.complete_bash(environ) == typer_result.stdout


@pytest.mark.parametrize("command", list(launch.FAST))
@pytest.mark.parametrize("incomplete", ["-", "--", "--s", "-f", "--no", "--h", "-h", "--x"])
def test_completing_a_short_commands_options_matches_typer(command: str,
                                                          incomplete: str) -> None:
    from typer.testing import CliRunner

    from deskcli.cli.main import app

    words = f"deskcli {command} {incomplete}"
    cword = str(len(words.split()) - 1)
    environ = {"_DESKCLI_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": cword}
    typer_result = CliRunner().invoke(app, [], env=environ, prog_name="deskcli")
    assert typer_result.exit_code == 0
    assert _help_names_unordered(launch.complete_bash(environ)) == \
        _help_names_unordered(typer_result.stdout)


def _help_names_unordered(candidates: str | None) -> list[str]:
    """Click lists the help option's two names in an order that follows the process's
    string hashing (``PYTHONHASHSEED``), so either order is Typer's answer: compare them
    as one group, in place, and everything else in order."""
    lines = (candidates or "").splitlines()
    help_names = {"-h", "--help"}
    at = [i for i, line in enumerate(lines) if line in help_names]
    if at and at == list(range(at[0], at[0] + len(at))):
        lines[at[0]:at[-1] + 1] = ["|".join(sorted(lines[i] for i in at))]
    return lines


@pytest.mark.parametrize("environ", [
    {"_DESKCLI_COMPLETE": "complete_bash", "COMP_WORDS": "deskcli queue --mine --",
     "COMP_CWORD": "3"},
    {"_DESKCLI_COMPLETE": "complete_bash", "COMP_WORDS": "deskcli queue --format ",
     "COMP_CWORD": "3"},
    {"_DESKCLI_COMPLETE": "complete_bash", "COMP_WORDS": "deskcli set --",
     "COMP_CWORD": "2"},
    {"_DESKCLI_COMPLETE": "complete_bash", "COMP_WORDS": "deskcli queue --limit=",
     "COMP_CWORD": "2"},
    {"_DESKCLI_COMPLETE": "complete_bash", "COMP_WORDS": "deskcli queue -- x",
     "COMP_CWORD": "2"},
    {"_DESKCLI_COMPLETE": "complete_zsh", "COMP_WORDS": "deskcli ", "COMP_CWORD": "1"},
    {"_DESKCLI_COMPLETE": "source_bash"},
    {"_DESKCLI_COMPLETE": "complete_bash", "COMP_WORDS": "deskcli --", "COMP_CWORD": "1"},
    {"_DESKCLI_COMPLETE": "complete_bash", "COMP_WORDS": "deskcli 'q", "COMP_CWORD": "1"},
    {"_DESKCLI_COMPLETE": "complete_bash", "COMP_WORDS": "deskcli ="},
])
def test_other_completions_are_left_to_typer(environ: dict[str, str]) -> None:
    assert launch.complete_bash(environ) is None
