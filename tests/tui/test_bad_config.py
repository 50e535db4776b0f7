"""A config file the console cannot use stops it before the screen opens, with the file
and key named and the same exit code as every command (1: the environment, not input)."""

from __future__ import annotations

from pathlib import Path

import pytest

from deskcli.tui.app import main


@pytest.mark.parametrize(("text", "needle"), [
    ("bogus = 1\n", "unknown setting 'bogus'"),
    ('[notify.channels.pd]\ntype = "pagerduty"\nurl = "not a url"\n',
     "notify.channels.pd.url: 'not a url' is not a URL"),
    ("tech = \n", "not valid TOML"),
])
def test_bad_config_is_one_line_and_exit_1(isolated_home: Path, text: str, needle: str,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    config = isolated_home / "config"
    config.mkdir(parents=True)
    (config / "config.toml").write_text(text)
    assert main() == 1
    err = capsys.readouterr().err
    assert err.startswith(f"deskcli: {config / 'config.toml'}: ") and needle in err
    assert len(err.strip().splitlines()) == 1
    assert not (isolated_home / "data" / "deskcli.db").exists()  # nothing written
