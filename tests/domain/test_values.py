"""The value types that replaced frozen dataclasses (issue 20) keep what the dataclasses
gave: comparison and hashing by fields, a repr naming them, no assignment, copies."""

from __future__ import annotations

import copy
import pickle
from datetime import timedelta
from pathlib import Path

import pytest

from deskcli.config import Config
from deskcli.domain.account_work import AccountWords
from deskcli.domain.enums import Priority
from deskcli.domain.kb import ArticleDraft
from deskcli.domain.sla import SlaPolicy, SlaTarget


def test_equal_by_fields_and_never_equal_to_another_type() -> None:
    assert SlaPolicy() == SlaPolicy()
    assert SlaPolicy(at_risk_fraction=0.5) != SlaPolicy()
    assert Config(tech="sam") == Config(tech="sam", sla=SlaPolicy())
    assert Config(tech="sam") != Config(tech="ana")
    assert AccountWords() == AccountWords()
    assert SlaPolicy() != ("not", "a", "policy")


def test_hashable_exactly_when_the_fields_are() -> None:
    assert hash(AccountWords()) == hash(AccountWords())
    with pytest.raises(TypeError):
        hash(SlaPolicy())  # its targets are a dict, as with the frozen dataclass


def test_fields_cannot_be_assigned_or_deleted() -> None:
    policy = SlaPolicy()
    with pytest.raises(AttributeError):
        policy.at_risk_fraction = 0.9  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del policy.targets  # type: ignore[misc]
    assert policy.at_risk_fraction == 0.25


def test_defaults_are_built_per_instance() -> None:
    one, two = SlaPolicy(), SlaPolicy()
    assert one.targets == two.targets and one.targets is not two.targets
    assert ArticleDraft(title="x").tags is not ArticleDraft(title="y").tags


def test_repr_names_the_fields_and_leaves_out_the_hidden_ones() -> None:
    text = repr(Config(tech="sam", checkpoint=timedelta(hours=2)))
    assert text.startswith("Config(tech='sam', sla=SlaPolicy(targets=")
    assert "checkpoint=datetime.timedelta(seconds=7200)" in text
    assert "notify_given" not in text
    assert repr(AccountWords(("a",), ("b",))) == "AccountWords(categories=('a',), words=('b',))"


def test_cached_properties_still_work() -> None:
    words = AccountWords(words=("okta",))
    assert words.named_in("reset the Okta token") == "Okta"
    assert words.named_in("printer jam") is None
    assert Config(tech="sam").account_words == AccountWords()


def test_copies_and_pickles_are_equal() -> None:
    policy = SlaPolicy(targets={Priority.P1: SlaTarget(timedelta(minutes=5), timedelta(1))})
    assert pickle.loads(pickle.dumps(policy)) == policy
    assert copy.copy(policy) == policy and copy.deepcopy(policy) == policy
    draft = ArticleDraft(title="VPN drops", tags=["vpn"], id="x")
    assert draft.replace(id=None) == ArticleDraft(title="VPN drops", tags=["vpn"])
    assert draft.id == "x"


def test_the_default_checkpoint_is_what_the_file_would_say(tmp_path: Path) -> None:
    """A config file without ``checkpoint`` gets DEFAULT_CHECKPOINT without parsing
    "4h" (issue 20): the two must stay equal."""
    from deskcli.config import DEFAULT_CHECKPOINT, load_config
    from deskcli.domain.durations import parse_duration

    assert parse_duration("4h") == DEFAULT_CHECKPOINT
    missing = load_config(tmp_path / "none.toml", {"DESKCLI_TECH": "sam"})
    (tmp_path / "given.toml").write_text('checkpoint = "4h"\n')
    given = load_config(tmp_path / "given.toml", {"DESKCLI_TECH": "sam"})
    assert missing.checkpoint == given.checkpoint == DEFAULT_CHECKPOINT
    assert missing == given == Config(tech="sam")
