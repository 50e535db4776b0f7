"""Bulk actions through the service: preview writes nothing, apply is all or nothing, and
every refusal is the single-ticket path's own message."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deskcli.domain.bulk import BulkAction, OutcomeState, read_ref_lines
from deskcli.domain.errors import InvalidInput, NotFound, Refused
from deskcli.domain.intake import NewTicket
from deskcli.services.bulk import BulkService
from deskcli.services.desk import Desk
from helpers import FakeClock, make_desk, settle_steps

GOOD_RESOLUTION = "Restarted the ERP posting service on erp-app-02; KB 4567"
TABLES = ("tickets", "events", "notes", "time_entries", "step_records", "outbox",
          "outbound", "tag_changes", "ticket_tags")


def _new(desk: Desk, summary: str, **record: Any) -> str:
    return str(desk.tickets.create(NewTicket.from_mapping(
        {"summary": summary, "client": "Acme", **record}))["number"])


def _counts(desk: Desk) -> dict[str, int]:
    return {t: desk.store.db.execute(f"SELECT count(*) AS n FROM {t}").fetchone()["n"]
            for t in TABLES}


@pytest.fixture
def mail_desk(isolated_home: Path, clock: FakeClock) -> Iterator[Desk]:
    """A desk that emails callers (nothing is sent here: messages wait in the queue)."""
    config = isolated_home / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "config.toml").write_text(
        '[notify]\nemail = "mail"\n\n[notify.channels.mail]\ntype = "smtp"\n'
        'host = "127.0.0.1"\nport = 2525\nfrom = "desk@example.org"\n')
    opened = make_desk(isolated_home, clock)
    yield opened
    opened.close()


@pytest.fixture
def bulk(desk: Desk) -> BulkService:
    return BulkService(desk.tickets)


def test_preview_says_what_would_change_and_writes_nothing(desk: Desk, bulk) -> None:
    refs = [_new(desk, f"ERP posting fails ({n})") for n in range(3)]
    desk.tickets.update(refs[2], {"priority": "P2"})
    before = _counts(desk)
    preview = bulk.preview(refs + ["9999"], BulkAction.set({"priority": "P2"},
                                                            add_tags=["outage"]))
    assert _counts(desk) == before
    assert not preview.applied
    assert [o.ref for o in preview.changed] == ["#1001", "#1002", "#1003"]
    assert preview.changed[0].changes == ("priority P3 → P2", "tags +outage")
    assert preview.changed[2].changes == ("tags +outage",)
    [missing] = preview.refused
    assert missing.reason == "no ticket #9999 in this store"
    assert preview.headline() == "set priority → P2, +outage: 3 tickets would change, 1 refused"


def test_all_or_nothing_by_default(desk: Desk, bulk) -> None:
    good = _new(desk, "ERP slow")
    resolved = _new(desk, "ERP down")
    settle_steps(desk, resolved)
    desk.tickets.resolve(resolved, root_cause="posting service hung",
                         resolution=GOOD_RESOLUTION)
    before = _counts(desk)
    result = bulk.apply([good, resolved], BulkAction.set({"status": "pending-caller"}))
    assert not result.applied and _counts(desk) == before
    [refused] = result.refused
    # The single-ticket command's own words.
    with pytest.raises(Refused) as single:
        desk.tickets.update(resolved, {"status": "pending-caller"})
    assert refused.reason == single.value.message
    assert refused.line() == f"#1002: {single.value.message}"
    kept = bulk.apply([good, resolved], BulkAction.set({"status": "pending-caller"}),
                      keep_going=True)
    assert kept.applied and [o.ref for o in kept.changed] == ["#1001"]
    assert desk.tickets.find(good)["status"] == "pending-caller"


def test_same_status_is_no_change_and_duplicates_act_once(desk: Desk, bulk) -> None:
    ref = _new(desk, "VPN down")
    desk.tickets.update(ref, {"status": "open"})
    result = bulk.apply([ref, f"#{ref}"], BulkAction.set({"status": "open"}))
    assert result.applied and [o.state for o in result.outcomes] == [OutcomeState.UNCHANGED]


def test_internal_note_and_close_go_through_the_gates(desk: Desk, bulk) -> None:
    refs = [_new(desk, "Printer jam"), _new(desk, "Printer offline")]
    result = bulk.apply(refs, BulkAction.note("Driver rolled back on the print server",
                                              internal=True))
    assert result.applied and len(result.changed) == 2
    for ref in refs:
        notes = [e for e in desk.tickets.detail(ref).timeline if e["kind"] == "internal_note"]
        assert notes[0]["note_body"] == "Driver rolled back on the print server"
    closing = bulk.apply(refs, BulkAction.close())
    assert not closing.applied and len(closing.refused) == 2
    assert all("cannot close" in (o.reason or "") for o in closing.refused)


def test_resolution_specificity_checked_once(desk: Desk, bulk) -> None:
    with pytest.raises(Refused, match="too vague"):
        BulkAction.resolve(root_cause="it broke", resolution="fixed")
    refs = [_new(desk, "ERP 1"), _new(desk, "ERP 2")]
    result = bulk.apply(refs, BulkAction.resolve(root_cause="posting service hung",
                                                 resolution=GOOD_RESOLUTION))
    assert result.applied
    assert {desk.tickets.find(r)["status"] for r in refs} == {"resolved"}


def test_public_update_queues_one_message_per_caller(mail_desk: Desk) -> None:
    desk = mail_desk
    refs = [_new(desk, f"ERP fails for {who}", caller=who, email=f"{who}@acme.example")
            for who in ("ana", "ben", "cy")]
    bulk = BulkService(desk.tickets)
    queued = _counts(desk)["outbound"]
    preview = bulk.preview(refs, BulkAction.note("Fixed at 10:40, please retry",
                                                 internal=False))
    assert len(preview.changed) == 3 and _counts(desk)["outbound"] == queued
    bulk.apply(refs, BulkAction.note("Fixed at 10:40, please retry", internal=False))
    rows = list(desk.store.db.execute(
        "SELECT o.recipient, o.payload, t.number FROM outbound o JOIN tickets t "
        "ON t.id = o.ticket_id WHERE o.purpose = 'update' ORDER BY t.number"))
    assert [r["recipient"] for r in rows] == [f"{w}@acme.example" for w in ("ana", "ben", "cy")]
    for row in rows:
        payload = json.loads(row["payload"])
        assert f"#{row['number']}" in payload["subject"]
        assert "Fixed at 10:40" in payload["body"]


def test_link_refuses_across_clients_and_loops(desk: Desk, bulk) -> None:
    parent = _new(desk, "ERP outage")
    kids = [_new(desk, "ERP down for sales"), _new(desk, "ERP down for HR")]
    other = _new(desk, "ERP at Globex", client="Globex")
    result = bulk.apply([*kids, other], BulkAction.link(parent), keep_going=True)
    assert [o.ref for o in result.changed] == ["#1002", "#1003"]
    assert "different clients" in (result.refused[0].reason or "")
    assert [c["number"] for c in desk.tickets.children(desk.tickets.find(parent)["id"])] == [
        1002, 1003]
    with pytest.raises(Refused, match="own ancestor"):
        desk.tickets.link(parent, kids[0])
    with pytest.raises(NotFound):
        bulk.apply(kids, BulkAction.link("9999"))


def test_bad_shared_input_is_refused_before_any_ticket(desk: Desk) -> None:
    with pytest.raises(InvalidInput, match="cannot set 'summary'"):
        BulkAction.set({"summary": "x"})
    with pytest.raises(InvalidInput, match="not a tag"):
        BulkAction.tags(add=["two words"])
    with pytest.raises(InvalidInput):
        BulkAction.note("   ", internal=True)


def test_reading_refs_from_a_stream() -> None:
    text = "4521\n\n# the outage\n#4522\n  4530  # Ana's\nL-3f9a-2\n"
    assert read_ref_lines(text) == ["4521", "#4522", "4530", "L-3f9a-2"]
