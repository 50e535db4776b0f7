"""Input rules shared by every front end: what a field accepts and why it refused.

Messages say what was wrong and what is accepted, because a technician on a call has
no time to guess. The same functions run for CLI flags, JSON imports and TUI forms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from deskcli.domain.errors import InvalidInput, Refused

SUMMARY_MAX = 200
TEXT_MAX = 20_000
MAX_TIME_ENTRY = timedelta(hours=24)

_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
_PHONE = re.compile(r"\+?[0-9 ().-]{5,30}")


def clean_text(value: str | None, *, field: str, required: bool = False,
               max_len: int = TEXT_MAX) -> str | None:
    """Strip the value; empty means absent. Refuse missing required text and overlong text."""
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
    return text


def summary(value: str | None) -> str:
    text = clean_text(value, field="summary", required=True, max_len=SUMMARY_MAX)
    assert text is not None
    if "\n" in text:
        raise InvalidInput("summary must be one line; put detail in --verbatim or a note",
                           field="summary")
    return text


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


_DURATION = re.compile(
    r"(?:(?P<h>\d+(?:\.\d+)?)\s*h(?:ours?|rs?)?)?\s*(?:(?P<m>\d+)\s*m(?:in(?:utes?|s)?)?)?",
    re.IGNORECASE,
)
_CLOCK = re.compile(r"(?P<h>\d+):(?P<m>[0-5]\d)")


def parse_duration(text: str) -> timedelta:
    """Accept ``1h15m``, ``90m``, ``1.5h``, ``1:15`` or bare minutes ``45``."""
    raw = text.strip()
    hours = minutes = 0.0
    if raw.isdigit():
        minutes = float(raw)
    elif match := _CLOCK.fullmatch(raw):
        hours, minutes = float(match["h"]), float(match["m"])
    elif raw and (match := _DURATION.fullmatch(raw)) and (match["h"] or match["m"]):
        hours = float(match["h"] or 0)
        minutes = float(match["m"] or 0)
    else:
        raise InvalidInput(
            f"{text!r} is not a duration: use forms like 1h15m, 90m, 1.5h, 1:15 or 45 (minutes)",
            field="duration",
        )
    return timedelta(hours=hours, minutes=minutes)


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
    re.compile(r"\bKB[\s#-]?\d+\b", re.IGNORECASE),  # a knowledge-base article
    re.compile(r"\b0x[0-9a-f]{4,}\b", re.IGNORECASE),  # an error code
    re.compile(r"\bevent\s*id\s*\d+\b", re.IGNORECASE),  # a Windows event
    re.compile(r"[\\/][\w.$-]+"),  # a path or registry key
    re.compile(r"`[^`]+`|\b[\w-]+\.(exe|msi|ps1|bat|cmd|dll|ini|xml|json|plist)\b", re.I),
    re.compile(r"(?<!^)(?<![.!?]\s)\b[A-Z][a-zA-Z0-9]+[A-Z0-9][\w-]*"),  # CamelCase / PRN-SRV01
    re.compile(r"\b[A-Z]{2,}[\w-]*\b"),  # an acronym or host name: GPO, MFA, DC01
    re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]{2,}\b"),  # a product name mid-sentence
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


@dataclass(frozen=True)
class EscalationNotes:
    """What Tier 2 needs so the ticket does not bounce back as a bare 'please assist'."""

    queue: str
    repro: str
    error: str
    tried: str
    impact: str
    asset: str | None = None

    @classmethod
    def build(cls, *, queue: str | None, repro: str | None, error: str | None,
              tried: str | None, impact: str | None, asset: str | None = None) -> EscalationNotes:
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
