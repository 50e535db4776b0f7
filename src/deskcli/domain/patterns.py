"""Regular expressions compiled the first time they are used, not at import.

A module-level ``re.compile`` runs in every process that imports the module, whether or
not the pattern is ever used: ``deskcli new`` imported about 50 of them (the checklist
parser's, the validation of fields it was not given, the error-code patterns of the
knowledge base), a few milliseconds of a command whose floor is 20 ms (issue 20,
benchmarks/bench_cli.py). ``lazy`` returns a stand-in with the compiled pattern's
methods: the first attribute read compiles it, and from then on each method is the
compiled pattern's own bound method, stored on the stand-in, so a call costs what it
did before.

May import: nothing (the domain's own helper).
"""

from __future__ import annotations

import re
from typing import Any, cast

#: What a stand-in offers: every public attribute of a compiled pattern.
_ATTRIBUTES = ("match", "fullmatch", "search", "sub", "subn", "split", "findall",
               "finditer", "pattern", "flags", "groups", "groupindex", "scanner")


class _LazyPattern:
    """A pattern and flags, compiled on the first attribute read (see the module)."""

    def __init__(self, pattern: str, flags: int) -> None:
        self._source = (pattern, flags)

    def __getattr__(self, name: str) -> Any:
        # Only reached for attributes not yet stored: the first use, or a name no
        # compiled pattern has (which raises AttributeError from ``getattr`` below).
        compiled = re.compile(*self._source)
        for attribute in _ATTRIBUTES:
            self.__dict__[attribute] = getattr(compiled, attribute)
        return getattr(compiled, name)

    def __repr__(self) -> str:
        return f"lazy({self._source[0]!r}, {self._source[1]!r})"


def lazy(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """``re.compile(pattern, flags)``, done on first use (see the module docstring).

    Typed as the compiled pattern it stands for; it is not one for ``isinstance`` or as
    the first argument of ``re.sub``, so it is only for patterns used by their methods.
    """
    return cast("re.Pattern[str]", _LazyPattern(pattern, flags))
