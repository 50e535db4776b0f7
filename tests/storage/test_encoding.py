"""The store's JSON (``storage/encoding.py``): orjson's text for bulk creation is the
text of the plain encoder, and what orjson cannot write goes to the plain encoder."""

from __future__ import annotations

import json
from typing import Any

import pytest

from deskcli.storage.encoding import encode_json, fast_encoder

VALUES: list[Any] = [
    {"summary": "quote \" backslash \\ slash / tab \t newline \n nul \x00 del \x7f",
     "unicode": "é 漢字 😀 \u2028 \u2029", "none": None, "yes": True, "no": False,
     "n": [0, -1, 2**63 - 1, -(2**63)], "nested": {"b": [None, {"z": 1, "a": 2}], "a": ""}},
    "just text", 42, None, [], {}, {"half": 1.5, "tenth": 0.1, "big": 1e16},
    {1: "integer keys", 2: "as text"},
]


@pytest.mark.parametrize("value", VALUES)
def test_orjson_writes_the_plain_encoders_text(value: Any) -> None:
    fast = fast_encoder()
    assert fast(value) == encode_json(value)
    assert json.loads(encode_json(value)) == json.loads(json.dumps(value))


@pytest.mark.parametrize("value", [{"big": 2**70}, {"surrogate": "\ud800"}])
def test_what_orjson_cannot_write_goes_to_the_plain_encoder(value: Any) -> None:
    assert fast_encoder()(value) == encode_json(value)


def test_a_type_neither_knows_is_refused_as_before() -> None:
    with pytest.raises(TypeError):
        fast_encoder()({"when": object()})


def test_sorted_compact_and_unescaped() -> None:
    assert encode_json({"b": 1, "a": "é"}) == '{"a":"é","b":1}'
