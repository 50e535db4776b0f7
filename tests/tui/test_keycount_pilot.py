"""How many keys a whole P3 ticket costs in the console, counted, intake to survey.

A first-contact ticket: a printer that jams, taken by phone, verified by callback, fixed
by Tier 1 while the caller is on the line, then closed and surveyed. Every key is a real
key press, counted; words typed are counted apart from the keys that only drive the
console (moving, choosing, saving), which is what the quick-to-drive work shrinks. The
figures are printed (``pytest -s``) and bounded, so a change that makes the console slower
to drive fails here.

Issue 13, on the code before the quick-to-drive work: 551 keys in all (97 driving, 454
typed), 159 of them for the intake. After it (number and letter keys in choices, focus on
the next step's first field after a save, ``t`` pre-filled from the timer): 501 keys (50
driving, 451 typed), 150 for the intake.
"""

from __future__ import annotations

import pytest
from textual.pilot import Pilot

from deskcli.domain.engine import StepState
from deskcli.tui.app import DeskApp
from deskcli.tui.screens.ticket import TicketScreen
from deskcli.tui.widgets.caller_lookup import CallerLookup
from deskcli.tui.widgets.checklist_sidebar import ChecklistSidebar
from deskcli.tui.widgets.field_error import FieldError
from deskcli.tui.widgets.step_form import StepForm
from tui.driving import drive, press, settle, type_text, until

#: The most keys the whole scenario may take, and the most of them that are not words.
BOUND_ALL = 505
BOUND_DRIVING = 50


class Counter:
    """Counts every key the pilot presses from now on, and the typed text apart."""

    def __init__(self, pilot: Pilot[int]) -> None:
        self.pilot = pilot
        self.keys = 0
        self.text = 0
        original = pilot.press

        async def counted(*keys: str) -> None:
            self.keys += len(keys)
            await original(*keys)

        pilot.press = counted  # type: ignore[method-assign]

    async def say(self, text: str) -> None:
        self.text += len(text)
        await type_text(self.pilot, text)

    @property
    def driving(self) -> int:
        return self.keys - self.text


def shown_errors(app: DeskApp) -> dict[str, str]:
    return {e.field: str(e.render()) for e in app.screen.query(FieldError)
            if e.has_class("-shown")}


async def go_to(pilot: Pilot[int], key: str, *, search: bool = False) -> None:
    """Get to a step's first field as a technician would: already there after the last
    save, or escape to the checklist, j/k to the step, enter."""
    app = pilot.app
    forms = app.screen.query(StepForm)
    if forms:
        form = forms.first()
        first = f"field-{form.step.fields[0].key}"
        if form.step.key == key and app.focused is not None and app.focused.id == first:
            return
    sidebar = app.screen.query_one(ChecklistSidebar)
    if app.focused is not sidebar:
        await press(pilot, "escape")
    target = sidebar.get_option_index(key)
    while sidebar.highlighted != target:
        await press(pilot, "j" if (sidebar.highlighted or 0) < target else "k")
    await press(pilot, "enter")
    await settle(pilot)
    if search:  # the KB search opens with its step: nothing there, back to the form
        await press(pilot, "escape")
        await settle(pilot)


@pytest.mark.usefixtures("quick_keys")  # each key waits for its work, not 40 ms of idle
def test_a_p3_first_contact_ticket_costs_few_keys(app: DeskApp) -> None:
    figures: dict[str, int] = {}

    async def steps(pilot: Pilot[int]) -> None:
        count = Counter(pilot)
        say = count.say
        # Intake, four pages and the acknowledgement.
        await press(pilot, "n")
        await say("Chloe")
        lookup = app.screen.query_one(CallerLookup)  # answers after the typing (debounced)
        await until(pilot, lambda: bool(lookup.rows()), "the caller look-up")
        await press(pilot, "enter", "enter")  # into the look-up's results, pick
        await press(pilot, "1")  # verified by callback
        await press(pilot, "tab")
        await say("Called back the number on file")
        await press(pilot, "ctrl+s")
        await say("Printer jams on every page")
        await press(pilot, "tab")
        await say("The 2nd floor printer jams on every page")
        await press(pilot, "tab", "tab")
        await say("Printing invoices")
        await press(pilot, "tab")
        await press(pilot, "y")  # happens every time: yes
        await press(pilot, "tab")
        await say("1")
        await press(pilot, "ctrl+s", "tab")
        await press(pilot, "m")  # urgency medium: P3
        await press(pilot, "ctrl+s", "tab", "tab", "tab")
        await say("printing")
        await press(pilot, "tab")
        await press(pilot, "p")  # by phone
        await press(pilot, "ctrl+s")
        await settle(pilot)
        await press(pilot, "ctrl+s")  # send the acknowledgement
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, TicketScreen)
        ref = screen.ref
        assert app.desk.tickets.find(ref)["priority"] == "P3"
        figures["intake"] = count.keys

        async def step(key: str, *script: str | tuple[str, ...], search: bool = False) -> None:
            await go_to(pilot, key, search=search)
            for part in script:
                if isinstance(part, tuple):
                    await press(pilot, *part)
                else:
                    await say(part)
            await press(pilot, "ctrl+s")
            await settle(pilot)
            state = app.desk.tickets.detail(ref).progress.of(key).state
            assert state is StepState.DONE, f"{key}: {shown_errors(app)}"

        await step("record_errors", "Paper jam in tray 2 (code 13.B2.D2)")
        await step("check_changes", "Nothing changed: no patch or driver push this week")
        await step("reproduce", ("1", "tab", "tab"),
                   "Feed 20 pages from tray 2: jams at the fuser")
        await step("search_kb", "printer jam tray 2",
                   ("tab", "n"), search=True)
        await step("scope_decision", ("t", "tab"),
                   "A worn roller is Tier 1 work")
        await step("apply_fix", "Replaced the tray 2 pickup roller")
        await step("test_with_user", "Printed 20 invoices", ("tab", "w"))
        await step("document_resolution", "Tray 2 pickup roller worn out", ("tab",),
                   "Replaced the tray 2 pickup roller on the HP M607; 20 pages fed clean")
        await step("update_kb", ("n",))
        await press(pilot, "t", "ctrl+s")  # the running timer's reading
        await settle(pilot)
        await step("log_time_close")
        await step("send_survey", ("2",))
        assert app.desk.tickets.find(ref)["status"] == "closed"
        figures.update(all=count.keys, typed=count.text, driving=count.driving)

    drive(app, steps)
    print(f"\nP3 first-contact ticket, intake to survey: {figures}")
    assert figures["all"] <= BOUND_ALL
    assert figures["driving"] <= BOUND_DRIVING
