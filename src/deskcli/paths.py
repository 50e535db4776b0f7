"""Where deskcli keeps its data and configuration.

``DESKCLI_HOME`` moves both under one folder (``data/`` and ``config/``), so tests and
several profiles never touch a technician's real store. Otherwise platformdirs picks the
platform's usual places, honouring the XDG variables on Linux.
"""

import os
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

APP = "deskcli"


class Paths(NamedTuple):
    """Where the store lives and where the settings are read from.

    A ``NamedTuple`` rather than a frozen dataclass: every command builds one, and
    ``dataclasses`` (with ``inspect`` and ``ast`` behind it) costs a short command more
    than its own work (issue 20)."""

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


#: Who may read what deskcli writes: the store holds callers' names, phone numbers and
#: ticket text, so its files are the technician's alone, whatever the umask says.
PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) as a directory only its owner can enter.

    The folder we create is made 0700 even under a umask of 022. A folder that already
    exists and belongs to this user is narrowed to 0700 as well, since it holds the store;
    parents that already existed (a home folder, ``~/.local/share``) are left alone.
    """
    missing: list[Path] = []
    probe = path
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    for folder in missing:  # mkdir's mode is masked by the umask (and ignored for parents)
        os.chmod(folder, PRIVATE_DIR)
    narrow(path, PRIVATE_DIR)
    return path


def narrow(path: Path, mode: int) -> None:
    """Take away every permission bit outside ``mode`` from a file or folder we own."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        return  # someone else's (a shared folder an admin set up): not ours to change
    if info.st_mode & 0o777 & ~mode:
        try:
            os.chmod(path, info.st_mode & 0o777 & mode)
        except OSError:
            pass  # a read-only disk: opening reports that; 'deskcli doctor' shows the mode


def private_file(path: Path) -> Path:
    """Make sure ``path`` exists as a file only its owner can read or write (0600).

    Created with ``O_CREAT | O_EXCL`` and mode 0600, so no other user can read it even for
    an instant; a file that is already there is narrowed to 0600 (one written by an older
    deskcli was 0644).
    """
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL
                             | getattr(os, "O_CLOEXEC", 0), PRIVATE_FILE)
    except FileExistsError:
        narrow(path, PRIVATE_FILE)
    else:
        os.close(descriptor)
    return path
