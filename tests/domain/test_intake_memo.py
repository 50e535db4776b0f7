"""``NewTicket.from_mapping`` with a batch memo gives exactly what it gives without one:
the same drafts and the same first problem, named by field, for every record."""

from __future__ import annotations

import itertools
from typing import Any

from deskcli.domain.errors import InvalidInput
from deskcli.domain.intake import NewTicket

GOOD: list[dict[str, Any]] = [
    {"summary": "Disk full", "caller": "Ana", "email": "Ana@Acme.example", "client": "Acme",
     "priority": "p2", "channel": "monitoring", "users_affected": "3"},
    {"summary": "Disk full", "caller": "Ana", "email": "ana@acme.example", "client": "Acme",
     "priority": 2, "users_affected": 3, "type": "request"},
    {"summary": "  VPN drops  ", "phone": "+1 555 0100", "verified": "callback",
     "caller": "Ben"},
    {"summary": "Printer", "verbatim": "it says\nPC LOAD LETTER", "error": "0x0000007b"},
    # Keys given as null: the same values as absent ones (the memo's "absent" entry).
    {"summary": "Nulls", "caller": None, "verified": None, "priority": None, "type": None},
    {"summary": "Not verified", "verified": "none"},
]
BAD: list[dict[str, Any]] = [
    {"summary": "Bad priority", "priority": "P9"},
    {"summary": "Bad priority again", "priority": "P9"},  # the same refused value twice
    {"summary": "Verified nobody", "verified": "callback"},
    {"summary": "Two problems", "email": "not-an-address", "channel": "pigeon"},
    {"summary": "line\nbreak"},
    {"summary": "users", "users_affected": -1},
    {"summary": "users", "users_affected": "1", "channel": "carrier pigeon"},
    {"caller": "Nobody"},
    {"summary": "Unknown key", "colour": "red"},
    {"summary": "Wrong type", "priority": True},
    {"summary": None, "caller": "Ana"},
    {"summary": "Verified, empty name", "verified": "callback", "caller": "  "},
    {"summary": "Problems in two keys, the later one given first", "channel": "pigeon",
     "email": "not-an-address"},
]


def _outcome(raw: dict[str, Any], memo: dict[tuple[Any, ...], Any] | None) -> Any:
    try:
        return NewTicket.from_mapping(raw, memo)
    except InvalidInput as error:
        return ("refused", error.message, error.field)


def test_a_memo_changes_no_draft_and_no_message() -> None:
    memo: dict[tuple[Any, ...], Any] = {}
    for raw in itertools.chain(GOOD, BAD, GOOD, BAD, reversed(GOOD + BAD)):
        assert _outcome(raw, memo) == _outcome(raw, None), raw


def test_one_and_the_text_one_are_different_values_in_the_memo() -> None:
    memo: dict[tuple[Any, ...], Any] = {}
    first = NewTicket.from_mapping({"summary": "1", "users_affected": 1}, memo)
    second = NewTicket.from_mapping({"summary": 1, "users_affected": "1"}, memo)
    assert (first.summary, first.users_affected) == ("1", 1)
    assert (second.summary, second.users_affected) == ("1", 1)
