"""What a short command does before its own work: only what it needs.

Speed itself is measured in benchmarks/bench_cli.py (ratios against floors); these tests
pin the behaviour that keeps it fast: Tab completion of the command names imports no
command module and opens no store, ``queue`` neither parses the checklists nor builds the
ticket service, and settings sections a command does not use are not imported.
"""

from __future__ import annotations

import inspect
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from deskcli.cli.main import COMMANDS, SUMMARIES, load_command

#: Runs deskcli's entry point in a fresh interpreter, then prints the deskcli modules it
#: imported (stdout carries the command's own output first).
PROBE = """
import json, runpy, sys
sys.argv = ["deskcli", *sys.argv[1:]]
try:
    runpy.run_module("deskcli", run_name="__main__")
except SystemExit:
    pass
sys.stdout.write("\\nMODULES " + json.dumps(sorted(m for m in sys.modules
                                                  if m.startswith("deskcli"))) + "\\n")
"""


def probe(home: Path, *args: str, **env: str) -> tuple[str, set[str]]:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True,
                          text=True, timeout=60, check=False,
                          env={**os.environ, "DESKCLI_HOME": str(home),
                               "DESKCLI_TECH": "sam", **env})
    out, _, modules = done.stdout.rpartition("\nMODULES ")
    assert modules, done.stderr
    return out, set(json.loads(modules))


def test_completion_summaries_are_the_commands_own_help() -> None:
    assert list(SUMMARIES) == list(COMMANDS)
    for name in COMMANDS:
        help_text = inspect.cleandoc(load_command(name).help or "")
        assert SUMMARIES[name] == help_text.split("\n\n")[0].replace("\n", " "), name


@pytest.mark.subprocess
def test_completing_command_names_loads_no_command_and_opens_no_store(tmp_path: Path) -> None:
    out, modules = probe(tmp_path, _DESKCLI_COMPLETE="complete_bash",
                         COMP_WORDS="deskcli ", COMP_CWORD="1")
    assert out.split() == list(COMMANDS)
    loaded = {f"deskcli.cli.{module}" for module, _ in COMMANDS.values()} & modules
    assert not loaded, f"completion imported {sorted(loaded)}"
    assert "deskcli.services.desk" not in modules
    assert not any(tmp_path.iterdir()), "completion created files in DESKCLI_HOME"


@pytest.mark.subprocess
def test_completion_with_help_text_names_the_command(tmp_path: Path) -> None:
    out, _ = probe(tmp_path, _DESKCLI_COMPLETE="complete_zsh",
                   _TYPER_COMPLETE_ARGS="deskcli qu")
    assert '"queue":"List the open queue' in out


@pytest.mark.subprocess
def test_completing_an_option_value_opens_no_store(tmp_path: Path) -> None:
    out, modules = probe(tmp_path, _DESKCLI_COMPLETE="complete_bash",
                         COMP_WORDS="deskcli queue --priority ", COMP_CWORD="3")
    assert out.split() == ["P1", "P2", "P3", "P4"]
    assert not any(tmp_path.iterdir())


@pytest.mark.subprocess
def test_queue_builds_neither_checklists_nor_the_ticket_service(tmp_path: Path) -> None:
    out, modules = probe(tmp_path, "queue", "--format", "tsv")
    assert out.startswith("number\t")
    for heavy in ("deskcli.checklists", "deskcli.domain.checklist", "deskcli.services.tickets",
                  "deskcli.domain.engine", "deskcli.domain.notify", "deskcli.domain.mailboxes"):
        assert heavy not in modules, f"queue imported {heavy}"


@pytest.mark.subprocess
def test_a_config_section_given_is_still_checked_at_once(tmp_path: Path) -> None:
    """Lazy defaults only: a bad ``[notify]`` section still stops every command."""
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.toml").write_text('[notify]\nsurprise = 1\n')
    done = subprocess.run([sys.executable, "-m", "deskcli", "queue"], capture_output=True,
                          text=True, timeout=60, check=False,
                          env={**os.environ, "DESKCLI_HOME": str(tmp_path)})
    assert done.returncode == 1
    assert "surprise" in done.stderr


@pytest.mark.subprocess
def test_a_broken_team_checklist_is_reported_by_the_command_that_needs_it(
        tmp_path: Path) -> None:
    folder = tmp_path / "config" / "checklists"
    folder.mkdir(parents=True)
    (folder / "team.toml").write_text("key = [broken\n")
    env = {**os.environ, "DESKCLI_HOME": str(tmp_path), "DESKCLI_TECH": "sam"}
    listing = subprocess.run([sys.executable, "-m", "deskcli", "queue"], capture_output=True,
                             text=True, timeout=60, check=False, env=env)
    assert listing.returncode == 0, listing.stderr
    opening = subprocess.run([sys.executable, "-m", "deskcli", "new", "--summary", "x y z",
                              "--caller", "Ana"], capture_output=True, text=True,
                             timeout=60, check=False, env=env)
    assert opening.returncode == 1
    assert "team.toml" in opening.stderr and "not valid TOML" in opening.stderr


