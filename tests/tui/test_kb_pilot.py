"""The knowledge base in the full-screen app, with real keys: live search that never
blocks typing, search-and-link into the fix step, the article draft on closure, and
repeat detection on the ticket screen."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Markdown, Static, TextArea

from deskcli.domain.intake import NewTicket
from deskcli.services.kb import KbService
from deskcli.tui.app import DeskApp
from deskcli.tui.screens import kb_search
from deskcli.tui.screens.kb_editor import KbEditorScreen
from deskcli.tui.screens.kb_search import KbSearchScreen
from deskcli.tui.screens.ticket import TicketScreen
from helpers import FakeClock
from tui.driving import drive, fill, go_to_step, press, settle, type_text, until
from tui.kb_app import kb_app

FIX = "Re-pointed SMTP to smtp.office365.com:587 with STARTTLS in the account settings"


@pytest.fixture
def app(isolated_home: Path, clock: FakeClock) -> DeskApp:
    return kb_app(isolated_home, clock)


def new_ticket(app: DeskApp, **record: Any) -> str:
    record.setdefault("summary", "Mail will not leave the outbox")
    row = app.desk.tickets.create(NewTicket.from_mapping(record))
    return f"#{row['number']}"


async def open_ticket(pilot: Pilot[int], ref: str) -> TicketScreen:
    pilot.app.push_screen(TicketScreen(ref))
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, TicketScreen)
    return screen


async def open_search_step(pilot: Pilot[int], ref: str) -> KbSearchScreen:
    """Open ``ref`` at its search step, whose dialog opens pre-filled; wait for its answer."""
    await open_ticket(pilot, ref)
    await go_to_step(pilot, "search_kb")
    search = pilot.app.screen
    assert isinstance(search, KbSearchScreen)
    await until(pilot, lambda: search.caught_up, "the prefilled search")
    return search


def test_search_step_opens_prefilled_and_links_the_runbook(app: DeskApp) -> None:
    ref = new_ticket(app, error="Outlook reports 0x800CCC0E when sending", client="Acme")
    kb = KbService.for_desk(app.desk)

    async def steps(pilot: Pilot[int]) -> None:
        search = await open_search_step(pilot, ref)
        assert search.query_one("#kb-query", Input).value == "0x800CCC0E"
        assert search.hits and search.hits[0].kind == "article"
        assert "0x800CCC0E" in search.hits[0].title
        preview = search.query_one("#kb-preview", Markdown)
        assert "smtp.office365.com" in preview.source
        await press(pilot, "down", "enter")
        # Back on the ticket, its view is read again in a worker and the step's form is
        # rebuilt with the link: wait for that form, not for a quiet moment.
        await until(pilot, lambda: isinstance(pilot.app.screen, TicketScreen)
                    and pilot.app.screen.form is not None
                    and "references" in pilot.app.screen.form.values(),
                    "the search step's form with the linked article")
        ticket = pilot.app.screen
        assert isinstance(ticket, TicketScreen)
        handle = search.hits[0].ref
        links = kb.links_of_ticket(ref)
        assert [link["title"] for link in links] == [search.hits[0].title]
        assert ticket.form is not None and ticket.form.step.key == "search_kb"
        assert handle in ticket.form.values()["references"]
        await go_to_step(pilot, "apply_fix")
        runbook = ticket.query_one("#field-runbook", Input).value
        assert runbook.startswith(f"KB {handle}")

    drive(app, steps)


def test_the_prefilled_query_is_searched_once(app: DeskApp,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The box is filled as it mounts and that fill is a change like any typing: it used
    to start a second, debounced search for the same words, whose answer rebuilt the list
    while the technician was already moving down it."""
    ref = new_ticket(app, error="Outlook reports 0x800CCC0E when sending", client="Acme")
    calls: list[str] = []
    real = app.session.search_kb

    def counted(text: str, **kwargs: Any) -> Any:
        calls.append(text)
        return real(text, **kwargs)

    monkeypatch.setattr(app.session, "search_kb", counted)

    async def steps(pilot: Pilot[int]) -> None:
        search = await open_search_step(pilot, ref)
        # Long past the debounce: a timer set by the fill has fired by now (timers and
        # this sleep share one loop, the earlier deadline first), and settling waits
        # for the search it would start.
        await pilot.pause(kb_search.DEBOUNCE * 3)
        await settle(pilot)
        assert calls == ["0x800CCC0E"]
        # Typing on and back to the same words leaves the shown results alone too. (The
        # pre-filled words start selected, so typing would replace them: end first.)
        await press(pilot, "end")
        await type_text(pilot, "x")
        await press(pilot, "backspace")
        await pilot.pause(kb_search.DEBOUNCE * 3)
        await settle(pilot)
        assert calls == ["0x800CCC0E"]
        await type_text(pilot, " smtp")
        await until(pilot, lambda: search.caught_up, "the search for the longer query")
        assert calls == ["0x800CCC0E", "0x800CCC0E smtp"]

    drive(app, steps)


