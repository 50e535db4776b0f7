"""``deskcli serve`` with one test hook: it holds a push until the test has killed it.

``test_server_killed_mid_push_then_restarted`` needs the kill to land at a known point:
after the first push batch has committed and while the next one is on its way. Timing a
kill against a running sync is a coin toss on a loaded machine, so the test starts the
server through this script instead. It lets ``DESKCLI_TEST_HOLD_AFTER`` pushes through,
then, at the start of the next one (before it touches the database), creates the file
named by ``DESKCLI_TEST_HELD`` and waits there until the process is killed. The server is
otherwise the real one: the same command line, the same code.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from deskcli.server.group import GroupCommit


def hold_pushes(after: int, held: Path) -> None:
    real_push = GroupCommit.push
    seen = 0
    lock = threading.Lock()
    forever = threading.Event()

    def push(*args: Any, **kwargs: Any) -> Any:
        nonlocal seen
        with lock:
            seen += 1
            hold = seen > after
        if hold:
            held.touch()
            forever.wait()  # until SIGKILL
        return real_push(*args, **kwargs)

    # The app calls ``GroupCommit.push`` through its instance, at request time.
    GroupCommit.push = push  # type: ignore[method-assign]


if __name__ == "__main__":
    hold_pushes(int(os.environ["DESKCLI_TEST_HOLD_AFTER"]), Path(os.environ["DESKCLI_TEST_HELD"]))
    from deskcli.cli.main import run

    run()
