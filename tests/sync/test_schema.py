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


def _values_for(spec: schema.Spec) -> Any:
    """Values near and across each rule of ``spec``: its choices, times, hex, ints at the
    bounds, and text with NULs, controls, surrogates, bidi marks and odd lengths."""
    from hypothesis import strategies as st

    tricky = st.sampled_from(["", "\x00", "a\x00b", "\ud800", "line\nbreak", "\x1b[31m",
                              "\u202eevil", "caf\u00e9", "\u00e9\ud800", " ", "\t", "\x7f",
                              "\u2028", "\u0085", "2026-11-24T10:00:00Z",
                              "2026-11-24T10:00:00Z\n", "0" * 64, "f" * 64, "F" * 64,
                              "x" * 64, "x" * 65, "x" * 201])
    return st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
        st.integers(min_value=spec.low - 2, max_value=min(spec.low + 2, spec.high))
        if spec.kind == "int" else st.integers(-2, 3),
        st.integers(min_value=max(spec.high - 2, spec.low), max_value=spec.high + 2)
        if spec.kind == "int" else st.just(1),
        st.sampled_from(spec.choices or ("none",)), tricky, st.text(max_size=70),
        st.text(min_size=spec.max_len - 2, max_size=spec.max_len + 2)
        if spec.max_len <= 300 else st.just("x"),
        st.lists(st.integers(), max_size=2),
        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))


def test_the_quick_check_never_passes_what_the_full_check_refuses() -> None:
    """A pull page is checked by a quick test first (``schema._QUICK``); only what it
    cannot vouch for goes through ``check_value``. It must never be more lenient."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    fields = [(entity, name, spec) for entity, specs in schema.ENTITIES.items()
              for name, spec in specs.items()]

    @settings(max_examples=3000, deadline=None, derandomize=True)
    @given(st.sampled_from(fields).flatmap(
        lambda f: st.tuples(st.just(f), _values_for(f[2]))))
    def quick_implies_full(case: tuple[tuple[str, str, schema.Spec], Any]) -> None:
        (entity, name, spec), value = case
        if schema._QUICK[entity][name](value):
            schema.check_value(spec, value, name)  # must not raise

    quick_implies_full()


def test_a_row_the_quick_check_passes_passes_the_full_check() -> None:
    """Whole rows: a missing required field, an unknown one, another id or a non-object
    all go to the full check, which refuses them as before."""
    row = {**NOTE}
    assert schema._quick_row("note", row, "n1") is not None
    for bad in ({k: v for k, v in row.items() if k != "body"}, {**row, "shoe": 1},
                {**row, "id": "n2"}, [row], {**row, "internal": True}):
        assert schema._quick_row("note", bad, "n1") is None
        with pytest.raises(schema.OpInvalid):
            schema.check_op({"entity": "note", "entity_id": "n1", "kind": "append",
                             "value": bad})