def test_results_follow_typing_and_typing_never_waits(app: DeskApp,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    ref = new_ticket(app, client="Cedar & Pine Law")  # the spooler runbook is theirs
    release = threading.Event()
    calls: list[str] = []
    real = app.session.search_kb
    debounce = kb_search.DEBOUNCE

    def slow(text: str, **kwargs: Any) -> Any:
        calls.append(text)
        release.wait(120)  # set by the test; the bound only keeps a failed run from hanging
        return real(text, **kwargs)

    async def keys_then_pause(pilot: Pilot[int], text: str) -> None:
        """Type ``text`` key by key, the last key followed by a pause. On a loaded machine
        the gap between two keys can outlast the debounce, and the screen then rightly
        searches there: so the debounce is held open until the last key, and the only
        pause the screen sees is the one after it. Each key still restarts the timer, so
        a search per key would still show in ``calls``."""
        monkeypatch.setattr(kb_search, "DEBOUNCE", 3600.0)
        await type_text(pilot, text[:-1])
        monkeypatch.setattr(kb_search, "DEBOUNCE", debounce)
        await type_text(pilot, text[-1])

    async def steps(pilot: Pilot[int]) -> None:
        await open_ticket(pilot, ref)
        await press(pilot, "slash")
        search = pilot.app.screen
        assert isinstance(search, KbSearchScreen)
        box = search.query_one("#kb-query", Input)
        box.value = ""
        await until(pilot, lambda: search.shown == "", "the emptied box's results")
        assert search.hits == []
        monkeypatch.setattr(app.session, "search_kb", slow)
        await keys_then_pause(pilot, "spooler")
        # the debounced search is now stuck in its worker...
        await until(pilot, lambda: calls == ["spooler"], "the first search to start")
        await keys_then_pause(pilot, " offline")  # ...and keys still land at once
        assert box.value == "spooler offline"
        assert search.shown == ""
        release.set()
        await until(pilot, lambda: search.shown == "spooler offline", "the second search")
        assert calls == ["spooler", "spooler offline"], "one search per pause, not per key"
        assert search.hits[0].title == "Printer shows offline: clear the spooler"
        assert box.value == "spooler offline"

    try:
        drive(app, steps)
    finally:
        release.set()


def test_repeat_detection_on_the_ticket(app: DeskApp) -> None:
    repeated = new_ticket(app, error="0x800CCC0E: cannot reach the SMTP server")
    fresh = new_ticket(app, error="0x0BADF00D", summary="Something never seen")

    async def steps(pilot: Pilot[int]) -> None:
        screen = await open_ticket(pilot, repeated)
        line = screen.query_one("#repeat-line", Static)
        assert line.display
        text = str(line.render())
        assert "Seen" in text and "times before" in text and "smtp.office365.com" in text
        await press(pilot, "escape")
        screen = await open_ticket(pilot, fresh)
        assert not screen.query_one("#repeat-line", Static).display

    drive(app, steps)


def test_update_kb_drafts_an_article_then_edits_the_linked_one(app: DeskApp) -> None:
    ref = new_ticket(app, error="0xC004F074 on activation", summary="Office not activated",
                     verbatim="Word says it is unlicensed")
    app.desk.tickets.resolve(ref, root_cause="KMS host unreachable over the VPN",
                             resolution="Activated Office against the KMS host after "
                                        "reconnecting the VPN\nChecked the licence status")
    kb = KbService.for_desk(app.desk)

    async def steps(pilot: Pilot[int]) -> None:
        ticket = await open_ticket(pilot, ref)
        await go_to_step(pilot, "update_kb")
        assert ticket.query("#kb-write")
        await press(pilot, "escape", "w")
        await settle(pilot)
        editor = pilot.app.screen
        assert isinstance(editor, KbEditorScreen)
        assert editor.query_one("#kb-title", Input).value == "Office not activated"
        body = editor.query_one("#kb-body", TextArea).text
        assert "Word says it is unlicensed" in body and "KMS host unreachable" in body
        assert "1. Activated Office" in body and "2. Checked the licence status" in body
        assert editor.query_one("#kb-errors", Input).value == "0xC004F074"
        editor.query_one("#kb-products", Input).value = "Microsoft 365, Office"
        await press(pilot, "end")
        await fill(pilot, " with KMS")
        await press(pilot, "ctrl+s")
        await settle(pilot)
        assert pilot.app.screen is ticket
        links = kb.links_of_ticket(ref)
        assert [link["title"] for link in links] == ["Office not activated with KMS"]
        handle = links[0]["article_id"][-8:]
        assert ticket.form is not None and ticket.form.values()["article"] == handle
        assert ticket.form.values()["outcome"] == "created"
        # Again: the linked article opens for editing, and saving adds a version.
        await press(pilot, "w")
        await settle(pilot)
        editor = pilot.app.screen
        assert isinstance(editor, KbEditorScreen) and editor.article_id is not None
        editor.query_one("#kb-tags", Input).value = "licensing"
        await press(pilot, "ctrl+s")
        await settle(pilot)
        detail = kb.detail(handle)
        # Only what was changed: the products (and the client) stay as they were.
        assert [v["changed"] for v in detail.versions] == ["created", "tags"]
        assert detail.article["products"] == "Microsoft 365,Office"
        assert ticket.form.values()["outcome"] == "updated"

    drive(app, steps)


def test_editor_refuses_an_empty_title_and_keeps_the_text(app: DeskApp) -> None:
    ref = new_ticket(app)

    async def steps(pilot: Pilot[int]) -> None:
        await open_ticket(pilot, ref)
        await press(pilot, "w")
        await settle(pilot)
        editor = pilot.app.screen
        assert isinstance(editor, KbEditorScreen)
        editor.query_one("#kb-title", Input).value = ""
        await press(pilot, "ctrl+s")
        await settle(pilot)
        assert pilot.app.screen is editor
        assert "needs a title" in str(editor.query_one("#kb-editor-error", Static).render())

    drive(app, steps)


def test_words_typed_back_while_their_answer_was_dropped_are_searched_again(
        app: DeskApp, monkeypatch: pytest.MonkeyPatch) -> None:
    """A search runs for "…x"; the technician deletes the x before it answers, so its
    answer comes back for words no longer in the box and is dropped; then they type the x
    again. The box says "…x" once more, and nothing shows its results (their answer was
    dropped): they must be searched again, not taken as shown."""
    ref = new_ticket(app, error="Outlook reports 0x800CCC0E when sending", client="Acme")
    debounce = kb_search.DEBOUNCE
    calls: list[str] = []
    release = threading.Event()
    real = app.session.search_kb

    def held(text: str, **kwargs: Any) -> Any:
        calls.append(text)
        if text.endswith("x"):
            release.wait(120)  # set by the test; the bound only keeps a failed run going
        return real(text, **kwargs)

    async def steps(pilot: Pilot[int]) -> None:
        search = await open_search_step(pilot, ref)
        box = search.query_one("#kb-query", Input)
        monkeypatch.setattr(app.session, "search_kb", held)
        await press(pilot, "end")
        await pilot.press("x")
        await until(pilot, lambda: calls == ["0x800CCC0Ex"], "the search for the x")
        monkeypatch.setattr(kb_search, "DEBOUNCE", 3600.0)  # no search while it is held
        await pilot.press("backspace")
        assert box.value == "0x800CCC0E" and search.shown == "0x800CCC0E"
        release.set()  # answers "…x" while the box says "…E": dropped
        await until(pilot, lambda: not any(w.is_running for w in pilot.app.workers),
                    "the held search to answer")
        assert search.shown == "0x800CCC0E"
        monkeypatch.setattr(kb_search, "DEBOUNCE", debounce)
        await pilot.press("x")
        assert box.value == "0x800CCC0Ex"
        await until(pilot, lambda: search.caught_up, "results for the words in the box")
        assert search.shown == "0x800CCC0Ex" and calls[-1] == "0x800CCC0Ex"

    drive(app, steps)
