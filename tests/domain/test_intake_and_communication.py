"""A new ticket's record as flags/JSON give it, and the caller-communication rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from deskcli.domain.communication import draft_acknowledgement, is_silent, next_update_by
from deskcli.domain.enums import Channel, Priority, TicketType, Verification
from deskcli.domain.errors import InvalidInput
from deskcli.domain.intake import NewTicket

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def test_full_record() -> None:
    draft = NewTicket.from_mapping({
        "summary": "VPN drops", "caller": "Ana Chen", "email": "Ana@Acme.example",
        "verified": "callback", "priority": "2", "type": "service-request",
        "channel": "walkup", "users_affected": 3})
    assert draft.priority is Priority.P2
    assert draft.type is TicketType.REQUEST
    assert draft.channel is Channel.WALK_UP
    assert draft.verified is Verification.CALLBACK
    assert draft.email == "ana@acme.example"
    assert draft.users_affected == 3


def test_defaults_for_a_bare_summary() -> None:
    draft = NewTicket.from_mapping({"summary": "Printer jam"})
    assert (draft.type, draft.channel, draft.priority) == (TicketType.INCIDENT, Channel.PHONE,
                                                           None)


@pytest.mark.parametrize(("record", "message"), [
    ({}, "summary is required"),
    ({"summary": " "}, "summary is required"),
    ({"summary": "x", "priority": "P7"}, "unknown priority"),
    ({"summary": "x", "email": "nope"}, "not an email address"),
    ({"summary": "x", "colour": "red"}, "unknown key 'colour'"),
    ({"summary": "x", "channel": "fax"}, "unknown channel 'fax'"),
    ({"summary": "x", "verified": "callback"}, "verified identity needs the caller"),
    ({"summary": "x", "users_affected": "lots"}, "whole number"),
    ({"summary": ["x"]}, "must be text"),
    ({"summary": "x", "caller": True}, "must be text"),
])
def test_bad_records_name_the_problem(record: dict, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        NewTicket.from_mapping(record)


def test_not_an_object() -> None:
    with pytest.raises(InvalidInput, match="JSON object"):
        NewTicket.from_mapping(["summary"])  # type: ignore[arg-type]


def test_acknowledgement_says_who_owns_it_and_when_they_hear_next() -> None:
    text = draft_acknowledgement(ref="#4521", caller="Ana Chen", owner="dana",
                                 summary="VPN drops", next_update=T0 + timedelta(hours=1))
    assert text.startswith("Hi Ana,")
    assert "#4521" in text and "dana" in text and "10:00 UTC" in text


def test_next_update_is_never_after_the_response_due_time() -> None:
    due = T0 + timedelta(minutes=15)
    assert next_update_by(T0, timedelta(hours=4), due) == due
    assert next_update_by(T0, timedelta(minutes=5), due) == T0 + timedelta(minutes=5)


def test_silence_is_measured_from_the_last_word_to_the_caller() -> None:
    kwargs = {"is_open": True, "created_at": T0, "checkpoint": timedelta(hours=4)}
    assert not is_silent(last_contact_at=None, now=T0 + timedelta(hours=3), **kwargs)
    assert is_silent(last_contact_at=None, now=T0 + timedelta(hours=5), **kwargs)
    assert not is_silent(last_contact_at=T0 + timedelta(hours=2), now=T0 + timedelta(hours=5),
                         **kwargs)
    assert not is_silent(is_open=False, created_at=T0, last_contact_at=None,
                         now=T0 + timedelta(days=9), checkpoint=timedelta(hours=4))
