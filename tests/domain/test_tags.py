"""Tags: the accepted form, and the observed-remove merge every replica computes."""

from __future__ import annotations

import itertools

import pytest

from deskcli.domain.errors import InvalidInput
from deskcli.domain.tags import MAX_TAGS, current_tags, parse_tag, parse_tags, plan_change


@pytest.mark.parametrize("text,tag", [("outage", "outage"), ("ERP-Down", "erp-down"),
                                      (" vip ", "vip"), ("p1", "p1"), ("2026-q4", "2026-q4")])
def test_accepted_tags(text: str, tag: str) -> None:
    assert parse_tag(text) == tag


@pytest.mark.parametrize("text", ["", "two words", "-lead", "under_score", "é", "a" * 41,
                                  "tab\there", "semi;colon", "Ünïcode", "\x1b[31m"])
def test_refused_tags_name_the_accepted_form(text: str) -> None:
    with pytest.raises(InvalidInput) as error:
        parse_tag(text)
    assert "one lower-case word" in str(error.value)


def test_comma_lists_and_repeats() -> None:
    assert parse_tags(["outage,erp", "outage", "vip,"]) == ["outage", "erp", "vip"]


def test_plan_change() -> None:
    change = plan_change(["vip"], ["outage", "vip"], ["old"])
    assert (change.added, change.removed) == (("outage",), ())
    assert plan_change(["vip"], [], ["vip"]).summary() == "Tags: −vip"
    with pytest.raises(InvalidInput, match="both added and removed"):
        plan_change([], ["vip"], ["vip"])
    with pytest.raises(InvalidInput, match=f"at most {MAX_TAGS}"):
        plan_change([f"t{i}" for i in range(MAX_TAGS)], ["one-more"], [])


def test_merge_is_order_free_and_keeps_unseen_adds() -> None:
    records = [("a1", "vip", "add", None), ("a2", "outage", "add", None),
               ("r1", "vip", "remove", "a1"), ("a3", "vip", "add", None),
               # a remove naming another tag's add removes nothing
               ("r2", "erp", "remove", "a2")]
    for order in itertools.permutations(records):
        assert current_tags(order) == ["outage", "vip"]
