"""``NewTicket.from_mapping`` with a batch memo gives exactly what it gives without one:
the same drafts and the same first problem, named by field, for every record."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from deskcli.domain.errors import InvalidInput
from deskcli.domain.intake import NEW_TICKET_KEYS, NewTicket

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


#: Values each key passes with (null and blank included: they mean "not given").
_PASSING: dict[str, list[Any]] = {
    "summary": ["Disk full", "  VPN drops  ", 7], "caller": ["Ana", "ana", None, "", "  "],
    "email": ["ana@acme.example", "Ana@Acme.example", None], "phone": ["+1 555 0100", None],
    "verified": ["callback", "in person", "none", None, ""],
    "verbatim": ["it says\nPC LOAD LETTER", None], "error": ["0x0000007b", None],
    "priority": ["p2", "P2", 2, None, ""], "type": ["request", "incident", None],
    "channel": ["monitoring", "email", None], "client": ["Acme", None],
    "asset": ["PC-1", None], "category": ["Network", None], "assignee": ["sam", None],
    "users_affected": [3, "3", 0, None, ""], "doing": ["printing", None],
    "checklist": ["default", None],
}
#: Values some key refuses, of every type JSON gives and some it does not.
_REFUSED = st.one_of(
    st.sampled_from(["P9", "pigeon", "not-an-address", "-1", "1.5", "line\nbreak",
                     "x" * 600, "\x1b[2J", "callback"]),
    st.booleans(), st.integers(-3, -1), st.integers(2**62, 2**64), st.floats(allow_nan=False),
    st.lists(st.just("a"), max_size=1), st.dictionaries(st.just("a"), st.just(1), max_size=1),
    st.none(), st.text(max_size=4))
_KEYS = st.sampled_from([*NEW_TICKET_KEYS, "colour", "Summary"])
#: A record of passing values, then (most often) up to two keys set to anything.
_RECORD = st.builds(
    lambda good, changes: {**good, **dict(changes)},
    st.fixed_dictionaries({"summary": st.sampled_from(_PASSING["summary"])},
                          optional={k: st.sampled_from(v) for k, v in _PASSING.items()
                                    if k != "summary"}),
    st.lists(st.tuples(_KEYS, _REFUSED), max_size=2))
_RECORDS = st.lists(_RECORD, min_size=1, max_size=12)


@settings(max_examples=400, deadline=None)
@given(_RECORDS, st.randoms(use_true_random=False))
def test_any_batch_of_records_gets_the_same_answers_with_a_memo(
        records: list[dict[str, Any]], rng: Any) -> None:
    """Whatever the records (types, nulls, unknown keys, key order, repeats), checking a
    batch with one shared memo gives each record what checking it alone gives: the same
    draft, or the same first problem named by the same field. No record may pass with
    the memo that fails without it."""
    memo: dict[tuple[Any, ...], Any] = {}
    batch = records + [dict(rng.sample(list(r.items()), len(r))) for r in records]
    for raw in batch:
        assert _outcome(raw, memo) == _outcome(raw, None), raw
