"""Run a pilot scenario from a plain (synchronous) test, with no async pytest plugin.

``drive(app, steps)`` opens the app headless at a terminal size and awaits ``steps(pilot)``;
``settle`` waits until no worker runs and no worker thread is busy, and their messages
have landed, before asserting. ``fill`` puts text in the focused field in one go, for the
many tests where typing is not what is tested; ``type_text`` types it key by key.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import weakref
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest
from textual import events
from textual.app import App
from textual.message_pump import MessagePump
from textual.pilot import Pilot
from textual.worker import Worker, WorkerFailed, WorkerState

from deskcli.tui.app import DeskApp
from deskcli.tui.screens.ticket import TicketScreen

Steps = Callable[[Pilot[int]], Awaitable[None]]

#: How long ``settle`` waits for workers and their threads before it gives up and fails.
SETTLE_TIMEOUT = 30.0


class TrackedExecutor(ThreadPoolExecutor):
    """The event loop's default executor, which knows what it still has to finish.

    Textual runs a thread worker through ``loop.run_in_executor``. When an exclusive worker
    is replaced, its asyncio task is cancelled at once but its thread cannot be stopped: it
    runs to the end and may still post a message. Waiting for the workers alone therefore
    misses work that is still going on; this executor counts the threads' jobs too.
    """

    def __init__(self) -> None:
        super().__init__(thread_name_prefix="test-worker")
        self._pending: set[Future[Any]] = set()
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future = super().submit(fn, *args, **kwargs)
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._done)
        return future

    def _done(self, future: Future[Any]) -> None:
        with self._lock:
            self._pending.discard(future)

    @property
    def busy(self) -> bool:
        with self._lock:
            return bool(self._pending)


#: Each loop's :class:`TrackedExecutor`, held weakly on both sides: the loop itself holds
#: its default executor, and nothing here may keep either alive. A strong value kept every
#: test's app: an executor keeps its (finished) threads, a thread keeps the ``sys.stderr``
#: it started under, which inside an app is Textual's print capture, that is the app, and
#: the app reaches the loop, so the weak key never died. A worker process then ended the
#: suite holding every app it ran (1.5 million objects, seconds per full collection).
_EXECUTORS: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, weakref.ReferenceType[TrackedExecutor]] = \
    weakref.WeakKeyDictionary()


def track_worker_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Give every event loop a :class:`TrackedExecutor` as its default executor (the one
    Textual's thread workers use), however the loop was started (``drive`` or the snapshot
    plugin's ``App.run``). An autouse fixture calls this for every test."""
    original = asyncio.BaseEventLoop.run_in_executor

    def run_in_executor(self: asyncio.BaseEventLoop, executor: Any,
                        func: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        if executor is None:
            executor = tracked_executor(self)
            if executor is None:
                executor = TrackedExecutor()
                self.set_default_executor(executor)  # shut down with the loop
                _EXECUTORS[self] = weakref.ref(executor)
        return original(self, executor, func, *args)

    monkeypatch.setattr(asyncio.BaseEventLoop, "run_in_executor", run_in_executor)


def tracked_executor(loop: asyncio.AbstractEventLoop) -> TrackedExecutor | None:
    """The loop's :class:`TrackedExecutor`, if a thread worker has run on it (and the loop
    has not been closed and its executor freed)."""
    ref = _EXECUTORS.get(loop)
    return None if ref is None else ref()


#: How many objects the oldest generation held after the last full pass made here.
_OLDEST_AFTER_PASS = [0]


def collect_what_apps_hid() -> None:
    """Free what finished apps left behind, the way the collector would have.

    ``DeskApp.keep_heap`` freezes the heap and ``on_unmount`` unfreezes it, which puts the
    app's objects straight into the oldest generation without counting them towards the
    next full pass. One app per process, as in use, loses nothing; a test process runs
    hundreds, and without this hardly ever ran a full pass: a worker ended the suite
    holding about 800,000 dead objects (over 1 GB with two workers), which the passes at
    exit then had to walk and free (tests/README.md, "Shutting down"). So after each
    console test, CPython's own rule: a full pass once the oldest generation has grown by
    a quarter since the last one here. (Waiting for it to double cost the same CPU on
    tests/tui: the time goes into freeing the apps, which has to happen anyway.) The check
    itself costs a few milliseconds."""
    oldest = len(gc.get_objects(generation=2))
    if oldest > _OLDEST_AFTER_PASS[0] * 5 // 4:
        gc.collect()
        _OLDEST_AFTER_PASS[0] = len(gc.get_objects(generation=2))


def _pumps(app: App[Any]) -> list[MessagePump]:
    """The app and every node of every screen on the stack: all that can hold a message."""
    pumps: list[MessagePump] = [app]
    for screen in app.screen_stack:
        pumps.extend(screen.walk_children(with_self=True))
    return pumps


def _working(pump: MessagePump) -> bool:
    """The pump has a message queued, is still handling one (its task is not back waiting
    on its queue), or has callbacks to run after the current message."""
    if pump._closed or pump._closing:
        return False
    if pump._task is None:
        return False
    queue = pump._message_queue
    return bool(queue.qsize() or pump._pending_message is not None or pump._next_callbacks
                or not queue.ready_event._waiters)  # type: ignore[attr-defined]


def _screen_pending(app: App[Any]) -> bool:
    """The top screen has a layout, repaint or after-refresh callbacks still to do (what
    its update timer does one frame later)."""
    screen = app.screen
    return bool(screen._layout_required or screen._scroll_required
                or screen._repaint_required or screen._dirty_widgets
                or screen._callbacks or screen._recompose_required)


async def quiet(app: App[Any]) -> None:
    """Return once the app has handled everything a key or a message set going: every
    message queued on every screen, what handling them queued in turn, the screen's
    layout and after-refresh callbacks, and animations.

    Textual's pilot waits for this by watching the process's CPU time (``wait_for_idle``:
    at least 20 ms of sleep, twice per key, longer while anything uses the CPU). That is
    a guess, slow, and on a loaded machine a wrong one; this waits for the work itself.
    It does not wait for worker threads or timers: ``settle`` and ``until`` do that.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SETTLE_TIMEOUT
    spins = 0
    while True:
        assert loop.time() < deadline, (
            f"the app was still handling messages after {SETTLE_TIMEOUT:.0f} s: "
            f"{[p for p in _pumps(app) if _working(p)]}")
        if app._exception is not None or not app.is_running:
            return
        if (any(not screen._is_mounted for screen in app.screen_stack)
                or any(_working(pump) for pump in _pumps(app))):
            # a handler may be awaiting I/O: yield at once a few times, then sleep a little
            spins += 1
            await asyncio.sleep(0 if spins < 50 else 0.001)
            continue
        if _screen_pending(app) and not app._batch_count:
            app.screen._on_timer_update()  # the frame the update timer would draw
            await asyncio.sleep(0)
            continue
        if not app._animator._complete_event.is_set():
            await app._animator.wait_until_complete()
            continue
        return


async def _press_keys(self: App[Any], keys: Iterable[str]) -> None:
    """``App._press_keys`` (what ``Pilot.press`` calls) with the CPU-time guess after each
    key replaced by :func:`quiet`. Each key is still a real key event from the driver,
    handled by the app exactly as before, one at a time."""
    import unicodedata

    from textual.app import _character_to_key, _get_unicode_name_from_key
    from textual.keys import REPLACED_KEYS

    assert self._driver is not None
    for key in keys:
        if key.startswith("wait:"):
            _, wait_ms = key.split(":")
            await asyncio.sleep(float(wait_ms) / 1000)
            await self._animator.wait_until_complete()
            continue
        if len(key) == 1 and not key.isalnum():
            key = _character_to_key(key)
        original_key = REPLACED_KEYS.get(key, key)
        char: str | None
        try:
            char = unicodedata.lookup(_get_unicode_name_from_key(original_key))
        except KeyError:
            char = key if len(key) == 1 else None
        key_event = events.Key(key, char)
        key_event.set_sender(self)
        # what ``driver.send_message`` schedules from the driver's thread, done here so
        # the key is in the app's queue before ``quiet`` looks
        await self._post_message(key_event)
        await quiet(self)


async def _pause(self: Pilot[Any], delay: float | None = None) -> None:
    """``Pilot.pause()``: with no delay, wait for :func:`quiet` instead of the CPU guess."""
    if delay is not None:
        await _original_pause(self, delay)
        return
    await quiet(self.app)
    self.app.screen._on_timer_update()


_original_pause = Pilot.pause


def quick_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``Pilot.press`` and ``Pilot.pause()`` wait for the app's work, not for a
    CPU-time guess (see :func:`quiet`). The ``quick_keys`` fixture calls this for the
    tests that take it (the key-count pilot: 500 real presses)."""
    monkeypatch.setattr(App, "_press_keys", _press_keys)
    monkeypatch.setattr(Pilot, "pause", _pause)


def _busy_workers(app: DeskApp) -> list[Worker[Any]]:
    return [w for w in app.workers if w.state in (WorkerState.PENDING, WorkerState.RUNNING)]


async def workers_done(app: DeskApp, timeout: float = SETTLE_TIMEOUT) -> None:
    """Wait until no worker is running and no worker thread is busy.

    A worker cancelled because an exclusive one replaced it is expected (that is what
    ``exclusive`` is for), so unlike ``app.workers.wait_for_complete()`` this does not raise
    ``WorkerCancelled``; a worker that failed and would end the app is raised at once.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        busy = _busy_workers(app)
        running = [w for w in busy if w.state is WorkerState.RUNNING]
        if running:
            try:
                results = await asyncio.wait_for(asyncio.gather(
                    *(w.wait() for w in running), return_exceptions=True),
                    max(deadline - loop.time(), 0.01))
            except TimeoutError:
                raise AssertionError(f"workers still running after {timeout:.0f} s: "
                                     f"{running}") from None
            for worker, result in zip(running, results, strict=True):
                if isinstance(result, WorkerFailed) and worker.exit_on_error:
                    raise result
        executor = tracked_executor(loop)
        if not busy and (executor is None or not executor.busy):
            return
        assert loop.time() < deadline, (
            f"workers still busy after {timeout:.0f} s: {busy or 'a replaced worker thread'}")
        await asyncio.sleep(0.005)


def _busy(app: DeskApp) -> bool:
    executor = tracked_executor(asyncio.get_running_loop())
    return bool(_busy_workers(app)) or (executor is not None and executor.busy)


async def settle(pilot: Pilot[int], rounds: int = 3) -> None:
    """Let the app go quiet: pending messages handled, workers and their threads done, and
    what they posted handled too.

    Each round is a pause (Textual handles what is queued) and then a wait for whatever is
    running; a message may start a new worker, hence several rounds. Once two pauses in a
    row found nothing running, the app is quiet and the remaining rounds are skipped: every
    pause costs a message to each widget on the screen.
    """
    app: DeskApp = pilot.app  # type: ignore[assignment]
    quiet = 0
    for _ in range(rounds):
        await pilot.pause()
        if _busy(app):
            quiet = 0
            await workers_done(app)
        else:
            quiet += 1
            if quiet == 2:
                return
    await pilot.pause()


async def until(pilot: Pilot[int], condition: Callable[[], bool], what: str,
                timeout: float = 15.0) -> None:
    """Wait for work that runs behind a timer or a worker (a debounced search) to land;
    a fixed pause is flaky on a loaded machine."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        # Where the app stood, so a failure on a loaded CI machine says what happened.
        assert loop.time() < deadline, (
            f"gave up waiting for {what} (screen {type(pilot.app.screen).__name__}, "
            f"focus on {pilot.app.focused!r})")
        await pilot.pause(0.05)
    await pilot.pause()


async def press(pilot: Pilot[int], *keys: str) -> None:
    """Press keys one at a time, settling after each (workers answer some of them)."""
    for key in keys:
        await pilot.press(key)
        await settle(pilot, rounds=1)


async def fill(pilot: Pilot[int], text: str) -> None:
    """Put ``text`` into the focused text field in one go, as a paste does.

    For tests where the text matters and typing does not: it goes through the field's own
    paste handling, as a bracketed paste from the terminal would (replacing a selection,
    honouring restrictions, one ``Changed``), and costs one message instead of two idle
    waits per character. Tests about typing itself
    (as-you-type look-ups, shortcodes, keys landing while a search runs) use ``type_text``.
    """
    from textual.widgets import Input, TextArea

    field = pilot.app.focused
    assert isinstance(field, Input | TextArea), f"focus is on {field!r}, not a text field"
    pilot.app.post_message(events.Paste(text))  # as the terminal driver does: the app
    # hands it to the focused widget (posted to the widget, a TextArea's would bubble back)
    await settle(pilot, rounds=1)


async def open_from_queue(pilot: Pilot[int], ref: str) -> TicketScreen:
    """Open ``ref`` as a technician does from the queue: search for it, open the match."""
    await press(pilot, "slash")
    await fill(pilot, ref)
    await press(pilot, "enter", "enter")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, TicketScreen) and screen.ref == ref
    return screen


