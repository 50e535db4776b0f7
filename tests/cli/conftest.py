"""CLI test fixtures: the real Typer app, run in-process on a desk with a fake clock."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from deskcli.cli import session
from deskcli.cli.main import app
from helpers import FakeClock, make_desk, settle_steps

#: Tables a refused command must leave untouched.
TABLES = ("tickets", "events", "notes", "time_entries", "step_records", "attachments",
          "outbox", "clients", "callers", "kb_articles", "kb_versions", "kb_links",
          "tag_changes", "ticket_tags", "outbound")


class Cli:
    """Runs ``deskcli`` commands and looks at the store behind them."""

    def __init__(self, home: Path, clock: FakeClock) -> None:
        self.home = home
        self.clock = clock
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None) -> Result:
        return self.runner.invoke(app, list(args), input=input, prog_name="deskcli",
                                  catch_exceptions=False)

    def ok(self, *args: str, input: str | None = None) -> Result:
        result = self(*args, input=input)
        assert result.exit_code == 0, (result.exit_code, result.stderr)
        return result

    def counts(self) -> dict[str, int]:
        with make_desk(self.home, self.clock) as desk:
            db = desk.store.db
            return {t: db.execute(f"SELECT count(*) AS n FROM {t}").fetchone()["n"]
                    for t in TABLES}

    def settle(self, ref: str) -> None:
        """Skip (with a reason) the steps a close would refuse over, for tests whose
        subject is not the checklist."""
        with make_desk(self.home, self.clock) as desk:
            settle_steps(desk, ref)

    def new(self, *extra: str, summary: str = "Outlook keeps asking for a password") -> str:
        return self.ok("new", "--summary", summary, *extra).stdout.strip()

    def refused(self, args: Sequence[str], code: int, *needles: str,
                input: str | None = None) -> Result:
        """The command fails with ``code``, one clear stderr line, and writes nothing."""
        before = self.counts()
        result = self(*args, input=input)
        assert result.exit_code == code, (result.exit_code, result.stderr)
        assert result.stdout == ""
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("deskcli: error: "), result.stderr
        for needle in needles:
            assert needle in lines[0], (needle, lines[0])
        assert "Traceback" not in result.output
        assert self.counts() == before, "a refused command must write nothing"
        return result


@pytest.fixture
def cli(isolated_home: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.setattr(session, "desk_factory", lambda: make_desk(isolated_home, clock))
    return Cli(isolated_home, clock)

