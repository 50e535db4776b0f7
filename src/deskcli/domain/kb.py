"""Knowledge-base rules: article fields, handles, search queries, error codes, ages.

Pure functions, no I/O: the service feeds them text and stores what they return, the
CLI and the TUI show the messages they raise. The full-text index itself lives in the
store (SQLite FTS5); this module decides what a user's words mean as an FTS5 query, so a
stray quote or ``*`` typed into the search box can never become an FTS5 syntax error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from deskcli.domain.durations import parse_duration
from deskcli.domain.errors import InvalidInput
from deskcli.domain.patterns import lazy
from deskcli.domain.validation import check_one_line
from deskcli.domain.values import Value

TITLE_MAX = 200
BODY_MAX = 200_000
HANDLE_LEN = 8
HANDLE_MIN = 4
#: Article fields a technician edits; every save records which of them changed.
ARTICLE_FIELDS = ("title", "body", "tags", "error_codes", "products", "client_id")

#: Error codes technicians paste: HRESULTs, KB numbers, Windows event ids, Chrome/.NET
#: style UPPER_SNAKE names, Azure AD sign-in codes, SMTP status codes.
_CODE_PATTERNS = (
    r"\b0x[0-9A-Fa-f]{4,8}\b",
    r"\bKB\d{6,8}\b",
    r"\bEvent\s+ID\s*:?\s*\d{1,5}\b",
    r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+){2,}\b",
    r"\bAADSTS\d{5,6}\b",
    r"\b[45]\.\d\.\d{1,3}\b",
)
_CODE_RE = lazy("|".join(f"(?:{p})" for p in _CODE_PATTERNS), re.IGNORECASE)
_EVENT_RE = lazy(r"event\s+id\s*:?\s*(\d{1,5})", re.IGNORECASE)
_TOKEN_RE = lazy(r'"([^"]*)"?|(\S+)')
_QUOTED_RE = lazy(r'("[^"]*"?)')


def short_handle(article_id: str) -> str:
    """The part of an article id a technician types: the last 8 hex digits.

    The tail of a UUIDv7 is random, so two articles minted in the same millisecond on two
    machines still get different handles; its head is a timestamp and would not.
    """
    return article_id.replace("-", "")[-HANDLE_LEN:]


def check_handle(text: str) -> str:
    """A handle or id as typed, normalised; too short or not hex is a clear error."""
    cleaned = text.strip().lower().removeprefix("kb:").removeprefix("kb-")
    if not re.fullmatch(r"[0-9a-f-]+", cleaned or "x"):
        raise InvalidInput(f"{text!r} is not an article id: use the 8-character id "
                           "'deskcli kb search' prints (hex digits), or the full id")
    if len(cleaned.replace("-", "")) < HANDLE_MIN:
        raise InvalidInput(f"article id {text!r} is too short: give at least {HANDLE_MIN} "
                           "of its hex digits")
    return cleaned


def split_list(raw: str | Iterable[str] | None, *, field: str = "list") -> list[str]:
    """Comma-separated input (or a list) as clean unique items, order kept.

    The store keeps these lists comma-separated, so an item given in a real list (TOML
    or YAML front matter, JSON) may not hold a comma itself: it is refused by name
    rather than silently split in two. Each item is a one-line field.
    """
    items = raw.split(",") if isinstance(raw, str) else list(raw or [])
    seen: dict[str, None] = {}
    for item in items:
        text = str(item)
        if "," in text:
            raise InvalidInput(f"{field} item {text!r} contains a comma, which separates "
                               f"{field}; write it without the comma (for example "
                               f"{text.replace(',', '')!r})", field=field)
        check_one_line(field, text.strip())
        cleaned = " ".join(text.split())
        if cleaned and cleaned.casefold() not in {k.casefold() for k in seen}:
            seen[cleaned] = None
    return list(seen)


def normalise_tags(raw: str | Iterable[str] | None) -> str:
    tags = [t.lower().replace(" ", "-") for t in split_list(raw, field="tags")]
    for tag in tags:
        if "," in tag or len(tag) > 40:
            raise InvalidInput(f"tag {tag!r} is too long (40 characters at most)")
    return ",".join(tags)


def join_list(raw: str | Iterable[str] | None) -> str:
    return ",".join(split_list(raw))


def check_title(title: str | None) -> str:
    """A title is a one-line field (``validation.check_one_line``): runs of spaces are
    folded, but a control character is refused, not folded away."""
    raw = (title or "").strip()
    if raw:
        check_one_line("title", raw)
    cleaned = " ".join(raw.split())
    if not cleaned:
        raise InvalidInput("an article needs a title", field="title")
    if len(cleaned) > TITLE_MAX:
        raise InvalidInput(f"the title is {len(cleaned)} characters; {TITLE_MAX} at most",
                           field="title")
    return cleaned


def check_body(body: str | None) -> str:
    text = (body or "").strip("\n")
    if len(text) > BODY_MAX:
        raise InvalidInput(f"the body is {len(text)} characters; {BODY_MAX} at most",
                           field="body")
    return text + "\n" if text else ""


class ArticleDraft(Value):
    """An article as typed or imported, before it has an id in the store.

    A ``Value`` (compared by its fields, immutable; ``replace`` gives a changed copy)
    rather than a frozen dataclass, so ``deskcli show`` and ``kb search`` do not load
    ``dataclasses`` (``domain/values.py``)."""

    _fields = ("title", "body", "tags", "error_codes", "products", "client", "id")

    title: str
    body: str
    tags: list[str]
    error_codes: list[str]
    products: list[str]
    client: str | None
    id: str | None

    def __init__(self, title: str, body: str = "", tags: list[str] | None = None,
                 error_codes: list[str] | None = None, products: list[str] | None = None,
                 client: str | None = None, id: str | None = None) -> None:
        self._set(title=title, body=body, tags=[] if tags is None else tags,
                  error_codes=[] if error_codes is None else error_codes,
                  products=[] if products is None else products, client=client, id=id)

    def replace(self, **changes: Any) -> ArticleDraft:
        """A copy with ``changes`` (what ``dataclasses.replace`` gave)."""
        return ArticleDraft(**{**dict(zip(self._fields, self._values(), strict=True)),
                               **changes})

    def checked(self) -> ArticleDraft:
        return self.replace(title=check_title(self.title), body=check_body(self.body),
                            tags=normalise_tags(self.tags).split(",") if self.tags else [],
                            error_codes=split_list(self.error_codes, field="errors"),
                            products=split_list(self.products, field="products"),
                            client=(self.client or "").strip() or None)


def changed_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    return [name for name in ARTICLE_FIELDS
            if name in after and (before.get(name) or "") != (after.get(name) or "")]


# --- search queries ------------------------------------------------------------------------


def _phrase(text: str) -> str | None:
    """One FTS5 string: its words must appear together, in order; quotes are doubled."""
    if not re.search(r"\w", text):
        return None
    return '"' + text.replace('"', '""') + '"'


def query_terms(text: str) -> list[str]:
    """The user's words as FTS5 phrases.

    ``"quoted words"`` stay one phrase, ``Event ID 4625`` is one phrase (three words that
    only mean something together), and every other word is a phrase of its own. An error
    code is a single token in the index, so ``0x800CCC0E`` never matches ``0x800CCC0E1``
    or ``0x800CCC``; ``DNS_PROBE_FINISHED_NXDOMAIN`` is matched as its words in order.
    """
    # Event ids outside quotes become one phrase; inside quotes they already are one
    # (quoting them again split them into "event", "id" and a stray quote).
    text = "".join(part if part.startswith('"') else
                   _EVENT_RE.sub(lambda m: f'"event id {m.group(1)}"', part)
                   for part in _QUOTED_RE.split(text))
    terms: list[str] = []
    for quoted, bare in _TOKEN_RE.findall(text):
        phrase = _phrase(quoted if quoted else bare)
        if phrase and phrase not in terms:
            terms.append(phrase)
    return terms


def match_expression(text: str, *, any_word: bool = False) -> str | None:
    """The FTS5 MATCH text for a query: every phrase (AND) or any of them (OR)."""
    terms = query_terms(text)
    if not terms:
        return None
    return (" OR " if any_word else " AND ").join(terms)


def extract_codes(*texts: str | None) -> list[str]:
    """Error codes and event ids found in free text, in the order they appear."""
    found: list[str] = []
    for text in texts:
        for match in _CODE_RE.finditer(text or ""):
            code = " ".join(match.group(0).split())
            event = _EVENT_RE.fullmatch(code)
            if event:
                code = f"Event ID {event.group(1)}"
            if code.casefold() not in {c.casefold() for c in found}:
                found.append(code)
    return found


def parse_age(text: str) -> timedelta:
    """How far back a search looks (``48h``, ``90d``, ``6mo``): at least an hour, so
    ``6m`` (six minutes) is refused with a pointer to ``6mo`` instead of finding nothing."""
    return parse_duration(text, what="--since", bare_unit=None,
                          minimum=timedelta(hours=1))


# --- drafting an article from a ticket -----------------------------------------------------


def draft_from_ticket(ticket: Mapping[str, Any]) -> ArticleDraft:
    """A first version of an article from a resolved ticket, for the technician to edit.

    Symptom from the caller's words and the exact error, cause from the root cause, steps
    from the resolution (one numbered step per line).
    """
    symptom = [line for line in (ticket.get("verbatim"), ticket.get("error_text")) if line]
    steps = [line.strip(" -*\t") for line in (ticket.get("resolution") or "").splitlines()]
    steps = [s for s in steps if s]
    sections = [
        "## Symptom", "", *(symptom or ["(what the user sees)"]), "",
        "## Cause", "", ticket.get("root_cause") or "(why it happens)", "",
        "## Steps", "",
        *([f"{n}. {step}" for n, step in enumerate(steps, 1)] or ["1. (first step)"]),
    ]
    codes = extract_codes(ticket.get("error_text"), ticket.get("event_ids"),
                          ticket.get("verbatim"))
    category = ticket.get("category")
    return ArticleDraft(title=str(ticket.get("summary") or "Untitled"),
                        body="\n".join(sections) + "\n",
                        tags=[category] if category else [], error_codes=codes,
                        client=ticket.get("client_name"))


def prefill_query(ticket: Mapping[str, Any], max_words: int = 8) -> str:
    """What the KB search starts with for a ticket: its error codes if it has any (each
    one is precise), else the first words of its error text or the caller's words."""
    codes = extract_codes(ticket.get("error_text"), ticket.get("event_ids"),
                          ticket.get("verbatim"))
    if codes:
        return " ".join(f'"{c}"' if " " in c else c for c in codes)
    text = ticket.get("error_text") or ticket.get("verbatim") or ticket.get("summary") or ""
    words = re.findall(r"[\w.-]+", str(text))
    return " ".join(words[:max_words])
