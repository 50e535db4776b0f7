"""Parent and children on the ticket screen, with real key presses: a child names its
parent, a parent counts its children, and resolving the parent through its checklist
offers to resolve the open children the same way (preview first, through the bulk
service)."""

from __future__ import annotations

from textual.pilot import Pilot

from deskcli.tui.app import DeskApp
from deskcli.tui.screens.bulk_preview import BulkPreviewScreen
from deskcli.tui.screens.confirm import ConfirmScreen
from deskcli.tui.screens.ticket import TicketScreen
from deskcli.tui.widgets.ticket_family import TicketFamily
from tui.driving import drive, fill, go_to_step, press, settle
from tui.test_ticket_pilot import open_ticket

PARENT, CHILDREN = "#1161", ("#1158", "#1159")
CAUSE = "The file service on FS01 hung after the nightly backup"
FIX = "Restarted the file service on FS01 and confirmed the share opens from two PCs"


def linked(app: DeskApp) -> None:
    for child in CHILDREN:
        app.desk.tickets.link(child, PARENT)


def family_text(app: DeskApp) -> str:
    widget = app.screen.query_one(TicketFamily)
    assert widget.has_class("-shown")
    return str(widget.query_one("#family-text").render())


def status(app: DeskApp, ref: str) -> str:
    return str(app.desk.tickets.find(ref)["status"])


async def resolve_parent(pilot: Pilot[int]) -> None:
    """The parent's own resolution step, as a technician fills it in."""
    await go_to_step(pilot, "document_resolution")
    await fill(pilot, CAUSE)
    await press(pilot, "tab")
    await fill(pilot, FIX)
    await press(pilot, "ctrl+s")
    await settle(pilot)


def test_a_child_names_its_parent_and_the_parent_counts_its_children(app: DeskApp) -> None:
    linked(app)

    async def steps(pilot: Pilot[int]) -> None:
        await open_ticket(pilot, "#1158")
        assert "Part of #1161 (New) Whole office cannot reach the file server" \
            in family_text(app)
        await press(pilot, "escape", "escape")
        await settle(pilot)
        await open_ticket(pilot, PARENT)
        text = family_text(app)
        assert "2 child tickets · 2 open" in text
        assert "#1159 open, #1158 new" in text  # oldest first
        assert not app.screen.query_one(TicketFamily).has_class("-offer")

    drive(app, steps)


def test_a_ticket_with_no_family_shows_nothing(app: DeskApp) -> None:
    async def steps(pilot: Pilot[int]) -> None:
        await open_ticket(pilot, "#1158")
        assert not app.screen.query_one(TicketFamily).has_class("-shown")

    drive(app, steps)


def test_resolving_the_parent_offers_to_resolve_its_children(app: DeskApp) -> None:
    linked(app)

    async def steps(pilot: Pilot[int]) -> None:
        await open_ticket(pilot, PARENT)
        await resolve_parent(pilot)
        assert status(app, PARENT) == "resolved"
        assert isinstance(app.screen, ConfirmScreen), "the offer comes as the step saves"
        assert all(status(app, c) != "resolved" for c in CHILDREN), "nothing yet"
        outbox = app.desk.store.sync.outbox_count()
        await press(pilot, "y")
        await settle(pilot)
        shown = app.screen
        assert isinstance(shown, BulkPreviewScreen)
        assert sorted(o.ref for o in shown.preview.changed) == list(CHILDREN)
        assert app.desk.store.sync.outbox_count() == outbox, "the preview writes nothing"
        await press(pilot, "ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, TicketScreen)
        for child in CHILDREN:
            row = app.desk.tickets.find(child)
            assert row["status"] == "resolved"
            assert (row["root_cause"], row["resolution"]) == (CAUSE, FIX)
        assert app.desk.store.sync.outbox_count() > outbox
        assert "none open" in family_text(app)

    drive(app, steps)


def test_not_now_leaves_the_children_and_the_button_offers_again(app: DeskApp) -> None:
    linked(app)

    async def steps(pilot: Pilot[int]) -> None:
        await open_ticket(pilot, PARENT)
        await resolve_parent(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await press(pilot, "n")
        await settle(pilot)
        assert all(status(app, c) != "resolved" for c in CHILDREN)
        widget = app.screen.query_one(TicketFamily)
        assert widget.has_class("-offer"), "the widget keeps the offer as a button"
        assert "Resolve the 2 open children" in str(
            widget.query_one("#family-resolve").render())
        widget.query_one("#family-resolve").focus()
        await press(pilot, "enter")
        assert isinstance(app.screen, ConfirmScreen)
        await press(pilot, "y")
        await settle(pilot)
        assert isinstance(app.screen, BulkPreviewScreen)
        await press(pilot, "escape")  # cancel: nothing written
        assert all(status(app, c) != "resolved" for c in CHILDREN)

    drive(app, steps)
