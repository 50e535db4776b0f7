"""The console shows hostile stored text inert: markup literally (already), and control
sequences as visible stand-ins that never reach the terminal."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot

from deskcli.domain.intake import NewTicket
from helpers import FakeClock
from tui.driving import drive, press, settle
from tui.sample_app import sample_app

HOSTILE = ("Printer \x1b]52;c;cHduZWQ=\x07 \x1b]0;owned\x07 \x1b[2J \x9b31m "
           "\x1bP+q\x1b\\ [bold]markup[/bold]")
#: What the terminal must never receive from the data: the sequences themselves.
NEVER = ("\x1b]52", "\x1b]0;", "\x1b[2J", "\x9b", "\x1bP", "\x07")


def _screen_output(pilot: Pilot[int]) -> str:
    """Exactly what Textual would write to the terminal for a full repaint."""
    update = pilot.app.screen._compositor.render_update(full=True)
    return update.render_segments(pilot.app.console)


def test_control_sequences_in_stored_text_are_inert_in_the_queue_and_ticket(
        isolated_home: Path, clock: FakeClock) -> None:
    app = sample_app(isolated_home, clock)
    row = app.desk.tickets.create(NewTicket(summary="placeholder", priority=None))
    with app.desk.store.transaction():  # as an old store or a peer could hold it
        app.desk.store.db.execute("UPDATE tickets SET summary = ? WHERE id = ?",
                                   (HOSTILE, row["id"]))

    async def steps(pilot: Pilot[int]) -> None:
        from deskcli.tui.widgets.queue_table import QueueTable

        queue = pilot.app.screen.query_one(QueueTable)
        views = [queue.view_at(i) for i in range(queue.total)]
        [view] = [v for v in views if v and "Printer ␛]52" in v.cells["summary"]]
        assert "[bold]markup[/bold]" in view.cells["summary"]  # markup shown literally
        shown = _screen_output(pilot)
        assert "Printer ␛]52" in shown
        for sequence in NEVER:
            assert sequence not in shown, repr(sequence)
        index = views.index(view)
        queue.cursor = index
        await press(pilot, "enter")
        await settle(pilot)
        shown = _screen_output(pilot)
        assert "Printer ␛]52" in shown and "[bold]markup[/bold]" in shown
        for sequence in NEVER:
            assert sequence not in shown, repr(sequence)

    drive(app, steps)


def test_the_intake_refuses_a_pasted_escape_sequence_inline(
        isolated_home: Path, clock: FakeClock) -> None:
    """The console's inputs apply the same one-line rule as the CLI: named, inline."""
    from textual.widgets import Input

    from deskcli.tui.screens.intake import IntakeScreen

    app = sample_app(isolated_home, clock)
    before = app.desk.store.tickets.count()

    async def steps(pilot: Pilot[int]) -> None:
        await press(pilot, "n")
        intake = pilot.app.screen
        assert isinstance(intake, IntakeScreen)
        intake.query_one("#caller-name", Input).value = "Ana\x1b]0;owned\x07 Chen"
        await press(pilot, "ctrl+s")
        await settle(pilot)
        from deskcli.tui.widgets.field_error import FieldError

        errors = " ".join(str(e.render()) for e in intake.query(FieldError)
                          if e.has_class("-shown"))
        assert "U+001B ESC" in errors, errors
        assert intake.page == 0
        for sequence in NEVER:
            assert sequence not in _screen_output(pilot), repr(sequence)

    drive(app, steps)
    assert app.desk.store.tickets.count() == before


def test_hostile_text_is_inert_on_the_timeline_and_details_tabs(
        isolated_home: Path, clock: FakeClock) -> None:
    """The timeline and details tabs are drawn only when shown (issue 20): what they draw
    then is as inert as the rest (a note, the caller's words): markup shown literally, no
    control sequence reaching the terminal, on the ticket's own screen and on the kept
    screen opened for a second ticket."""
    app = sample_app(isolated_home, clock)
    made = [app.desk.tickets.create(NewTicket(summary=f"placeholder {n}", caller="Pat Doe"))
            for n in range(2)]
    for row in made:
        ref = f"#{row['number']}"
        app.desk.tickets.add_note(ref, "placeholder note", internal=True)
        with app.desk.store.transaction():  # as an old store or a peer could hold them
            db = app.desk.store.db
            db.execute("UPDATE tickets SET verbatim = ? WHERE id = ?",
                       ("Words " + HOSTILE.replace("markup", "words"), row["id"]))
            db.execute("UPDATE callers SET name = ? WHERE id = ?",
                       ("Caller " + HOSTILE, row["caller_id"]))
            db.execute("UPDATE notes SET body = ? WHERE ticket_id = ?",
                       ("Note " + HOSTILE.replace("markup", "note"), row["id"]))

    async def steps(pilot: Pilot[int]) -> None:
        from deskcli.tui.screens.queue import QueueScreen

        for row in made:
            pilot.app.open_ticket(f"#{row['number']}")
            await settle(pilot)
            # Each tab's own text (the caller's name is in the header on every tab).
            for key, marks in (("2", ("Note Printer", "[bold]note[/bold]")),
                               ("3", ("Words Printer", "[bold]words[/bold]"))):
                await press(pilot, key)
                await settle(pilot)
                shown = _screen_output(pilot)
                for mark in marks:
                    assert mark in shown, (key, mark)
                for sequence in NEVER:
                    assert sequence not in shown, (key, repr(sequence))
            while not isinstance(pilot.app.screen, QueueScreen):
                await press(pilot, "escape")
                await settle(pilot)

    drive(app, steps)
