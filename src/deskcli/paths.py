"""Where deskcli keeps its data and configuration.

``DESKCLI_HOME`` moves both under one folder (``data/`` and ``config/``), so tests and
several profiles never touch a technician's real store. Otherwise platformdirs picks the
platform's usual places, honouring the XDG variables on Linux.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

APP = "deskcli"


@dataclass(frozen=True)
class Paths:
    data_dir: Path
    config_dir: Path

    @property
    def database(self) -> Path:
        return self.data_dir / "deskcli.db"

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def checklists_dir(self) -> Path:
        return self.config_dir / "checklists"


def resolve_paths(environ: Mapping[str, str] | None = None) -> Paths:
    env = os.environ if environ is None else environ
    home = env.get("DESKCLI_HOME")
    if home:
        root = Path(home).expanduser()
        return Paths(root / "data", root / "config")
    import platformdirs

    return Paths(platformdirs.user_data_path(APP), platformdirs.user_config_path(APP))
