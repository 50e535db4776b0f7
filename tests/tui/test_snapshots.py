"""Pictures of every screen at 80×24 and 120×40, on fixed sample data and a frozen clock.

Regenerate after a deliberate change with ``pytest tests/tui --snapshot-update`` and look at
the SVGs under ``__snapshots__/`` before accepting them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from deskcli.tui.app import DeskApp
from deskcli.tui.screens.ticket import TicketScreen
from helpers import FakeClock
from tui.driving import fill, go_to_step, pick, press, settle, until
from tui.sample_app import sample_app

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
#: Sample tickets by number (see ``sample_app.FRESH``).
P1_FILE_SERVER, PRINTER, CFO_RESET, OUTLOOK = "#1161", "#1163", "#1164", "#1165"

Before = Callable[[Pilot[int]], Awaitable[None]]
Snap = Callable[..., bool]


def ticket(ref: str, *then: Callable[[Pilot[int]], Awaitable[None]]) -> Before:
    async def run(pilot: Pilot[int]) -> None:
        await settle(pilot)
        pilot.app.push_screen(TicketScreen(ref))
        await settle(pilot)
        for step in then:
            await step(pilot)
            await settle(pilot)
    return run


def keys(*names: str) -> Callable[[Pilot[int]], Awaitable[None]]:
    async def run(pilot: Pilot[int]) -> None:
        await press(pilot, *names)
    return run


def typed(text: str) -> Callable[[Pilot[int]], Awaitable[None]]:
    """Text entered in the focused field. A picture shows where typing ends up, not the
    typing, so it goes in one go (``fill``); the pilot tests cover typing key by key."""
    async def run(pilot: Pilot[int]) -> None:
        await fill(pilot, text)
    return run


async def kb_caught_up(pilot: Pilot[int]) -> None:
    from deskcli.tui.screens.kb_search import KbSearchScreen

    screen = pilot.app.screen
    assert isinstance(screen, KbSearchScreen)
    await until(pilot, lambda: screen.caught_up, "the knowledge-base results")


async def caller_found(pilot: Pilot[int]) -> None:
    """The caller look-up answers a moment after the typing stops (it is debounced)."""
    from deskcli.tui.widgets.caller_lookup import CallerLookup

    lookup = pilot.app.screen.query_one(CallerLookup)
    await until(pilot, lambda: bool(lookup.rows()), "the caller look-up")


def step(key: str) -> Callable[[Pilot[int]], Awaitable[None]]:
    async def run(pilot: Pilot[int]) -> None:
        await go_to_step(pilot, key)
    return run


def chosen(value: str) -> Callable[[Pilot[int]], Awaitable[None]]:
    async def run(pilot: Pilot[int]) -> None:
        await pick(pilot, value)
    return run


def sequence(*parts: Callable[[Pilot[int]], Awaitable[None]]) -> Before:
    async def run(pilot: Pilot[int]) -> None:
        await settle(pilot)
        for part in parts:
            await part(pilot)
            await settle(pilot)
    return run


#: Intake page 1 filled in by keys: caller name, method, detail, then on to page 2.
IDENTIFIED = (keys("n", "tab"), typed("Ana Chen"), keys("tab", "tab", "tab"),
              chosen("callback"), keys("tab"), typed("Called back the number on file"),
              keys("ctrl+s"))


def shoot(snap_compare: Snap, app: DeskApp, size: tuple[int, int], before: Before) -> None:
    assert snap_compare(app, terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES)
class TestQueue:
    def test_home(self, snap_compare: Snap, app: DeskApp, size: Any) -> None:
        """Open tickets by SLA urgency; breached and at-risk rows carry !! and ! markers."""
        shoot(snap_compare, app, size, sequence())

    def test_search(self, snap_compare: Snap, app: DeskApp, size: Any) -> None:
        """/ filters as you type and the title says what is matched."""
        shoot(snap_compare, app, size, sequence(keys("slash"), typed("outlook"),
                                                 keys("enter")))

    def test_filters(self, snap_compare: Snap, app: DeskApp, size: Any) -> None:
        """f opens the filters dialog over the queue."""
        shoot(snap_compare, app, size, sequence(keys("f")))

    def test_help(self, snap_compare: Snap, app: DeskApp, size: Any) -> None:
        """? lists every key, grouped by where it works."""
        shoot(snap_compare, app, size, sequence(keys("question_mark")))

    def test_command_palette(self, snap_compare: Snap, app: DeskApp, size: Any) -> None:
        """ctrl+p offers the screen's actions by name."""
        shoot(snap_compare, app, size, sequence(keys("ctrl+p"), typed("ne")))


