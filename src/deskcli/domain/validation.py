"""Input rules shared by every front end: what a field accepts and why it refused.

Messages say what was wrong and what is accepted, because a technician on a call has
no time to guess. The same functions run for CLI flags, JSON imports and TUI forms.
"""

import re
import unicodedata
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, NamedTuple

from deskcli.domain.durations import parse_duration
from deskcli.domain.errors import InvalidInput, Refused
from deskcli.domain.patterns import lazy

SUMMARY_MAX = 200
TEXT_MAX = 20_000
MAX_TIME_ENTRY = timedelta(hours=24)

_EMAIL = lazy(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
_PHONE = lazy(r"\+?[0-9 ().-]{5,30}")


# --- the one-line rule ----------------------------------------------------------------
#
# Summaries, names, titles and the other one-line fields end up in terminal tables, TSV,
# CSV, email headers, chat lines and pager titles. Each of those sinks has its own idea of
# what ends a line or starts a command, so a one-line field accepts printable text only and
# the offending character is REFUSED (named, with its position) rather than silently
# changed: the technician sees what they pasted, and every entry point (CLI, console, JSON
# intake, email intake, sync push) gives the same answer because they all call this.
# Multi-line fields (notes, the caller's own words) keep tabs and newlines; whatever the
# store already holds is made inert again at each sink (``inert.visible``, and the CSV,
# JSON, chat and email writers), so old data is safe too.

#: Unicode bidi embedding, override and isolate controls: they reorder what a reader sees
#: ("Trojan Source"), and no one-line field needs them to write any language.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

_CONTROL_NAMES = {
    "\t": "TAB", "\n": "LF (line feed)", "\x0b": "VT (vertical tab)", "\x0c": "FF (form feed)",
    "\r": "CR (carriage return)", "\x1b": "ESC (escape)", "\x07": "BEL (bell)",
    "\x00": "NUL", "\x7f": "DEL", "\x85": "NEL (next line)", "\x9b": "CSI",
    "\u2028": "LS (line separator)", "\u2029": "PS (paragraph separator)",
}


def forbidden_in_line(char: str) -> bool:
    """True for a character no one-line field may hold: every C0/C1 control and DEL,
    line/paragraph separators, lone surrogates and bidi overrides."""
    category = unicodedata.category(char)
    return category in ("Cc", "Cs", "Zl", "Zp") or char in BIDI_CONTROLS


def describe_char(char: str) -> str:
    """``U+001B ESC (escape)``: how an invisible character is named in a message."""
    code = f"U+{ord(char):04X}"
    name = _CONTROL_NAMES.get(char)
    if name is None:
        if unicodedata.category(char) == "Cs":
            name = "a lone surrogate (the text is not valid UTF-8)"
        elif char in BIDI_CONTROLS:
            name = "a bidi override"
        else:
            name = "a control character"
    return f"{code} {name}"


def check_one_line(field: str, value: str) -> str:
    """Refuse ``value`` for the one-line field ``field`` if it holds a character that can
    break a line or drive a terminal; return it unchanged otherwise.

    The one rule for every one-line field at every input (CLI, console, JSON and email
    intake, and the sync server's op validation): CR, LF, VT, FF, NEL, LS/PS, ESC, BEL,
    every other C0/C1 control and DEL, lone surrogates and bidi overrides.
    """
    if value.isprintable():
        # Every character refused below is unprintable (categories Cc, Cs, Zl, Zp, and
        # the bidi controls in Cf): the common case needs no walk through the text.
        return value
    for position, char in enumerate(value, 1):
        if forbidden_in_line(char):
            hint = ("; put detail in --verbatim or a note"
                    if char in "\n\r\x0b\x0c\x85\u2028\u2029" else "")
            raise InvalidInput(
                f"{field} must be one line of printable text: character {position} is "
                f"{describe_char(char)}, which is not accepted here{hint}", field=field)
    return value


def clean_text(value: str | None, *, field: str, required: bool = False,
               max_len: int = TEXT_MAX, one_line: bool = False) -> str | None:
    """Strip the value; empty means absent. Refuse missing required text and overlong text;
    with ``one_line``, also anything ``check_one_line`` refuses."""
    text = (value or "").strip()
    if not text:
        if required:
            raise InvalidInput(f"{field} is required and cannot be empty", field=field)
        return None
    if len(text) > max_len:
        raise InvalidInput(
            f"{field} is {len(text)} characters long; at most {max_len} are accepted",
            field=field,
        )
    if one_line:
        check_one_line(field, text)
    else:
        _check_text(field, text)
    return text


def _check_text(field: str, text: str) -> None:
    """Multi-line text keeps tabs and newlines, but a lone surrogate cannot be stored as
    UTF-8 at all: refuse it here rather than fail deep in the store."""
    if text.isascii():
        return
    try:
        text.encode("utf-8")
        return  # only a lone surrogate fails to encode
    except UnicodeEncodeError:
        pass
    for position, char in enumerate(text, 1):
        if unicodedata.category(char) == "Cs":
            raise InvalidInput(f"{field}: character {position} is {describe_char(char)}; "
                               "send the text as UTF-8", field=field)


def summary(value: str | None) -> str:
    text = clean_text(value, field="summary", required=True, max_len=SUMMARY_MAX,
                      one_line=True)
    assert text is not None
    return text


def one_line(value: str | None, *, field: str, max_len: int = 200,
             required: bool = False) -> str | None:
    """A short one-line field (a name, a title, a queue): stripped, checked, or None."""
    return clean_text(value, field=field, required=required, max_len=max_len, one_line=True)


def email(value: str | None, *, field: str = "email") -> str | None:
    text = clean_text(value, field=field, max_len=254)
    if text is None:
        return None
    if not _EMAIL.fullmatch(text):
        raise InvalidInput(
            f"{text!r} is not an email address: expected name@example.com", field=field
        )
    return text.lower()


def phone(value: str | None, *, field: str = "phone") -> str | None:
    text = clean_text(value, field=field, max_len=40)
    if text is None:
        return None
    if not _PHONE.fullmatch(text) or sum(ch.isdigit() for ch in text) < 5:
        raise InvalidInput(
            f"{text!r} is not a phone number: use digits, spaces, +, -, ( and )", field=field
        )
    return text


def count(value: object, *, field: str) -> int | None:
    """A non-negative whole number (users affected and the like)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise InvalidInput(f"{field} must be a whole number, not true/false", field=field)
    try:
        number = int(str(value).strip())
    except ValueError:
        raise InvalidInput(f"{field} must be a whole number, got {value!r}", field=field) from None
    if number < 0:
        raise InvalidInput(f"{field} cannot be negative", field=field)
    return number


def time_entry(text: str) -> int:
    """Minutes for one time entry: more than zero, at most a day."""
    span = parse_duration(text)
    minutes = round(span.total_seconds() / 60)
    if minutes <= 0:
        raise InvalidInput(f"{text!r} is no time at all: log at least one minute",
                           field="duration")
    if span > MAX_TIME_ENTRY:
        raise InvalidInput(
            f"{text!r} is longer than one day; log each day's work as its own entry",
            field="duration",
        )
    return minutes


# --- the resolution-note rule -------------------------------------------------------

_ANCHORS = [
    lazy(r"\bKB[\s#-]?\d+\b", re.IGNORECASE),  # a knowledge-base article
    lazy(r"\b0x[0-9a-f]{4,}\b", re.IGNORECASE),  # an error code
    lazy(r"\bevent\s*id\s*\d+\b", re.IGNORECASE),  # a Windows event
    lazy(r"[\\/][\w.$-]+"),  # a path or registry key
    lazy(r"`[^`]+`|\b[\w-]+\.(exe|msi|ps1|bat|cmd|dll|ini|xml|json|plist)\b", re.I),
    lazy(r"(?<!^)(?<![.!?]\s)\b[A-Z][a-zA-Z0-9]+[A-Z0-9][\w-]*"),  # CamelCase / PRN-SRV01
    lazy(r"\b[A-Z]{2,}[\w-]*\b"),  # an acronym or host name: GPO, MFA, DC01
    lazy(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]{2,}\b"),  # a product name mid-sentence
]
MIN_RESOLUTION_WORDS = 6

RESOLUTION_HINT = (
    "write it for the next technician: name the system, the setting or command you "
    "changed, or cite the KB article (for example: 'Cleared the Outlook autodiscover "
    "cache with Test E-mail AutoConfiguration; see KB 4567')"
)


def resolution_problems(text: str | None) -> list[str]:
    """Why a resolution note is too vague to close on; empty when it is specific.

    Returned as a list (not raised) so the TUI can show the verdict live as the
    technician types, with exactly the wording the CLI refuses with.
    """
    note = (text or "").strip()
    if not note:
        return ["the resolution note is empty"]
    problems = []
    words = re.findall(r"[\w'.-]+", note)
    if len(words) < MIN_RESOLUTION_WORDS:
        noun = "word" if len(words) == 1 else "words"
        problems.append(f"it has only {len(words)} {noun}; say what you did in at least "
                        f"{MIN_RESOLUTION_WORDS}")
    if not any(pattern.search(note) for pattern in _ANCHORS):
        problems.append("it names no system, setting, command, error code or KB article")
    return problems


def check_resolution(text: str | None, *, field: str = "resolution") -> str:
    problems = resolution_problems(text)
    if problems:
        raise Refused(
            f"resolution note is too vague ({'; '.join(problems)}): {RESOLUTION_HINT}",
            field=field,
        )
    assert text is not None
    return text.strip()


# --- escalation handoff ---------------------------------------------------------------


class EscalationNotes(NamedTuple):
    """What Tier 2 needs so the ticket does not bounce back as a bare 'please assist'."""

    queue: str
    repro: str
    error: str
    tried: str
    impact: str
    asset: str | None = None

    @classmethod
    def build(cls, *, queue: str | None, repro: str | None, error: str | None,
              tried: str | None, impact: str | None, asset: str | None = None) -> "EscalationNotes":
        values = {"queue": queue, "repro": repro, "error": error, "tried": tried,
                  "impact": impact}
        missing = [name for name, value in values.items() if not (value or "").strip()]
        if missing:
            labels = {"queue": "target queue", "repro": "reproduction steps",
                      "error": "error text", "tried": "what was already tried",
                      "impact": "user impact"}
            raise Refused(
                "escalation refused: Tier 2 needs " + ", ".join(labels[m] for m in missing)
                + " (a bare 'please assist' handoff bounces back)",
                field=missing[0],
            )
        check_one_line("queue", (queue or "").strip())
        check_one_line("asset", (asset or "").strip())
        return cls(
            queue=(queue or "").strip(), repro=(repro or "").strip(), error=(error or "").strip(),
            tried=(tried or "").strip(), impact=(impact or "").strip(),
            asset=(asset or "").strip() or None,
        )

    def as_note(self) -> str:
        lines = [
            f"Escalated to {self.queue}.",
            f"Reproduce: {self.repro}",
            f"Error: {self.error}",
            f"Already tried: {self.tried}",
            f"User impact: {self.impact}",
        ]
        if self.asset:
            lines.append(f"Asset: {self.asset}")
        return "\n".join(lines)


def known_table(data: Any, where: str, known: frozenset[str]) -> Mapping[str, Any]:
    """A config table whose every key is known: a misspelt setting is named, not ignored."""
    if not isinstance(data, Mapping):
        raise InvalidInput(f"{where} must be a table")
    unknown = sorted(set(data) - known)
    if unknown:
        raise InvalidInput(f"{where}: unknown setting {unknown[0]!r}; known: "
                           f"{', '.join(sorted(known))}")
    return data
