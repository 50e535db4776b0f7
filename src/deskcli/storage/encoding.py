"""How the store writes JSON text: sync ops' values in the outbox, and the JSON columns
of rows (an event's ``detail``, a step record's ``data``).

The one encoder is ``encode_json``: keys sorted, non-ASCII kept as is, no spaces. It is
orjson's, about six times faster than ``json.dumps`` on an op's value, which counts in
bulk creation (four values and two details per imported ticket). Whatever orjson cannot
encode exactly as ``json.dumps`` would (an integer beyond 64 bits, a lone surrogate, a
type neither knows) goes to ``json.dumps(value, ensure_ascii=False, sort_keys=True)``,
which was the store's encoder before and so also raises what it raised before. Where
``json.dumps`` had no JSON to give, orjson writes one: a float NaN or infinity as
``null`` (``json.dumps`` wrote the non-JSON ``NaN``), a plain ``Enum`` as its value and a
``UUID`` as its text (``json.dumps`` raised).

Readers use ``json.loads``, which reads both this text and the spaced text of ops
queued by earlier versions; what travels to the server is the decoded value, so the
wire is the same whichever wrote the row (``tests/sync/test_old_outbox.py``).
"""

from __future__ import annotations

import json
from typing import Any

try:
    import orjson
except ImportError:  # pragma: no cover - a dependency; the plain encoder still works
    orjson = None  # type: ignore[assignment]

#: Sorted keys; integer, boolean and null keys written as ``json.dumps`` writes them.
_OPTIONS = (orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
            | orjson.OPT_PASSTHROUGH_DATACLASS) if orjson is not None else 0


def plain_json(value: Any) -> str:
    """The store's encoder before orjson (and its fallback)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _encode_fast(value: Any) -> str:
    try:
        return orjson.dumps(value, option=_OPTIONS).decode()
    except (TypeError, ValueError):  # JSONEncodeError is a TypeError
        return plain_json(value)


#: ``encode_json(value) -> str``.
encode_json = _encode_fast if orjson is not None else plain_json