@pytest.mark.parametrize("size", SIZES)
def test_sample_data_offer(snap_compare: Snap, isolated_home: Path, clock: FakeClock,
                           size: Any) -> None:
    """An empty store offers sample data on first start."""
    app = sample_app(isolated_home, clock, empty=True, offer_samples=True)
    shoot(snap_compare, app, size, sequence())


@pytest.mark.parametrize("size", SIZES)
class TestIntake:
    def test_identity(self, snap_compare: Snap, app: DeskApp, size: Any) -> None:
        """Step 1: caller look-up, the warning about resets, verification method."""
        shoot(snap_compare, app, size, sequence(keys("n"), typed("Ana"), caller_found,
                                                 keys("enter")))

    def test_identity_refused(self, snap_compare: Snap, app: DeskApp, size: Any) -> None:
        """Continuing without a method is refused beside the field, not skipped."""
        shoot(snap_compare, app, size, sequence(keys("n", "ctrl+s")))

    def test_capture(self, snap_compare: Snap, app: DeskApp, size: Any) -> None:
        """Step 2: summary, then the caller's own words and the facts."""
        shoot(snap_compare, app, size, sequence(
            *IDENTIFIED, typed("Outlook asks for the password")))

    def test_priority(self, snap_compare: Snap, app: DeskApp, size: Any) -> None:
        """Step 3: the definitions, the impact × urgency suggestion, SLA due times."""
        shoot(snap_compare, app, size, sequence(
            *IDENTIFIED, typed("Outlook asks for the password"),
            keys("tab"), typed("It asks every time"), keys("tab", "tab"), typed("Opening"),
            keys("tab"), chosen("yes"), keys("tab"), typed("1"), keys("ctrl+s", "tab"),
            chosen("high")))

    def test_open_and_acknowledge(self, snap_compare: Snap, app: DeskApp,
                                  size: Any) -> None:
        """After step 4 the ticket is open and the caller's acknowledgement is drafted."""
        shoot(snap_compare, app, size, sequence(
            *IDENTIFIED, typed("Outlook asks for the password"),
            keys("tab"), typed("It asks every time"), keys("tab", "tab"), typed("Opening"),
            keys("tab"), chosen("yes"), keys("tab"), typed("1"), keys("ctrl+s", "tab"),
            chosen("high"), keys("ctrl+s"), typed("Northwind Dental"),
            keys("tab", "tab", "tab"), typed("email"), keys("tab"), chosen("phone"),
            keys("ctrl+s")))


