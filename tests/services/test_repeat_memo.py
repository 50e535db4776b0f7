"""``seen_before`` with a ``RepeatMemo`` (what the console keeps so opening a ticket does
not rank every resolved ticket with its error code again): always the answer it gives
without one, whatever was written in between."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deskcli.domain.intake import NewTicket
from deskcli.services.desk import Desk
from deskcli.services.kb import KbService, RepeatMemo
from helpers import FakeClock, make_desk

FIX = "Rebuilt the Outlook profile and reset the SMTP port to 587 in account settings"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def desk(tmp_path: Path, clock: FakeClock) -> Iterator[Desk]:
    with make_desk(tmp_path, clock) as opened:
        yield opened


@pytest.fixture
def kb(desk: Desk) -> KbService:
    return KbService.for_desk(desk)


def resolved(desk: Desk, summary: str, error: str, fix: str = FIX) -> str:
    row = desk.tickets.create(NewTicket(summary=summary, error=error))
    ref = str(row["number"])
    desk.tickets.resolve(ref, root_cause="Wrong SMTP port", resolution=fix)
    return ref


def same(kb: KbService, ticket: Any, memo: RepeatMemo) -> Any:
    """The memo's answer, checked against a fresh one."""
    kept = kb.seen_before(ticket, memo)
    assert kept == kb.seen_before(ticket)
    return kept


def test_tickets_with_one_code_share_one_ranking(desk: Desk, kb: KbService,
                                                 clock: FakeClock) -> None:
    resolved(desk, "Send fails", "0x800CCC0E")
    clock.advance(days=1)
    latest = resolved(desk, "Send fails again", "0x800CCC0E", fix=FIX + " twice")
    first = desk.tickets.create(NewTicket(summary="Cannot send", error="0x800ccc0e"))
    second = desk.tickets.create(NewTicket(summary="Outbox stuck",
                                           error="Error 0x800ccc0e at send"))
    memo = RepeatMemo()
    answer = same(kb, first, memo)
    assert answer is not None and answer.count == 2 and answer.latest_ref == f"#{latest}"
    assert same(kb, second, memo) == answer
    assert len(memo.found) == 1  # one ranking served both tickets


def test_a_write_in_between_is_seen(desk: Desk, kb: KbService, clock: FakeClock) -> None:
    resolved(desk, "Send fails", "0x800CCC0E")
    ticket = desk.tickets.create(NewTicket(summary="Cannot send", error="0x800CCC0E"))
    memo = RepeatMemo()
    assert same(kb, ticket, memo).count == 1
    clock.advance(days=1)
    newer = resolved(desk, "Send fails again", "0x800CCC0E", fix=FIX + " and cleared the outbox")
    answer = same(kb, ticket, memo)
    assert answer.count == 2 and answer.latest_ref == f"#{newer}"


def test_a_write_by_another_connection_is_seen(desk: Desk, kb: KbService, tmp_path: Path,
                                               clock: FakeClock) -> None:
    """The console's sync and rules write through connections of their own."""
    resolved(desk, "Send fails", "0x800CCC0E")
    ticket = desk.tickets.create(NewTicket(summary="Cannot send", error="0x800CCC0E"))
    memo = RepeatMemo()
    assert same(kb, ticket, memo).count == 1
    with make_desk(tmp_path, clock) as other:
        resolved(other, "Send fails again", "0x800CCC0E")
    assert same(kb, ticket, memo).count == 2


def test_a_ticket_in_the_index_does_not_count_itself(desk: Desk, kb: KbService) -> None:
    """A resolved ticket is in the index: it is left out of its own answer, which is
    then not shared with the tickets that count it; reopening takes it out."""
    resolved(desk, "Send fails", "0x800CCC0E")
    again = resolved(desk, "Send fails again", "0x800CCC0E")
    other = desk.tickets.create(NewTicket(summary="Cannot send", error="0x800CCC0E"))
    memo = RepeatMemo()
    assert same(kb, other, memo).count == 2
    assert same(kb, desk.tickets.find(again), memo).count == 1
    assert same(kb, other, memo).count == 2
    desk.tickets.reopen(again, reason="came back")
    assert same(kb, desk.tickets.find(again), memo).count == 1
    assert same(kb, other, memo).count == 1
