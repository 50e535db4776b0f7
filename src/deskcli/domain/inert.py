"""Making stored text inert where it is shown: terminals, and JSON that may reach one.

Text from callers, email and colleagues can hold anything, including what a terminal
obeys (ESC and CSI sequences that set the window title, write the clipboard with OSC 52
or clear the screen) and what reorders a line (bidi overrides). The one-line rule in
``validation`` keeps such text out of new one-line fields; this module is the other
half, for whatever a store already holds and for multi-line text: every such character
is shown as a visible stand-in, never passed through.

- C0 controls become their Unicode control pictures (ESC → ␛, CR → ␍, BEL → ␇),
  DEL becomes ␡;
- C1 controls, NEL, LS/PS and bidi controls become ``\\x9b``/``\\u2028``-style text;
- a lone surrogate (which cannot even be encoded) becomes U+FFFD.
"""

from __future__ import annotations

import re

from deskcli.domain.patterns import lazy

#: Everything a terminal or a reader's eye could take as something other than text.
_UNSAFE = lazy("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
                     "\ud800-\udfff]")
#: The same, but tab and newline are kept: the layout of a note or the caller's words.
_UNSAFE_MULTILINE = lazy("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e"
                               "\u2066-\u2069\ud800-\udfff]")
#: What JSON must escape beyond what ``json.dumps`` already does (C0 and quotes).
_JSON_EXTRA = lazy("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _stand_in(match: re.Match[str]) -> str:
    char = match.group(0)
    code = ord(char)
    if code < 0x20:
        return chr(0x2400 + code)
    if code == 0x7F:
        return "\u2421"
    if 0xD800 <= code <= 0xDFFF:
        return "\ufffd"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def visible(text: str, *, multiline: bool = False) -> str:
    """``text`` with every control shown as a visible, inert stand-in.

    ``multiline`` keeps tab and newline (for notes shown as text); otherwise they are
    shown too (␉, ␊), so a table cell or a TSV field stays one line.
    """
    pattern = _UNSAFE_MULTILINE if multiline else _UNSAFE
    if pattern.search(text) is None:
        return text
    return pattern.sub(_stand_in, text)


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group(0)):04x}"


def json_inert(document: str) -> str:
    """A ``json.dumps(..., ensure_ascii=False)`` result with every remaining C1 control,
    DEL, LS/PS, bidi control and lone surrogate written as a ``\\uXXXX`` escape.

    Those characters can only occur inside JSON strings (the syntax around them is
    ASCII), so the escape is exact: ``json.loads`` gives back the very same text, and
    the document stays valid UTF-8 that a terminal shows as plain text.
    """
    if _JSON_EXTRA.search(document) is None:
        return document
    return _JSON_EXTRA.sub(_json_escape, document)
