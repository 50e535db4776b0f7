"""``domain.patterns.lazy``: a regular expression compiled on first use behaves as the
compiled pattern (issue 20: module-level patterns no longer compile at import)."""

from __future__ import annotations

import re

import pytest

from deskcli.domain import patterns
from deskcli.domain.patterns import lazy


def test_it_compiles_only_when_first_used(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled: list[str] = []
    real = re.compile

    def counting(pattern: str, flags: int = 0) -> re.Pattern[str]:
        compiled.append(pattern)
        return real(pattern, flags)

    monkeypatch.setattr(patterns.re, "compile", counting)
    stand_in = lazy(r"#?(\d+)")
    assert compiled == []
    assert stand_in.fullmatch("#42")[1] == "42"  # type: ignore[index]
    assert stand_in.search("no") is None
    assert compiled == [r"#?(\d+)"]  # once, however often it is used


@pytest.mark.parametrize("flags", [0, re.IGNORECASE])
def test_every_method_answers_as_the_compiled_pattern(flags: int) -> None:
    source = r"(?P<code>0x[0-9a-f]{4,})"
    stand_in, real = lazy(source, flags), re.compile(source, flags)
    text = "saw 0x8004010F then 0X80070005 and 0x1"
    assert stand_in.search(text)[0] == real.search(text)[0]  # type: ignore[index]
    assert stand_in.match(text) == real.match(text)
    assert stand_in.fullmatch("0x1234")[0] == real.fullmatch("0x1234")[0]  # type: ignore[index]
    assert stand_in.findall(text) == real.findall(text)
    assert [m.span() for m in stand_in.finditer(text)] == [m.span() for m in real.finditer(text)]
    assert stand_in.sub("<code>", text) == real.sub("<code>", text)
    assert stand_in.subn("", text) == real.subn("", text)
    assert stand_in.split(text) == real.split(text)
    assert (stand_in.pattern, stand_in.flags, stand_in.groups, stand_in.groupindex) == (
        real.pattern, real.flags, real.groups, real.groupindex)


def test_a_bad_pattern_fails_where_it_is_used_and_unknown_names_still_raise() -> None:
    broken = lazy("(unclosed")
    with pytest.raises(re.error):
        broken.search("x")
    with pytest.raises(AttributeError):
        lazy("x").no_such_method  # type: ignore[attr-defined]  # noqa: B018
