"""Fixtures for every layer: an isolated DESKCLI_HOME, a fixed clock and an open desk."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from deskcli.services.desk import Desk
from helpers import FakeClock, make_desk
from notify.mail import MailCatcher
from notify.receivers import Receiver


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """How many worker processes ``-n auto`` (our default, see pyproject.toml) starts.

    For the suite or a folder of it: two per core, since a console test spends most of its
    time waiting for the app to go idle between keys. None (the tests run in this process)
    when only files or single tests are named, where starting workers costs more than it
    saves, and for ``--snapshot-update``, since syrupy finds and removes unused pictures
    only without workers. ``PYTEST_XDIST_AUTO_NUM_WORKERS`` or ``-n N`` overrides this.
    """
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return int(os.environ["PYTEST_XDIST_AUTO_NUM_WORKERS"])
    if getattr(config.option, "update_snapshots", False):
        return 0
    here = config.invocation_params.dir
    if not any((here / arg.split("::")[0]).is_dir() for arg in config.args):
        return 0
    return 2 * len(os.sched_getaffinity(0))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In an xdist worker, the longest tests go first (see ``longest_first.py``); every
    worker sorts the same way, so the collections still match."""
    if hasattr(config, "workerinput"):
        from longest_first import longest_first

        longest_first(items)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """In an xdist worker, after the session's fixtures are torn down: free the garbage
    now, and take what is still alive out of later collections (``gc.freeze``).

    The worker reports itself finished when this hook returns; pytest then collects five
    times at exit (its unraisable-exception check), each pass walking every live object:
    the modules of FastAPI, SQLAlchemy, Textual and deskcli, a few hundred thousand, a
    second a pass with four workers on two cores. Once all workers have reported, execnet
    gives each five seconds to end before it sends SIGINT, and the KeyboardInterrupt
    landed wherever the worker was (tests/README.md, "Shutting down"). One pass here, in
    the worker's own time, frees the same garbage with every ``__del__`` still reported
    by pytest's hook; the passes at exit then walk only what unconfiguring makes."""
    if hasattr(session.config, "workerinput"):
        gc.collect()
        gc.freeze()


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test may touch a real profile: DESKCLI_HOME points into the test's tmp dir."""
    home = tmp_path / "home"
    monkeypatch.setenv("DESKCLI_HOME", str(home))
    monkeypatch.setenv("DESKCLI_TECH", "dana")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("DESKCLI_SERVER", raising=False)
    monkeypatch.delenv("DESKCLI_TOKEN", raising=False)
    return home


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def desk(isolated_home: Path, clock: FakeClock) -> Iterator[Desk]:
    opened = make_desk(isolated_home, clock)
    yield opened
    opened.close()


# --- local receivers for notification tests (tests/notify and the TUI's paging tests) ---

@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """An HTTP receiver on 127.0.0.1 that checks PagerDuty, Opsgenie, webhook and chat
    payloads and deduplicates by key, as the real services do."""
    started = Receiver().start()
    yield started
    started.stop()


@pytest.fixture
def mail(tmp_path: Path) -> Iterator[MailCatcher]:
    """An SMTP server on 127.0.0.1 with STARTTLS and auth that keeps what it is sent."""
    folder = tmp_path / "tls"
    folder.mkdir()
    started = MailCatcher(folder).start()
    yield started
    started.stop()
