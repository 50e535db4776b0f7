"""The op schema both ends share: everything an honest store writes passes, hostile
values are refused with the field named. No server needed: these run in milliseconds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from deskcli.domain import hlc
from deskcli.domain.intake import NewTicket
from deskcli.services import demo
from deskcli.services.desk import Desk
from deskcli.storage.store import DERIVED_TICKET_COLUMNS, TABLE_ENTITY
from deskcli.sync import schema
from deskcli.sync.protocol import APPEND_ONLY
from helpers import FakeClock, SeqIds, settle_steps

GOOD_RESOLUTION = "Rebuilt the Outlook profile and cleared Credential Manager; KB 4567"


def test_every_op_of_a_full_ticket_flow_passes(desk: Desk, clock: FakeClock,
                                               tmp_path: Path) -> None:
    t = desk.tickets
    ticket = t.create(NewTicket.from_mapping({
        "summary": "Outlook keeps asking for a password", "client": "Acme",
        "caller": "Ana Chen", "verified": "callback", "priority": "P2",
        "verbatim": "It keeps asking\nfor my password", "error": "0x800CCC0E"}))
    ref = str(ticket["id"])
    t.complete_step(ref, "capture_issue", {
        "verbatim": "It keeps asking\nfor my password", "doing": "Opening Outlook",
        "reproducible": "yes", "users_affected": "1"})
    t.complete_step(ref, "open_ticket", {"category": "email", "channel": "phone",
                                         "caller_email": "ana@acme.example"})
    t.add_note(ref, "Hi Ana, we are on it.", internal=False)
    t.add_note(ref, "Token looks stale", internal=True)
    clock.advance(minutes=10)
    t.log_time(ref, "20m", note="Profile rebuild")
    attachment = tmp_path / "log.txt"
    attachment.write_text("error 0x800CCC0E\n")
    t.attach(ref, str(attachment))
    t.update(ref, {"priority": "P3", "assignee": "dana"}, reason="Only one user")
    t.resolve(ref, root_cause="Stale token", resolution=GOOD_RESOLUTION)
    settle_steps(desk, ref)
    t.close(ref, category="incident")
    t.record_survey_sent(ref, "email")
    t.record_csat(ref, 5, "Quick fix")
    t.reopen(ref, reason="It came back")
    from deskcli.services.kb import KbService

    kb = KbService.for_desk(desk)
    article = kb.add(kb.draft_for_ticket(ref)[0])
    kb.link(ref, str(article["id"]))
    ops = desk.store.sync.outbox()
    kinds = {(op["entity"], op["kind"]) for op in ops}
    assert {("ticket", "create"), ("note", "append"), ("attachment", "append"),
            ("csat_response", "append"), ("kb_article", "create"),
            ("kb_link", "append"), ("ticket", "set")} <= kinds
    for op in ops:
        schema.check_op({**op, "value": json.loads(op["value"])})
        hlc.parse(op["hlc"])


def test_sample_data_rows_pass(desk: Desk) -> None:
    """The demo writes realistic rows of every synced table straight to the store."""
    demo.seed(desk.store, count=300, now=desk.now(), policy=desk.config.sla,
              new_id=SeqIds())
    db = desk.store.db
    checked = 0
    for table, entity in TABLE_ENTITY.items():
        for row in db.execute(f"SELECT * FROM {table}").fetchall():
            value = {k: v for k, v in dict(row).items() if k not in DERIVED_TICKET_COLUMNS}
            kind = "append" if entity in APPEND_ONLY else "create"
            schema.check_op({"entity": entity, "entity_id": row["id"], "kind": kind,
                             "value": value})
            checked += 1
    assert checked > 1000


def test_every_stored_column_is_declared() -> None:
    from deskcli.server.local_tables import LOCAL_METADATA
    from deskcli.sync.protocol import ENTITY_TABLES

    for entity, table in ENTITY_TABLES.items():
        columns = {c.name for c in LOCAL_METADATA.tables[table].columns}
        declared = set(schema.ENTITIES[entity]) - {"content_b64"}
        assert columns == declared, entity


NOTE = {"id": "n1", "ticket_id": "t1", "at": "2026-11-24T10:00:00Z", "author": "ana",
        "body": "Checked the cable", "internal": 0}


@pytest.mark.parametrize(("op", "field"), [
    ({"entity": "ticket", "entity_id": "t1", "kind": "set", "field": "priority",
      "value": {"a": 1}}, "priority"),
    ({"entity": "ticket", "entity_id": "t1", "kind": "set", "field": "status",
      "value": "on-fire"}, "status"),
    ({"entity": "ticket", "entity_id": "t1", "kind": "set", "field": "users_affected",
      "value": 2**70}, "users_affected"),
    ({"entity": "ticket", "entity_id": "t1", "kind": "set", "field": "users_affected",
      "value": float("nan")}, "users_affected"),
    ({"entity": "ticket", "entity_id": "t1", "kind": "set", "field": "users_affected",
      "value": 1.5}, "users_affected"),
    ({"entity": "ticket", "entity_id": "t1", "kind": "set", "field": "summary",
      "value": "two\nlines" + "x" * 200}, "summary"),
    ({"entity": "ticket", "entity_id": "t1", "kind": "set", "field": "updated_at",
      "value": "2026-11-24T10:00:00Z"}, "updated_at"),
    ({"entity": "ticket", "entity_id": "t1", "kind": "set", "field": "created_by",
      "value": "eve"}, "created_by"),
    ({"entity": "ticket", "entity_id": "t1", "kind": "set", "field": "shoe_size",
      "value": 9}, "field"),
    ({"entity": "ticket", "entity_id": "t1", "kind": "create",
      "value": {"id": "t1", "client_id": "c1"}}, "checklist"),
    ({"entity": "ticket", "entity_id": "t1", "kind": "create", "value": ["t1"]}, "value"),
    ({"entity": "note", "entity_id": "n1", "kind": "append",
      "value": {**NOTE, "body": ["a", "list"]}}, "body"),
    ({"entity": "note", "entity_id": "n1", "kind": "append",
      "value": {**NOTE, "body": "lone \ud800 surrogate"}}, "body"),
    ({"entity": "note", "entity_id": "n1", "kind": "append",
      "value": {**NOTE, "internal": True}}, "internal"),
    ({"entity": "note", "entity_id": "n1", "kind": "append",
      "value": {**NOTE, "at": "yesterday"}}, "at"),
    ({"entity": "note", "entity_id": "n1", "kind": "append",
      "value": {**NOTE, "id": "n2"}}, "id"),
    ({"entity": "note", "entity_id": "n1", "kind": "set", "field": "body",
      "value": "x"}, "kind"),
    ({"entity": "note", "entity_id": "n\x001", "kind": "append", "value": NOTE},
     "entity_id"),
    ({"entity": "time_entry", "entity_id": "e1", "kind": "append",
      "value": {"id": "e1", "ticket_id": "t1", "at": "2026-11-24T10:00:00Z",
                "author": "ana", "minutes": 100_000}}, "minutes"),
    ({"entity": "csat_response", "entity_id": "s1", "kind": "append",
      "value": {"id": "s1", "ticket_id": "t1", "at": "2026-11-24T10:00:00Z",
                "author": "ana", "score": 9}}, "score"),
    ({"entity": "attachment", "entity_id": "a1", "kind": "append",
      "value": {"id": "a1", "ticket_id": "t1", "at": "2026-11-24T10:00:00Z",
                "author": "ana", "filename": "x", "sha256": "Z" * 64, "size": 1}},
     "sha256"),
    ({"entity": "robot", "entity_id": "r1", "kind": "create", "value": {}}, "entity"),
])
def test_hostile_values_are_refused_naming_the_field(op: dict[str, Any], field: str) -> None:
    with pytest.raises(schema.OpInvalid) as caught:
        schema.check_op(op)
    assert caught.value.field == field, str(caught.value)


def test_a_value_over_the_limit_is_refused() -> None:
    body = "x" * schema.MAX_VALUE_BYTES
    note = {**NOTE, "body": body}
    with pytest.raises(schema.OpInvalid) as caught:
        schema.check_op({"entity": "note", "entity_id": "n1", "kind": "append",
                         "value": note})
    assert caught.value.field in ("body", "value")


@pytest.mark.parametrize("stamp", [
    "999999999999999-9999999-x", "١٧٦٤٥٨٤٠٠٠٠٠٠٠٠-000000-x", "00000000000001-000000-x",
    "000000000000001-000000-", "000000000000001-000000-nodé", "+00000000000001-000000-x",
    "000000000000001-000000-x\n", 12,
])
def test_stamps_are_parsed_strictly(stamp: Any) -> None:
    with pytest.raises(ValueError):
        hlc.parse(stamp)


def test_a_remote_stamp_never_moves_a_clock_beyond_the_bound() -> None:
    now = 1_790_000_000_000
    forged = hlc.parse("999999999999999-999999-x")
    after = hlc.receive(None, forged, now, "me", max_ahead_ms=hlc.MAX_AHEAD_MS)
    assert after.wall_ms <= now + hlc.MAX_AHEAD_MS
    runaway = hlc.Hlc(999999999999999, 5, "me")
    assert hlc.receive(runaway, hlc.Hlc(now, 0, "x"), now, "me",
                       max_ahead_ms=hlc.MAX_AHEAD_MS).wall_ms == now
    near = hlc.Hlc(now + 60_000, 3, "x")
    assert hlc.receive(None, near, now, "me", max_ahead_ms=hlc.MAX_AHEAD_MS) > near


def test_the_clock_skew_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from deskcli.server.app import _max_skew_ms

    monkeypatch.delenv("DESKCLI_SERVER_MAX_CLOCK_SKEW", raising=False)
    assert _max_skew_ms(None) == hlc.MAX_AHEAD_MS == 3_600_000
    assert _max_skew_ms(60) == 60_000
    monkeypatch.setenv("DESKCLI_SERVER_MAX_CLOCK_SKEW", "300")
    assert _max_skew_ms(None) == 300_000
    for bad in ("0", "-5", "1h", "٣٠٠", "99999999"):
        monkeypatch.setenv("DESKCLI_SERVER_MAX_CLOCK_SKEW", bad)
        with pytest.raises(ValueError, match="whole seconds"):
            _max_skew_ms(None)