@pytest.mark.parametrize("size", SIZES)
class TestTicket:
    def test_current_step(self, snap_compare: Snap, app: DeskApp, size: Any) -> None:
        """Header with both SLA clocks, the checklist, and the current step's form."""
        shoot(snap_compare, app, size, ticket(OUTLOOK))

    def test_timeline(self, snap_compare: Snap, app: DeskApp, size: Any) -> None:
        """2 shows the timeline: events, replies and notes with who and when."""
        shoot(snap_compare, app, size, ticket(P1_FILE_SERVER, keys("2")))

    def test_details(self, snap_compare: Snap, app: DeskApp, size: Any) -> None:
        """3 shows everything recorded on the ticket."""
        shoot(snap_compare, app, size, ticket(P1_FILE_SERVER, keys("3")))

    def test_blocked_step(self, snap_compare: Snap, app: DeskApp, size: Any) -> None:
        """A credential step on an unverified caller says why it is blocked."""
        shoot(snap_compare, app, size, ticket(
            CFO_RESET, step("scope_decision"), chosen("tier1"), keys("tab"), typed("MFA"),
            keys("ctrl+s"), step("apply_fix"), typed("KB 3390"), keys("ctrl+s")))

    def test_escalation_refused(self, snap_compare: Snap, app: DeskApp, size: Any) -> None:
        """The escalation form refuses a bare handoff, naming what is missing."""
        shoot(snap_compare, app, size, ticket(
            PRINTER, step("scope_decision"), chosen("escalate"), keys("tab"),
            typed("Print server"), keys("ctrl+s"), step("escalate"), typed("printing"),
            keys("ctrl+s")))

    def test_paging_step(self, snap_compare: Snap, app: DeskApp, size: Any) -> None:
        """A P1 has the on-call paging step."""
        shoot(snap_compare, app, size, ticket(P1_FILE_SERVER, step("page_oncall")))

    def test_resolution_live_check(self, snap_compare: Snap, app: DeskApp,
                                   size: Any) -> None:
        """The resolution note is judged as you type, in the domain's words."""
        shoot(snap_compare, app, size, ticket(
            OUTLOOK, step("document_resolution"), typed("Stale token"), keys("tab"),
            typed("Rebooted, fine now")))

    def test_note(self, snap_compare: Snap, app: DeskApp, size: Any) -> None:
        """r opens a reply to the caller; internal or public is chosen in words."""
        shoot(snap_compare, app, size, ticket(OUTLOOK, keys("r"),
                                              typed("We are looking at it now.")))

    def test_status(self, snap_compare: Snap, app: DeskApp, size: Any) -> None:
        """s offers only the moves the workflow allows."""
        shoot(snap_compare, app, size, ticket(OUTLOOK, keys("s")))

    def test_priority(self, snap_compare: Snap, app: DeskApp, size: Any) -> None:
        """p changes the priority, with the definitions on screen."""
        shoot(snap_compare, app, size, ticket(OUTLOOK, keys("p")))

    def test_assignee(self, snap_compare: Snap, app: DeskApp, size: Any) -> None:
        """a hands the ticket to someone."""
        shoot(snap_compare, app, size, ticket(OUTLOOK, keys("a")))

    def test_attach_refused(self, snap_compare: Snap, app: DeskApp, size: Any) -> None:
        """f attaches a file; a wrong path is refused beside the field."""
        shoot(snap_compare, app, size, ticket(OUTLOOK, keys("f"), typed("nope.png"),
                                              keys("ctrl+s")))

    def test_kb_search(self, snap_compare: Snap, app: DeskApp, size: Any) -> None:
        """/ searches resolved tickets for a past fix."""
        shoot(snap_compare, app, size, ticket(PRINTER, keys("slash"), typed("spooler"),
                                              kb_caught_up))


@pytest.mark.parametrize("size", SIZES)
def test_time_offered_on_leaving(snap_compare: Snap, isolated_home: Path, clock: FakeClock,
                                 size: Any) -> None:
    """Leaving a ticket after 12 minutes offers the time as an editable entry."""
    app = sample_app(isolated_home, clock)

    async def later(pilot: Pilot[int]) -> None:
        clock.advance(minutes=12)

    shoot(snap_compare, app, size, ticket(OUTLOOK, later, keys("escape")))


class TestWithoutColour:
    """NO_COLOR terminals (and colour-blind technicians) read state from markers alone."""

    def test_queue(self, snap_compare: Snap, isolated_home: Path, clock: FakeClock,
                   monkeypatch: pytest.MonkeyPatch) -> None:
        """!!, ! and || mark SLA state; ~ marks a silent ticket."""
        monkeypatch.setenv("NO_COLOR", "1")
        shoot(snap_compare, sample_app(isolated_home, clock), (80, 24), sequence())

    def test_blocked_step(self, snap_compare: Snap, isolated_home: Path, clock: FakeClock,
                          monkeypatch: pytest.MonkeyPatch) -> None:
        """✓ ▶ · – ✗ mark step states; the identity warning keeps its heavy frame."""
        monkeypatch.setenv("NO_COLOR", "1")
        shoot(snap_compare, sample_app(isolated_home, clock), (80, 24),
              ticket(CFO_RESET, step("verify_identity")))
