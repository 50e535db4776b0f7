"""Bulk actions from the queue with real key presses: every action through its form and
the preview, then cancel, apply to all, or apply to the ones that can; the store is read
afterwards (the rows, and the sync outbox that carries each change to the team).

Sample tickets used (see ``tui/sample_app.py``): #1158 (new) and #1159 (open) belong to
Northwind Dental like #1161, the P1 they can be linked under; #1160 belongs to another
client; #1002 is closed; #1001 and #1003 are resolved with their time logged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, Static

from deskcli.domain.numbering import parse_ref
from deskcli.tui.app import DeskApp, build_app
from deskcli.tui.screens.bulk_forms import BulkForm
from deskcli.tui.screens.bulk_preview import BulkPreviewScreen
from deskcli.tui.screens.queue import QueueScreen
from deskcli.tui.session import QueueFilters
from deskcli.tui.widgets.field_error import FieldError
from deskcli.tui.widgets.queue_table import QueueTable
from helpers import FakeClock, SeqIds
from tui.driving import drive, fill, press, settle
from tui.sample_app import sample_desk

RESOLUTION = ("Restarted the file service on FS01 and confirmed the share opens from "
              "two office PCs")
NOTE = "Switch logs checked at 09:05; nothing on our side yet"
UPDATE = "We are working on it; the next update comes by 11:00"

Steps = Callable[[Pilot[int]], Awaitable[None]]


def keys(*names: str) -> Steps:
    async def run(pilot: Pilot[int]) -> None:
        await press(pilot, *names)
    return run


def typed(*texts: str) -> Steps:
    """Fill the focused field, then each next one (tab between)."""
    async def run(pilot: Pilot[int]) -> None:
        for number, text in enumerate(texts):
            if number:
                await press(pilot, "tab")
            await fill(pilot, text)
    return run


def nothing() -> Steps:
    async def run(_pilot: Pilot[int]) -> None:
        return None
    return run


@dataclass(frozen=True)
class Case:
    key: str
    form: Steps
    #: Two tickets that take the change, and one that refuses it (None: nothing refuses
    #: this action; the third ticket then takes it too).
    accept: tuple[str, str]
    refuse: str | None
    third: str
    #: Did the change land on this ticket?
    landed: Callable[[DeskApp, str], bool]


def last_notice(app: DeskApp) -> str:
    return list(app._notifications)[-1].message


def ticket(app: DeskApp, ref: str) -> dict[str, Any]:
    return dict(app.desk.tickets.find(ref))


def notes(app: DeskApp, ref: str, *, internal: bool) -> list[str]:
    rows = app.desk.store.db.execute(
        "SELECT body FROM notes WHERE ticket_id = ? AND internal = ?",
        (ticket(app, ref)["id"], int(internal)))
    return [row["body"] for row in rows]


CASES = {
    "status": Case("s", keys("down"), ("#1158", "#1159"), "#1002", "#1002",
                   lambda app, ref: ticket(app, ref)["status"] == "in-progress"),
    "priority": Case("p", keys("up"), ("#1158", "#1159"), None, "#1002",
                     lambda app, ref: ticket(app, ref)["priority"] == "P2"),
    "assignee": Case("a", typed("kai"), ("#1158", "#1159"), None, "#1002",
                     lambda app, ref: ticket(app, ref)["assignee"] == "kai"),
    "queue": Case("q", typed("network"), ("#1158", "#1159"), None, "#1002",
                  lambda app, ref: ticket(app, ref)["queue"] == "network"),
    "tags": Case("t", typed("outage erp", "vip"), ("#1158", "#1159"), None, "#1002",
                 lambda app, ref: app.desk.tickets.tags_of(ticket(app, ref)["id"])
                 == ["erp", "outage"]),
    "note": Case("i", typed(NOTE), ("#1158", "#1159"), None, "#1002",
                 lambda app, ref: NOTE in notes(app, ref, internal=True)),
    "update": Case("u", typed(UPDATE), ("#1158", "#1159"), None, "#1002",
                   lambda app, ref: UPDATE in notes(app, ref, internal=False)),
    "link": Case("l", typed("1161"), ("#1158", "#1159"), "#1160", "#1160",
                 lambda app, ref: ticket(app, ref)["parent_id"]
                 == ticket(app, "#1161")["id"]),
    "resolve": Case("v", typed("File service hung", RESOLUTION), ("#1158", "#1159"),
                    "#1002", "#1002",
                    lambda app, ref: ticket(app, ref)["status"] == "resolved"
                    and ticket(app, ref)["resolution"] == RESOLUTION),
    "close": Case("c", nothing(), ("#1001", "#1003"), "#1161", "#1161",
                  lambda app, ref: ticket(app, ref)["status"] == "closed"),
}


def queue(app: DeskApp) -> QueueScreen:
    screen = app.screen_stack[1]
    assert isinstance(screen, QueueScreen)
    return screen


async def mark(pilot: Pilot[int], *refs: str) -> None:
    """Mark tickets with the space key, finding each by its number."""
    app: DeskApp = pilot.app  # type: ignore[assignment]
    table = app.screen.query_one(QueueTable)
    for ref in refs:
        table.load(QueueFilters(search=ref))
        await settle(pilot)
        assert table.total == 1, f"{ref} not found alone"
        await press(pilot, "space")
    table.load(QueueFilters())
    await settle(pilot)


def ids(app: DeskApp, *refs: str) -> set[str]:
    return {ticket(app, ref)["id"] for ref in refs}


async def preview(pilot: Pilot[int], case: Case) -> BulkPreviewScreen:
    app: DeskApp = pilot.app  # type: ignore[assignment]
    await press(pilot, "a", case.key)
    assert isinstance(app.screen, BulkForm), app.screen
    await case.form(pilot)
    await press(pilot, "ctrl+s")
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, BulkPreviewScreen), (
        f"no preview: {[str(e.render()) for e in screen.query(FieldError)]}")
    return screen


@pytest.mark.parametrize("kind", list(CASES))
def test_cancel_writes_nothing_then_apply_to_all(app: DeskApp, kind: str) -> None:
    case = CASES[kind]

    async def steps(pilot: Pilot[int]) -> None:
        await mark(pilot, *case.accept)
        marked = ids(app, *case.accept)
        rows = {ref: ticket(app, ref) for ref in case.accept}
        outbox = app.desk.store.sync.outbox_count()

        shown = await preview(pilot, case)
        assert len(shown.preview.changed) == 2 and not shown.preview.refused
        assert "2 tickets will change" in str(shown.query_one("#preview-summary").render())
        await press(pilot, "escape")
        assert isinstance(app.screen, QueueScreen)
        assert app.desk.store.sync.outbox_count() == outbox, "a cancelled preview writes nothing"
        assert {ref: ticket(app, ref) for ref in case.accept} == rows
        assert set(queue(app).selection) == marked, "cancel keeps the marks"

        await preview(pilot, case)
        await press(pilot, "ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)
        assert all(case.landed(app, ref) for ref in case.accept)
        assert app.desk.store.sync.outbox_count() > outbox, "each change carries its sync op"
        assert not queue(app).selection, "everything went through: no marks left"
        assert "2 tickets changed" in last_notice(app)

    drive(app, steps)


@pytest.mark.parametrize("kind", list(CASES))
def test_apply_to_the_ones_that_can(app: DeskApp, kind: str) -> None:
    case = CASES[kind]

    async def steps(pilot: Pilot[int]) -> None:
        await mark(pilot, *case.accept, case.third)
        third = ticket(app, case.third)
        shown = await preview(pilot, case)
        if case.refuse is None:
            assert len(shown.preview.changed) == 3 and not shown.preview.refused
        else:
            assert [o.ref for o in shown.preview.refused] == [case.refuse]
            text = " ".join(str(line.render()) for line in
                            shown.query_one("#preview-refused").query(Static))
            assert case.refuse in text and "✗ Refused (1)" in text
            assert shown.query_one("#apply-all", Button).disabled
            outbox = app.desk.store.sync.outbox_count()
            await press(pilot, "ctrl+s")  # all or nothing, with a refusal: not offered
            assert app.screen is shown and app.desk.store.sync.outbox_count() == outbox
        await press(pilot, "k")
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)
        assert all(case.landed(app, ref) for ref in case.accept)
        if case.refuse is None:
            assert case.landed(app, case.third)
            assert not queue(app).selection
        else:
            assert ticket(app, case.third) == third, "the refused ticket is untouched"
            assert set(queue(app).selection) == ids(app, case.refuse), \
                "the refused ticket stays marked, the rest are unmarked"
            assert "still marked" in last_notice(app)

    drive(app, steps)


def test_a_refusal_since_the_preview_writes_nothing(app: DeskApp) -> None:
    """All or nothing: a ticket that changed after the preview (a colleague resolved it)
    now refuses; nothing is written and the dialog shows the fresh preview."""
    async def steps(pilot: Pilot[int]) -> None:
        await mark(pilot, "#1158", "#1159")
        shown = await preview(pilot, CASES["status"])
        app.desk.tickets.resolve("#1159", root_cause="Cable unplugged", resolution=RESOLUTION)
        outbox = app.desk.store.sync.outbox_count()
        await press(pilot, "ctrl+s")
        await settle(pilot)
        assert app.screen is shown
        assert ticket(app, "#1158")["status"] == "new", "nothing was written"
        assert app.desk.store.sync.outbox_count() == outbox
        errors = " ".join(str(e.render()) for e in shown.query(FieldError))
        assert "Nothing was written: #1159 refused since the preview" in errors
        assert [o.ref for o in shown.preview.refused] == ["#1159"]
        await press(pilot, "k")
        await settle(pilot)
        assert ticket(app, "#1158")["status"] == "in-progress"
        assert ticket(app, "#1159")["status"] == "resolved"

    drive(app, steps)


@pytest.mark.parametrize(("kind", "steps_", "field", "says"), [
    ("note", typed("   "), "note", "note is required"),
    ("update", typed(""), "note", "note is required"),
    ("tags", typed("Outage!"), "tags", "is not a tag"),
    ("tags", typed(""), "tags", "type a tag"),
    ("link", typed("the erp one"), "parent", "is not a ticket reference"),
    ("link", typed("99999"), "form", "no ticket #99999"),
    ("resolve", typed("It broke", "Fixed it"), "resolution", "too vague"),
    ("resolve", typed("", RESOLUTION), "root_cause", "root_cause is required"),
])
def test_bad_input_is_refused_in_the_form(app: DeskApp, kind: str, steps_: Steps,
                                          field: str, says: str) -> None:
    async def steps(pilot: Pilot[int]) -> None:
        await mark(pilot, "#1158", "#1159")
        outbox = app.desk.store.sync.outbox_count()
        await press(pilot, "a", CASES[kind].key)
        await steps_(pilot)
        await press(pilot, "ctrl+s")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, BulkForm), "no preview for bad input"
        shown = [e for e in form.query(FieldError) if e.has_class("-shown")]
        assert [e.field for e in shown] == [field]
        assert says in str(shown[0].render())
        assert app.desk.store.sync.outbox_count() == outbox, "nothing written"
        await press(pilot, "escape")
        assert isinstance(app.screen, QueueScreen) and len(queue(app).selection) == 2

    drive(app, steps)


def test_a_with_nothing_marked_says_how_to_mark(app: DeskApp) -> None:
    async def steps(pilot: Pilot[int]) -> None:
        await press(pilot, "a")
        assert isinstance(app.screen, QueueScreen)
        assert "Nothing is marked" in last_notice(app)

    drive(app, steps)


def test_the_palette_lists_every_action_and_escape_leaves_it(app: DeskApp) -> None:
    from deskcli.tui.screens.bulk_menu import ACTIONS, BulkMenuScreen

    async def steps(pilot: Pilot[int]) -> None:
        await press(pilot, "space", "a")
        menu = app.screen
        assert isinstance(menu, BulkMenuScreen)
        assert "Act on the 1 marked ticket" in str(menu.query_one(".dialog-title").render())
        assert menu.query_one("#bulk-actions").option_count == len(ACTIONS) == 10
        await press(pilot, "down", "enter")  # the second: priority, by arrows
        assert isinstance(app.screen, BulkForm) and app.screen.KIND == "priority"
        await press(pilot, "escape", "a", "escape")
        assert isinstance(app.screen, QueueScreen) and len(queue(app).selection) == 1

    drive(app, steps)


MAIL = """
[notify]
email = "mail"

