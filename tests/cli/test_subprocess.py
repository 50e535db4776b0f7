"""The real ``deskcli`` entry point in child processes, piped into real shell tools."""

from __future__ import annotations

import csv
import io
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.subprocess

HEAVY = ("textual", "fastapi", "httpx", "sqlalchemy", "sqlmodel", "pydantic", "rich",
         "uvicorn", "alembic")


def deskcli() -> list[str]:
    script = Path(sys.executable).with_name("deskcli")
    return [str(script)] if script.exists() else [sys.executable, "-m", "deskcli"]


DESKCLI = " ".join(shlex.quote(part) for part in deskcli())


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*deskcli(), *args], input=stdin, capture_output=True, text=True,
                          timeout=60, check=False)


def sh(script: str) -> subprocess.CompletedProcess[str]:
    """A bash pipeline; ``deskcli`` in the script is the entry point under test."""
    return subprocess.run(["bash", "-o", "pipefail", "-c", f"deskcli() {{ {DESKCLI} \"$@\"; }}"
                           f"\n{script}"], capture_output=True, text=True, timeout=60,
                          check=False)


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("demo-home")
    env = {**os.environ, "DESKCLI_HOME": str(home), "DESKCLI_TECH": "sam"}
    done = subprocess.run([*deskcli(), "demo", "--tickets", "600"], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return home


@pytest.fixture
def home(demo_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DESKCLI_HOME", str(demo_home))
    monkeypatch.setenv("DESKCLI_TECH", "sam")
    return demo_home


def test_queue_pipes_into_cut_sort_and_wc(home: Path) -> None:
    count = len(json.loads(run("queue", "--format", "json").stdout))
    assert count > 50
    done = sh("deskcli queue | tail -n +2 | cut -f1 | sort -n | uniq | wc -l")
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) == count
    priorities = sh("deskcli queue --fields priority --no-header | sort | uniq -c")
    assert {line.split()[1] for line in priorities.stdout.splitlines()} <= {"P1", "P2", "P3",
                                                                            "P4"}


def test_tsv_is_the_default_when_piped_and_has_no_colour(home: Path) -> None:
    done = run("queue", "--limit", "3")
    assert done.stdout.splitlines()[0].startswith("number\tpriority\tstatus\tsla_state")
    assert "\x1b[" not in done.stdout and done.stderr == ""


def test_sorting_on_a_column(home: Path) -> None:
    done = sh("deskcli queue --fields number,priority --no-header | sort -t $'\\t' -k2,2 "
              "-k1,1n | head -n 1")
    assert done.returncode == 0 and done.stdout.split("\t")[1].strip() == "P1"


def test_csv_json_and_jsonl_parse_with_the_standard_library(home: Path) -> None:
    rows = list(csv.DictReader(io.StringIO(run("queue", "--format", "csv").stdout)))
    array = json.loads(run("queue", "--format", "json").stdout)
    lines = [json.loads(line) for line in run("queue", "--format", "jsonl").stdout.splitlines()]
    assert [int(r["number"]) for r in rows] == [t["number"] for t in array] == [
        t["number"] for t in lines]
    assert {t["sla_state"] for t in array} <= {"ok", "at-risk", "breached", "paused"}


def test_a_reader_that_stops_early_is_not_an_error(home: Path) -> None:
    done = sh("deskcli queue --all | head -n 2")
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 2 and done.stderr == ""


def test_new_number_captured_by_the_shell(isolated_home: Path) -> None:
    done = sh('n=$(deskcli new --summary "Printer offline" --priority P2) && '
              'deskcli show "$n" --format json')
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["number"] == 1001


def test_bulk_create_from_stdin(isolated_home: Path) -> None:
    records = "".join(json.dumps({"summary": f"Alert {i}", "channel": "monitoring"}) + "\n"
                      for i in range(50))
    done = run("new", "--from", "-", stdin=records)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(n) for n in range(1001, 1051)]


@pytest.mark.parametrize(("args", "code"), [
    (["new", "--summary", "x", "--priority", "P9"], 2),
    (["show", "4521"], 1),
    (["log-time", "#1", "ages"], 2),
    (["queue", "--format", "xml"], 2),
])
def test_errors_are_one_line_with_the_right_exit_code(isolated_home: Path, args, code) -> None:
    done = run(*args)
    assert done.returncode == code
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and done.stderr.startswith("deskcli: error: ")


@pytest.mark.parametrize("args", [
    ["new", "--summary", "Printer offline"],
    ["queue", "--format", "tsv"],
])
def test_scripted_commands_load_no_heavy_framework(isolated_home: Path, args) -> None:
    """Textual, Rich, FastAPI, httpx, SQLAlchemy and pydantic stay off these paths."""
    probe = (
        "import sys\n"
        f"sys.argv = ['deskcli', *{args!r}]\n"
        "from deskcli.cli.main import app\n"
        "try:\n    app(prog_name='deskcli')\nexcept SystemExit as exit:\n"
        "    assert not exit.code, exit.code\n"
        f"heavy = sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r})\n"
        "print(' '.join(heavy), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "", f"loaded: {done.stderr.strip()}"
