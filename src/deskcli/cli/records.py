"""Reading ticket records for ``deskcli new --from``: a JSON object, a JSON array or JSON Lines.

Every record keeps the line it started on, so a problem is reported as ``FILE:LINE:
problem`` however the input was laid out. Reading is separate from validating: this module
only turns text into ``(line, value)`` pairs and syntax errors.
"""

from __future__ import annotations

import json
import re
import sys
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deskcli.domain.errors import InvalidInput


@dataclass(frozen=True)
class Record:
    line: int
    value: Any


@dataclass(frozen=True)
class Problem:
    line: int
    message: str


def read_source(source: str, kind: str = "a JSON or JSON Lines file",
                option: str = "from") -> tuple[str, str]:
    """The text of ``source`` (``-`` is stdin) and the name to use in messages; ``kind``
    says what the option takes, for the message when the file is missing."""
    if source == "-":
        return sys.stdin.read(), "<stdin>"
    path = Path(source).expanduser()
    try:
        return path.read_text(encoding="utf-8"), source
    except FileNotFoundError:
        raise InvalidInput(f"no file at {source!r}: give {kind}, or - for stdin",
                           field=option) from None
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise InvalidInput(f"cannot read {source!r}: {reason}", field=option) from None


#: What Python's JSON reader raises, besides ``JSONDecodeError``, for text it will not
#: read: an integer of more digits than ``sys.get_int_max_str_digits()`` (a guard against
#: slow conversions: ValueError) and nesting deeper than the stack (RecursionError). The
#: input's fault, so a problem of its record, not an internal error.
UNREADABLE = (ValueError, RecursionError)


def _unreadable(error: BaseException) -> str:
    if isinstance(error, RecursionError):
        return "not valid JSON here: arrays or objects nested too deeply"
    return (f"not valid JSON here: a number has more than {sys.get_int_max_str_digits()} "
            "digits")


def parse_records(text: str) -> tuple[list[Record], list[Problem]]:
    """Split the input into records, collecting syntax problems instead of stopping at the
    first, so one run can report every broken line."""
    start = len(text) - len(text.lstrip())
    if start == len(text):
        return [], [Problem(1, "the input is empty: expected a JSON object, a JSON array "
                               "or JSON Lines")]
    if text[start] == "[":
        return _array(text, start)
    return _lines(text)


def _line_index(text: str) -> list[int]:
    return [match.start() for match in re.finditer("\n", text)]


def _array(text: str, start: int) -> tuple[list[Record], list[Problem]]:
    """A JSON array, walked element by element to know where each record starts."""
    newlines = _line_index(text)

    def line_at(pos: int) -> int:
        return bisect_right(newlines, pos - 1) + 1

    decoder = json.JSONDecoder()
    records: list[Record] = []
    pos = _skip(text, start + 1)
    if pos < len(text) and text[pos] == "]":
        return [], [] if not text[pos + 1:].strip() else [
            Problem(line_at(pos + 1), "unexpected text after the JSON array")]
    while True:
        try:
            value, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as error:
            return records, [Problem(line_at(error.pos), f"not valid JSON: {error.msg}")]
        except UNREADABLE as error:  # reported on the line its record starts on
            return records, [Problem(line_at(pos), _unreadable(error))]
        records.append(Record(line_at(pos), value))
        pos = _skip(text, end)
        if pos < len(text) and text[pos] == ",":
            pos = _skip(text, pos + 1)
            continue
        if pos < len(text) and text[pos] == "]":
            if text[pos + 1:].strip():
                return records, [Problem(line_at(pos + 1),
                                         "unexpected text after the JSON array")]
            return records, []
        return records, [Problem(line_at(pos), "not valid JSON: expected ',' or ']' "
                                 "between records")]


def _skip(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _lines(text: str) -> tuple[list[Record], list[Problem]]:
    """JSON Lines, or one JSON object that may span several lines (pretty-printed)."""
    lines = text.splitlines()
    records: list[Record] = []
    problems: list[Problem] = []
    first = True
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            records.append(Record(number, json.loads(line)))
        except json.JSONDecodeError as error:
            if first:
                # Not one record per line: maybe a single pretty-printed object.
                try:
                    return [Record(number, json.loads(text))], []
                except json.JSONDecodeError as whole:
                    if whole.lineno > number:  # one multi-line document, broken further on
                        return [], [Problem(whole.lineno, f"not valid JSON: {whole.msg}")]
                except UNREADABLE as whole:  # one document Python will not read
                    return [], [Problem(number, _unreadable(whole))]
            problems.append(Problem(number, f"not valid JSON: {error.msg} (column "
                                    f"{error.colno})"))
        except UNREADABLE as error:
            problems.append(Problem(number, _unreadable(error)))
        first = False
    return records, problems