[notify.channels.mail]
type = "smtp"
host = "127.0.0.1"
port = 9
username = "desk"
from = "servicedesk@example.org"
"""


@pytest.fixture
def mail_app(isolated_home: Path, clock: FakeClock,
             monkeypatch: pytest.MonkeyPatch) -> DeskApp:
    """The sample desk with an email channel; the sender never runs (nothing is sent),
    so the outbound queue shows what would go."""
    monkeypatch.setenv("DESKCLI_NOTIFY_MAIL_PASSWORD", "not-used")
    config = isolated_home / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "config.toml").write_text(MAIL)
    desk = sample_desk(isolated_home, clock)
    return build_app(desk, new_id=SeqIds(), tick=None, offer_samples=False,
                     notify_every=None)


def test_an_update_queues_one_message_per_caller_with_their_own_number(
        mail_app: DeskApp) -> None:
    app = mail_app
    from deskcli.storage.outbound import OutboundQueue

    async def steps(pilot: Pilot[int]) -> None:
        refs = ("#1158", "#1159")
        await mark(pilot, *refs)
        shown = await preview(pilot, CASES["update"])
        assert "Each caller gets a message of their own" in str(
            shown.query_one("#preview-summary").render())
        assert not any(OutboundQueue(app.desk.store).for_ticket(i) for i in ids(app, *refs))
        await press(pilot, "ctrl+s")
        await settle(pilot)
        for ref in refs:
            row = ticket(app, ref)
            sent = [m for m in OutboundQueue(app.desk.store).for_ticket(row["id"])
                    if m["purpose"] == "update"]
            assert len(sent) == 1 and sent[0]["recipient"] == row["caller_email"]
            assert ref in sent[0]["payload"] and UPDATE in sent[0]["payload"]

    drive(app, steps)


def test_without_email_the_preview_says_nobody_is_emailed(app: DeskApp) -> None:
    async def steps(pilot: Pilot[int]) -> None:
        await mark(pilot, "#1158")
        shown = await preview(pilot, CASES["update"])
        assert "nobody is emailed" in str(shown.query_one("#preview-summary").render())

    drive(app, steps)


def test_refs_given_are_ticket_ids(app: DeskApp) -> None:
    """The marks are ids, so a ticket renumbered by a sync is still the one marked."""
    async def steps(pilot: Pilot[int]) -> None:
        await mark(pilot, "#1158")
        (marked,) = queue(app).selection
        assert parse_ref(marked).ticket_id == ticket(app, "#1158")["id"]

    drive(app, steps)