async def type_text(pilot: Pilot[int], text: str) -> None:
    """Type like a person: one key per character (space and punctuation by name)."""
    names = {" ": "space", "#": "number_sign", ",": "comma", ".": "full_stop",
             ":": "colon", ";": "semicolon", "'": "apostrophe", "/": "slash",
             "-": "minus", "@": "at", "+": "plus", "(": "left_parenthesis",
             ")": "right_parenthesis", "\n": "enter", "_": "underscore", "?": "question_mark"}
    await pilot.press(*[names.get(ch, ch) for ch in text])


def drive(app: DeskApp, steps: Steps, size: tuple[int, int] = (120, 40)) -> None:
    async def run() -> None:
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            await steps(pilot)

    asyncio.run(run())
    collect_what_apps_hid()


async def go_to_step(pilot: Pilot[int], step_key: str) -> None:
    """Walk the checklist with j/k to ``step_key`` and open it with enter."""
    from deskcli.tui.widgets.checklist_sidebar import ChecklistSidebar

    sidebar = pilot.app.screen.query_one(ChecklistSidebar)
    sidebar.focus()
    await pilot.pause()
    target = sidebar.get_option_index(step_key)
    for _ in range(60):
        current = sidebar.highlighted
        if current == target:
            break
        await pilot.press("j" if current is None or current < target else "k")
    assert sidebar.highlighted == target, f"could not reach step {step_key}"
    await press(pilot, "enter")
    await settle(pilot)


async def pick(pilot: Pilot[int], value: str) -> None:
    """Choose ``value`` in the focused choice field: open it, arrow to it, enter."""
    from textual.widgets import Select

    select = pilot.app.focused
    assert isinstance(select, Select), f"focus is on {select!r}, not a choice"
    await press(pilot, "enter")
    values = [v for _label, v in select._options]
    overlay = pilot.app.focused
    target = values.index(value)
    for _ in range(len(values) * 2):
        current = getattr(overlay, "highlighted", None)
        if current == target:
            break
        await pilot.press("down" if current is None or current < target else "up")
    await press(pilot, "enter")
    assert select.value == value, f"{select.id} is {select.value!r}, wanted {value!r}"
