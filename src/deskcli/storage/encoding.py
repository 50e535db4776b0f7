"""How the store writes JSON text: sync ops' values in the outbox, and the JSON columns
of rows (an event's ``detail``, a step record's ``data``).

``encode_json`` is ``json.dumps(value, ensure_ascii=False, sort_keys=True,
separators=(",", ":"))``, with its C encoder built once rather than per call: keys
sorted, non-ASCII kept as is, no spaces. Ops queued by earlier versions were written with
``json.dumps``' spaces; readers use ``json.loads``, which reads both, and what travels
to the server is the decoded value, so the wire is the same whichever wrote the row
(``tests/sync/test_outbox_formats.py``).

``fast_encoder()`` gives the same text from orjson, about ten times faster on a ticket's
ops; bulk creation uses it (``storage/batch.py``). orjson is imported only then: loading
it costs a short command more than it would save. Whatever orjson cannot write exactly
as ``encode_json`` does (an integer beyond 64 bits, a lone surrogate, a type neither
knows) goes to ``encode_json``, which raises what it always raised. Known differences:
a float's exponent (``1e-7`` for ``1e-07``, the same number), and a plain ``Enum`` or a
``UUID``, which orjson writes as its value and ``encode_json`` refuses (rows hold
neither: the services write an enum's ``.value``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any


def _plain_encoder() -> Callable[[Any], str]:
    """The C encoder with the arguments ``JSONEncoder.iterencode`` would pass, built once
    (``JSONEncoder.encode`` builds a new one on every call). Python builds without the C
    accelerator fall back to the plain encoder."""
    plain = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    if c_make_encoder is None:  # pragma: no cover - CPython always has _json
        return plain.encode
    chunks = c_make_encoder({}, plain.default, encode_basestring, None, ":", ",", True,
                            False, True)

    def encode(value: Any) -> str:
        if isinstance(value, str):
            return plain.encode(value)
        return "".join(chunks(value, 0))
    return encode


#: ``encode_json(value) -> str``: the store's JSON.
encode_json = _plain_encoder()


def fast_encoder() -> Callable[[Any], str]:
    """``encode_json`` by orjson (see the module docstring); ``encode_json`` itself when
    orjson is not installed."""
    try:
        import orjson
    except ImportError:  # pragma: no cover - a dependency; the plain encoder still works
        return encode_json
    dumps = orjson.dumps
    options = (orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
               | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS)

    def encode(value: Any) -> str:
        try:
            return dumps(value, option=options).decode()
        except TypeError:  # orjson.JSONEncodeError is a TypeError
            return encode_json(value)
    return encode