@pytest.mark.subprocess
def test_seven_digit_ticket_numbers_show_whole_in_the_table(tmp_path: Path) -> None:
    """At a million tickets the numbers have seven digits: never cut, even when narrow."""
    env = {**os.environ, "DESKCLI_HOME": str(tmp_path), "DESKCLI_TECH": "sam",
           "COLUMNS": "60"}
    for summary in ("Printer shows offline on floor 3", "VPN drops every ten minutes"):
        subprocess.run([sys.executable, "-m", "deskcli", "new", "--summary", summary,
                        "--caller", "Ana Chen"], env=env, check=True, capture_output=True)
    db = sqlite3.connect(tmp_path / "data" / "deskcli.db")
    db.execute("UPDATE tickets SET number = number + 1000000")
    db.commit()
    db.close()
    table = subprocess.run([sys.executable, "-m", "deskcli", "queue", "--format", "table"],
                           env=env, check=True, capture_output=True, text=True).stdout
    numbers = [line.split()[0] for line in table.splitlines()[1:]]
    assert len(numbers) == 2 and all(len(n) == 7 and n.isdigit() for n in numbers), table


#: What the short commands do not load (issue 20): ``dataclasses`` (with ``inspect``,
#: ``ast``, ``dis`` and ``tokenize`` behind it) and, after the first run has kept the
#: decoded built-in checklist beside the store, ``tomllib``.
NEVER_LOADED = ("dataclasses", "inspect", "ast", "dis", "tokenize", "tomllib")


def _probe_all(home: Path, *args: str) -> tuple[str, set[str]]:
    """``probe``, listing every module the run imported (not only deskcli's)."""
    code = PROBE.replace("import json, runpy, sys", "import runpy, sys").replace(
        'sys.stdout.write("\\nMODULES " + json.dumps(sorted(m for m in sys.modules\n'
        '                                                  if m.startswith("deskcli")))',
        'loaded = sorted(sys.modules)  # before json is imported to print them\n'
        'import json\nsys.stdout.write("\\nMODULES " + json.dumps(loaded)')
    assert "loaded = sorted" in code
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True,
                          text=True, timeout=60, check=False,
                          env={**os.environ, "DESKCLI_HOME": str(home), "DESKCLI_TECH": "sam"})
    out, _, modules = done.stdout.rpartition("\nMODULES ")
    assert modules, done.stderr
    return out, set(json.loads(modules))


@pytest.mark.subprocess
def test_short_commands_load_neither_dataclasses_nor_tomllib(tmp_path: Path) -> None:
    new = ["new", "--summary", "Printer offline", "--caller", "Ana Chen", "--priority", "P3"]
    first, loaded = _probe_all(tmp_path, *new)
    assert first.strip() == "1001"
    assert "tomllib" in loaded  # the first run decodes the built-in checklist
    cache = tmp_path / "data" / ".checklist-tier1.toml.marshal"
    assert cache.stat().st_mode & 0o777 == 0o600
    for command in (new, ["note", "1001", "checked the logs", "--internal"], ["show", "1001"],
                    ["queue", "--format", "tsv"], ["kb", "search", "printer"]):
        _, loaded = _probe_all(tmp_path, *command)
        leaked = sorted(set(NEVER_LOADED) & loaded)
        assert not leaked, f"{' '.join(command[:2])} loaded {leaked}"
    shown, _ = _probe_all(tmp_path, "show", "1002")  # the second new, from the cache
    assert "#1002  Printer offline" in shown and "Step done: Set the priority and SLA" in shown
    assert "checked the logs" in _probe_all(tmp_path, "show", "1001")[0]


@pytest.mark.subprocess
def test_queue_loads_only_the_store_rooms_it_reads_and_no_json(tmp_path: Path) -> None:
    _probe_all(tmp_path, "new", "--summary", "Printer offline", "--caller", "Ana Chen")
    out, modules = _probe_all(tmp_path, "queue", "--format", "tsv")
    assert out.startswith("number\t") and "Printer offline" in out
    for room in ("tickets", "contacts", "timeline", "attachments", "metrics", "sync_state"):
        assert f"deskcli.storage.{room}" not in modules, f"queue imported {room}"
    # TSV needs neither the JSON nor the CSV writer (the store writes JSON, but a read
    # writes nothing); kb search's table neither.
    assert not {"json", "csv"} & modules
    _, modules = _probe_all(tmp_path, "kb", "search", "printer")
    assert not {"json", "csv"} & modules
