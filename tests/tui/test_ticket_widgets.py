"""The ticket screen's parts on their own and the screen kept between tickets: the step
panel, the knowledge-base actions, the timeline read a page at a time, the intake page,
and the footer that rebuilds only when its keys change."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import Footer

from deskcli.domain.errors import InvalidInput
from deskcli.domain.intake import NewTicket
from deskcli.tui.app import DeskApp
from deskcli.tui.screens.kb_search import KbPick
from deskcli.tui.screens.queue import QueueScreen
from deskcli.tui.screens.ticket import TicketScreen
from deskcli.tui.session import TIMELINE_PAGE
from deskcli.tui.widgets.field_error import FieldError
from deskcli.tui.widgets.footer import DeskFooter
from deskcli.tui.widgets.intake_page import IntakePage
from deskcli.tui.widgets.kb_actions import KbActions
from deskcli.tui.widgets.step_panel import KB_SEARCH_STEP, StepPanel
from deskcli.tui.widgets.ticket_header import TicketHeader
from deskcli.tui.widgets.timeline import TimelineView
from tui.driving import drive, go_to_step, open_from_queue, press, settle, type_text

RECORD = {"summary": "Outlook asks for a password again and again", "caller": "Ana Chen",
          "email": "ana@example.com"}


def new_ticket(app: DeskApp, summary: str = RECORD["summary"]) -> str:
    row = app.desk.tickets.create(NewTicket.from_mapping({**RECORD, "summary": summary}))
    return f"#{row['number']}"


def header_text(screen: TicketScreen) -> str:
    return screen.query_one(TicketHeader).plain


def test_the_ticket_screen_is_built_once_and_shows_each_ticket(app: DeskApp) -> None:
    first = new_ticket(app, "Printer on the third floor prints blank pages")
    second = new_ticket(app, "VPN drops every ten minutes at home")

    async def steps(pilot: Pilot[int]) -> None:
        screen = await open_from_queue(pilot, first)
        assert "Printer on the third floor" in header_text(screen)
        await press(pilot, "escape")
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)
        await press(pilot, "escape")  # clear the search
        await settle(pilot)
        again = await open_from_queue(pilot, second)
        assert again is screen, "the same screen, not a new one"
        assert "VPN drops" in header_text(again)
        assert "Printer" not in header_text(again)
        assert again.query_one(StepPanel).ticket_id == again.view.ticket["id"]  # type: ignore[union-attr]
        assert again.query_one("#ticket-body").display

    drive(app, steps)


def test_the_next_ticket_shows_only_its_own_values_in_a_reused_form(app: DeskApp) -> None:
    """The step form is refilled in place for the next ticket at the same step: nothing
    typed, checked or recorded on the first may show on the second."""
    first = app.desk.tickets.create(NewTicket.from_mapping({
        **RECORD, "summary": "Printer on the third floor prints blank pages",
        "verbatim": "the printer spits out empty sheets", "error": "E-PRN-17",
        "doing": "printing the weekly report"}))
    second = app.desk.tickets.create(NewTicket.from_mapping({
        **RECORD, "summary": "VPN drops every ten minutes at home",
        "verbatim": "my VPN keeps cutting out", "users_affected": 3,
        "verified": "callback"}))  # opens at the step A was left on
    a_ref, b_ref = f"#{first['number']}", f"#{second['number']}"

    def shown(screen: TicketScreen) -> dict[str, Any]:
        form = screen.form
        assert form is not None
        return {spec.key: form.raw(spec) for spec in form.step.fields}

    async def steps(pilot: Pilot[int]) -> None:
        screen = await open_from_queue(pilot, a_ref)
        await go_to_step(pilot, "capture_issue")
        form = screen.form
        assert form is not None and form.step.key == "capture_issue"
        assert shown(screen)["error_text"] == "E-PRN-17"
        # Typed by hand into A: a draft of A, and a field check that fails on A.
        form.field_widget("doing").focus()
        await type_text(pilot, " STALE")
        form.field_widget("users_affected").focus()
        await type_text(pilot, "lots")
        await press(pilot, "ctrl+s")
        await settle(pilot)
        assert any(e.has_class("-shown") for e in form.query(FieldError))
        drafted = app.session.drafts.step(first["id"], "capture_issue")
        assert drafted["doing"] == "printing the weekly report STALE"
        await press(pilot, "escape", "escape")
        assert isinstance(app.screen, QueueScreen)
        await press(pilot, "escape")  # clear the search

        again = await open_from_queue(pilot, b_ref)
        assert again.form is form, "the same form, refilled in place"
        values = shown(again)
        assert values == {"verbatim": "my VPN keeps cutting out", "error_text": "",
                          "doing": "", "reproducible": None, "users_affected": "3"}
        assert not any(e.has_class("-shown") for e in form.query(FieldError))
        assert "STALE" not in str(values) and "E-PRN-17" not in header_text(again)
        assert app.session.drafts.step(second["id"], "capture_issue") == {}, \
            "opening a ticket writes no draft by itself"
        # Another step and back: that step's form is kept too, and refilled for B.
        await go_to_step(pilot, "set_priority")
        assert again.form is not form and not form.display
        await go_to_step(pilot, "capture_issue")
        assert again.form is form and shown(again) == values
        assert not any(e.has_class("-shown") for e in again.query(FieldError))
        # B's own typing is B's draft; A's draft is still A's, shown when A is back.
        form.field_widget("doing").focus()
        await type_text(pilot, "home wifi")
        assert app.session.drafts.step(second["id"], "capture_issue") == {
            "verbatim": "my VPN keeps cutting out", "doing": "home wifi",
            "users_affected": "3"}
        await press(pilot, "escape", "escape", "escape")
        back = await open_from_queue(pilot, a_ref)
        await go_to_step(pilot, "capture_issue")
        assert shown(back)["doing"] == "printing the weekly report STALE"
        assert shown(back)["users_affected"] == "lots"

    drive(app, steps)


def test_a_ticket_read_after_the_technician_moved_on_is_not_pushed(app: DeskApp) -> None:
    """The kept screen is pushed once its ticket is read; if another screen came up in
    between (help, a new intake), the ticket does not jump in front of it."""
    from deskcli.tui.screens.help import HelpScreen

    first = new_ticket(app, "Printer on the third floor prints blank pages")
    second = new_ticket(app, "VPN drops every ten minutes at home")

    async def steps(pilot: Pilot[int]) -> None:
        screen = await open_from_queue(pilot, first)
        await press(pilot, "escape", "escape")
        assert isinstance(app.screen, QueueScreen)
        app.open_ticket(second)
        await app.push_screen(HelpScreen())  # before the read can land
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen) and screen not in app.screen_stack
        await press(pilot, "escape")
        assert isinstance(app.screen, QueueScreen)
        again = await open_from_queue(pilot, second)
        assert again is screen and "VPN drops" in header_text(again)

    drive(app, steps)


def test_a_read_for_the_previous_ticket_is_dropped(app: DeskApp) -> None:
    first = new_ticket(app, "Printer on the third floor prints blank pages")
    second = new_ticket(app, "VPN drops every ten minutes at home")

    async def steps(pilot: Pilot[int]) -> None:
        screen = await open_from_queue(pilot, first)
        stale = screen.session.ticket_view(first)
        opening = screen._opening
        await press(pilot, "escape")
        await settle(pilot)
        await press(pilot, "escape")
        await settle(pilot)
        await open_from_queue(pilot, second)
        # An answer for the first ticket arriving late must not replace the second.
        screen.post_message(TicketScreen._Loaded(stale, opening))
        await settle(pilot)
        assert screen.ref == second and "VPN drops" in header_text(screen)

    drive(app, steps)


def test_the_timeline_shows_the_latest_page_and_reads_earlier_ones(app: DeskApp) -> None:
    ref = new_ticket(app)
    for n in range(2 * TIMELINE_PAGE + 5):
        app.desk.tickets.add_note(ref, f"checked the mailbox, attempt {n}", internal=True)

    async def steps(pilot: Pilot[int]) -> None:
        screen = await open_from_queue(pilot, ref)
        timeline = screen.query_one(TimelineView)
        assert len(timeline.events) == TIMELINE_PAGE and timeline.more
        assert timeline.events[-1]["note_body"].endswith(f"attempt {2 * TIMELINE_PAGE + 4}")
        await press(pilot, "2", "e")
        await settle(pilot)
        assert len(timeline.events) == 2 * TIMELINE_PAGE and timeline.more
        await press(pilot, "e")
        await settle(pilot)
        everything = app.desk.store.timeline.events(screen.view.ticket["id"])  # type: ignore[union-attr]
        assert [e["id"] for e in timeline.events] == [e["id"] for e in everything]
        assert not timeline.more

    drive(app, steps)


def test_step_panel_cites_and_fills_the_search_query_into_drafts(app: DeskApp) -> None:
    ref = new_ticket(app)

    async def steps(pilot: Pilot[int]) -> None:
        screen = await open_from_queue(pilot, ref)
        await go_to_step(pilot, KB_SEARCH_STEP)
        await settle(pilot)
        if isinstance(app.screen, TicketScreen) is False:  # the step opens the search
            await press(pilot, "escape")
            await settle(pilot)
        panel = screen.query_one(StepPanel)
        assert panel.form is not None and panel.form.step.key == KB_SEARCH_STEP
        view = screen.view
        assert view is not None
        panel.form.set_value("query", "")
        panel.searched("outlook password prompt",
                       view.detail.progress.checklist.step(KB_SEARCH_STEP), {})
        assert panel.form.values()["query"] == "outlook password prompt"
        added = panel.cite("#1234")
        assert added is not None and added[0] == "#1234"
        kept = app.session.drafts.step(view.ticket["id"], KB_SEARCH_STEP)
        assert "#1234" in str(kept) and kept["query"] == "outlook password prompt"
        # A past ticket picked in the search is cited the same way, through KbActions.
        screen.query_one(KbActions).use(ref, KbPick(kind="ticket", ref="#77", ref_id="x",
                                                    title="an old one"))
        await settle(pilot)
        assert "#77" in str(panel.form.values())

    drive(app, steps)


def test_a_refused_step_shows_the_reason_beside_its_field(app: DeskApp) -> None:
    ref = new_ticket(app)

    async def steps(pilot: Pilot[int]) -> None:
        screen = await open_from_queue(pilot, ref)
        panel = screen.query_one(StepPanel)
        form = panel.form
        assert form is not None and form.step.fields
        field = form.step.fields[0].key
        panel.post_message(StepPanel._Refused(form.step.key,
                                              InvalidInput("not like that", field=field)))
        await settle(pilot)
        shown = [e for e in panel.query(FieldError) if e.has_class("-shown")]
        assert shown and "not like that" in str(shown[0].render())

    drive(app, steps)


class IntakePageApp(App[None]):
    def __init__(self, page: IntakePage) -> None:
        super().__init__()
        self.page = page

    def compose(self) -> ComposeResult:
        yield self.page


def test_intake_page_checks_its_step_and_shows_why_it_is_skipped(app: DeskApp) -> None:
    checklist = app.desk.checklists[app.desk.tickets.default_checklist]
    step = next(s for s in checklist.phases[0].steps
                if any(f.required for f in s.fields))
    page = IntakePage(0, step, values={}, lead=[], trail=[])
    calls: list[str] = []

    async def run() -> None:
        async with IntakePageApp(page).run_test() as pilot:
            assert page.check(lambda: calls.append("own")) is False
            assert calls == ["own"]
            assert any(e.has_class("-shown") for e in page.query(FieldError))
            page.show_skipped("raised by monitoring")
            await pilot.pause()
            assert not page.form.display
            assert page.check() is True, "a skipped page has nothing to check"
            page.show_skipped(None)
            assert page.form.display

    asyncio.run(run())


def test_the_footer_rebuilds_only_when_its_keys_change(
        app: DeskApp, monkeypatch: pytest.MonkeyPatch) -> None:
    rebuilt: list[Any] = []
    real = Footer.bindings_changed

    def counted(self: Footer, screen: Any) -> None:
        rebuilt.append(screen)
        real(self, screen)

    monkeypatch.setattr(Footer, "bindings_changed", counted)

    async def steps(pilot: Pilot[int]) -> None:
        await settle(pilot)
        footer = app.screen.query_one(DeskFooter)
        rebuilt.clear()
        app.screen.refresh_bindings()
        await settle(pilot)
        app.screen.refresh_bindings()
        await settle(pilot)
        assert rebuilt == [], "the same keys: nothing rebuilt"
        footer._shown = None
        app.screen.refresh_bindings()
        await settle(pilot)
        assert rebuilt == [app.screen]

    drive(app, steps)


def test_the_checklist_shows_the_next_tickets_marks_line_by_line(app: DeskApp) -> None:
    """The checklist keeps what it drew when only its height changes between tickets;
    what it draws must still be the shown ticket's marks, never the last one's."""
    from deskcli.tui.widgets.checklist_sidebar import ChecklistSidebar

    first = new_ticket(app, "Printer on the third floor prints blank pages")
    second = app.desk.tickets.create(NewTicket.from_mapping({
        **RECORD, "summary": "VPN drops every ten minutes at home",
        "verbatim": "my VPN keeps cutting out", "verified": "callback"}))
    second_ref = f"#{second['number']}"

    def drawn(screen: TicketScreen) -> str:
        sidebar = screen.query_one(ChecklistSidebar)
        return "\n".join(sidebar.render_line(y).text for y in range(sidebar.size.height))

    def marks_match(screen: TicketScreen) -> None:
        assert screen.view is not None
        text = drawn(screen)
        for item in screen.view.detail.progress.items:
            if item.state.marker and item.step.title[:12] in text:
                assert f"{item.state.marker} {item.step.title[:12]}" in text, (
                    item.step.key, text)

    async def steps(pilot: Pilot[int]) -> None:
        screen = await open_from_queue(pilot, first)
        marks_match(screen)
        before = drawn(screen)
        await press(pilot, "escape")
        await settle(pilot)
        await press(pilot, "escape")  # clear the search
        await settle(pilot)
        await open_from_queue(pilot, second_ref)
        marks_match(screen)
        assert drawn(screen) != before, "the second ticket is further on its checklist"
        await press(pilot, "escape")
        await settle(pilot)
        await press(pilot, "escape")
        await settle(pilot)
        await open_from_queue(pilot, first)
        assert drawn(screen) == before

    drive(app, steps)


def test_the_queue_under_a_ticket_is_not_drawn_and_the_heap_is_kept(app: DeskApp) -> None:
    """A queue hidden under the opaque ticket screen does not repaint the ticket screen
    for its own redraws; the console's long-lived objects are frozen out of the garbage
    collector's full passes while it runs, and handed back when it exits."""
    import gc

    ref = new_ticket(app)

    async def steps(pilot: Pilot[int]) -> None:
        queue = app.screen
        assert isinstance(queue, QueueScreen) and queue.is_current
        await open_from_queue(pilot, ref)
        assert not queue.is_current
        assert gc.get_freeze_count() > 0
        await press(pilot, "escape")
        await settle(pilot)
        assert app.screen is queue and queue.is_current

    drive(app, steps)
    assert gc.get_freeze_count() == 0
