"""Start ``deskcli serve`` processes without paying for Python's imports each time.

A server process spends most of its start-up (about 0.85 s of CPU of 1.1 s) importing
FastAPI, SQLAlchemy, Alembic and deskcli. The suite starts well over a hundred of them, so
each test process keeps one *fork server*: a child that has done those imports once and,
when asked, forks a copy of itself that runs the real command line (``deskcli serve ...``
through ``deskcli.cli.main``, or ``held_server.py``) with the test's environment and
its output in the test's log file. What runs is the same code as ``python -m deskcli
serve``: a process of its own on a loopback port, killed with SIGKILL like any other,
with its own database; only the already-imported modules are shared, copy-on-write.

Run as a script, this is the fork server: it reads one JSON request per line on stdin
and answers each with the new process's pid on stdout. It never starts a thread, so a
forked copy is safe, and it ignores SIGCHLD so the system reaps its children: a dead
server's pid disappears, which is how :class:`ForkedProcess` sees that it exited.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

#: What a server process imports before it serves; the fork server imports it once.
PRELOAD = ("deskcli.cli.main", "deskcli.cli.sync_cmd", "deskcli.server.app",
           "deskcli.server.intake", "deskcli.server.rules", "deskcli.services.desk",
           "deskcli.services.tickets", "deskcli.services.rules", "deskcli.services.mail",
           "deskcli.sync.client", "email.policy", "html.parser", "uvicorn.loops.auto",
           "uvicorn.loops.asyncio", "psycopg", "sqlalchemy.dialects.postgresql.psycopg")


class ForkedProcess:
    """The part of ``subprocess.Popen`` that ``TeamServer`` uses, for a forked server.

    The process is the fork server's child, not ours, so its exit status is not ours to
    collect: ``poll`` says only whether it is still there (``-1`` once it is gone).
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                self.returncode = -1
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                self.returncode = -1

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"pid {self.pid}", timeout or 0)
            time.sleep(0.01)
        return -1


class ForkServer:
    """One fork server per test process, started on first use and stopped at exit."""

    _instance: ForkServer | None = None
    _lock = threading.Lock()

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
        atexit.register(self.stop)

    @classmethod
    def get(cls) -> ForkServer:
        with cls._lock:
            if cls._instance is None or cls._instance.process.poll() is not None:
                cls._instance = ForkServer()
            return cls._instance

    def spawn(self, argv: list[str], env: dict[str, str], log: Path,
              script: Path | None = None) -> ForkedProcess:
        """Run ``argv`` (as ``sys.argv``: the command line after ``python -m deskcli``, or
        after ``script``) in a fresh copy of the fork server."""
        assert self.process.stdin is not None and self.process.stdout is not None
        request = {"argv": argv, "env": env, "log": str(log),
                   "script": None if script is None else str(script)}
        with self._lock:
            self.process.stdin.write(json.dumps(request).encode() + b"\n")
            self.process.stdin.flush()
            answer = self.process.stdout.readline()
        if not answer:
            raise RuntimeError("the fork server for test servers has exited")
        return ForkedProcess(int(answer))

    def run(self, argv: list[str], env: dict[str, str], *, stdin: str | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """``subprocess.run([python, "-m", "deskcli", *argv], capture_output=True,
        text=True)``, in a fresh copy of the fork server: a process of its own with its
        own standard streams and exit status, without the imports' start-up cost (the
        start-up itself is what tests/cli/test_subprocess.py and test_startup_work.py
        run the real way)."""
        import tempfile

        with tempfile.TemporaryDirectory(prefix="deskcli-run-") as scratch:
            folder = Path(scratch)
            (folder / "stdin").write_text(stdin or "")
            request = {"argv": argv, "env": env, "log": str(folder / "stderr"),
                       "stdout": str(folder / "stdout"), "stdin": str(folder / "stdin"),
                       "status": str(folder / "status"), "script": None}
            with self._lock:
                assert self.process.stdin is not None and self.process.stdout is not None
                self.process.stdin.write(json.dumps(request).encode() + b"\n")
                self.process.stdin.flush()
                answer = self.process.stdout.readline()
            if not answer:
                raise RuntimeError("the fork server for test servers has exited")
            child = ForkedProcess(int(answer))
            try:
                child.wait(timeout)
            except subprocess.TimeoutExpired:
                child.send_signal(signal.SIGKILL)
                raise
            status = folder / "status"
            code = int(status.read_text()) if status.exists() else -signal.SIGKILL
            return subprocess.CompletedProcess(
                ["deskcli", *argv], code, (folder / "stdout").read_text(),
                (folder / "stderr").read_text())

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def _child(request: dict[str, Any]) -> None:
    """In the forked copy: become the requested command and never return."""
    code = 1
    try:
        os.setpgid(0, 0)  # out of the fork server's group: a signal to one is not to all
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        source = os.open(request.get("stdin") or os.devnull, os.O_RDONLY)
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        out = (os.open(request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
               if request.get("stdout") else os.dup(log))
        for fd, target in ((source, 0), (out, 1), (log, 2)):
            os.dup2(fd, target)
            os.close(fd)
        # A fresh reader: the fork server's may hold bytes it read ahead of a request.
        sys.stdin = open(0, encoding=sys.stdin.encoding, errors=sys.stdin.errors,  # noqa: SIM115
                         closefd=False)
        os.environ.clear()
        os.environ.update(request["env"])
        import runpy

        if request["script"]:
            sys.argv = [request["script"], *request["argv"]]
            runpy.run_path(request["script"], run_name="__main__")
        else:
            sys.argv = ["deskcli", *request["argv"]]
            from deskcli.cli.launch import run  # what ``python -m deskcli`` runs

            run()
        code = 0
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            if request.get("status"):  # the exit status, for ``ForkServer.run``
                with open(request["status"] + ".part", "w") as status:
                    status.write(str(code))
                os.replace(request["status"] + ".part", request["status"])
            os._exit(code)


def _warm_up() -> None:
    """Import what a server imports on its way up, lazily included: build an app on a
    scratch SQLite database and load uvicorn's protocol modules, then let go of the
    database (no file or connection may be inherited by the copies)."""
    import gc
    import importlib
    import shutil
    import tempfile
    import threading

    import uvicorn
    from sqlalchemy.engine import Engine

    from deskcli.server.app import create_app

    for name in PRELOAD:
        importlib.import_module(name)
    scratch = tempfile.mkdtemp(prefix="deskcli-forkserver-")
    try:
        uvicorn.Config(create_app(f"sqlite:///{scratch}/warm.db"), log_level="info").load()
        gc.collect()
        for thing in gc.get_objects():
            if isinstance(thing, Engine):
                thing.dispose()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    # A thread would not survive a fork, and a lock it held would stay held in the copy.
    assert threading.active_count() == 1, threading.enumerate()


def _serve() -> None:
    _warm_up()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the system
    for line in sys.stdin.buffer:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(request)
        sys.stdout.write(f"{pid}\n")
        sys.stdout.flush()


if __name__ == "__main__":
    _serve()
