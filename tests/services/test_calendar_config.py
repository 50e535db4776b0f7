"""``[calendar]``, ``[shifts]`` and ``[technicians]`` in config.toml, and a bad one
stopping a command with the file and key named."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from deskcli.cli.main import app
from deskcli.config import load_config
from deskcli.domain.errors import InvalidInput

GOOD = """
[calendar]
timezone = "Europe/London"
hours = { mon-fri = "09:00-17:00", sat = "closed" }
holidays = ["2026-12-25"]

[shifts.late]
hours = { mon-fri = "14:00-22:00" }

[technicians.alice]
groups = ["tier2"]
shift = "late"

[technicians.bob]
groups = ["tier2", "billing"]
"""


def test_calendar_and_roster_from_config(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(GOOD)
    config = load_config(path, environ={})
    assert config.calendar.timezone == "Europe/London"
    assert config.calendar.is_open(datetime(2026, 6, 3, 8, 30, tzinfo=UTC))  # 09:30 BST
    assert not config.calendar.is_open(datetime(2026, 12, 25, 12, 0, tzinfo=UTC))
    alice = config.roster.get("alice")
    assert alice is not None and alice.shift is not None
    assert alice.shift.is_open(datetime(2026, 6, 3, 20, 0, tzinfo=UTC))      # 21:00 BST
    assert config.roster.members("billing") == (config.roster.get("bob"),)


def test_unconfigured_calendar_is_always_open(tmp_path: Path) -> None:
    config = load_config(tmp_path / "missing.toml", environ={})
    assert config.calendar.always_open and len(config.roster) == 0


@pytest.mark.parametrize(("text", "message"), [
    ('[calendar]\ntimezone = "Europe/Lndon"\nhours = { mon = "09:00-17:00" }\n',
     "calendar.timezone: unknown time zone 'Europe/Lndon'"),
    ('[calendar]\ntimezone = "UTC"\nhours = { mon = "9 to 5" }\n',
     "calendar.hours.mon: '9 to 5' is not a time range"),
    ('[technicians.alice]\nshift = "night"\n', "technicians.alice.shift: no shift 'night'"),
])
def test_bad_calendar_config_names_file_key_and_problem(tmp_path: Path, text: str,
                                                        message: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(InvalidInput) as caught:
        load_config(path, environ={})
    assert caught.value.message.startswith(f"{path}: {message}")


def test_bad_calendar_stops_the_cli_like_any_config_error(isolated_home: Path) -> None:
    """A config file that cannot be used is the environment's failure, not what was typed
    (``cli.session.open_cli_desk``): exit 1, one line naming file, key and problem."""
    config = isolated_home / "config" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('[calendar]\ntimezone = "UTC"\nhours = { funday = "09:00-17:00" }\n')
    result = CliRunner().invoke(app, ["queue"], prog_name="deskcli")
    assert result.exit_code == 1
    assert "calendar.hours: 'funday' is not a day" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
