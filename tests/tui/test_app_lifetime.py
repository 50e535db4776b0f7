"""A console test's app is garbage once the test is done with it.

Each console test builds an app of tens of thousands of objects (widgets, styles, caches).
If the harness keeps them, a worker process ends the suite holding every app it ran, well
over a million objects, and each full collection then takes seconds: pytest collects five
times at exit, and execnet interrupts a worker still busy five seconds after it was told
to stop (tests/README.md, "Shutting down").
"""

from __future__ import annotations

import asyncio
import gc
import weakref
from pathlib import Path

from textual.pilot import Pilot

from tui.driving import drive, settle, tracked_executor
from tui.sample_app import sample_app


def test_an_app_that_ran_thread_workers_is_freed_after_its_run(tmp_path: Path) -> None:
    app = sample_app(tmp_path / "desk")
    ran_threads: list[bool] = []

    async def steps(pilot: Pilot[int]) -> None:
        await settle(pilot)
        # The start-up work ran in a thread of the tracked executor: what could keep it.
        ran_threads.append(tracked_executor(asyncio.get_running_loop()) is not None)

    drive(app, steps)
    assert ran_threads == [True]
    gone = weakref.ref(app)
    app.desk.close()
    del app
    gc.collect()
    assert gone() is None, "the app outlived its run: something the harness keeps holds it"
