"""Message templates and canned responses: parsed, checked and filled in, without I/O.

A template is plain text a team edits: a ``Subject:`` line, a blank line, then the body.
Placeholders are ``{name}`` from a fixed list, so a typo such as ``{caler}`` is refused
when the file is loaded, not discovered by a caller reading a blank where their name
should be. Canned responses (snippets) use the same placeholders and are expanded from
``/shortcode`` words in a reply.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import InvalidInput

#: Every placeholder a template or snippet may use, and what it becomes.
PLACEHOLDERS: dict[str, str] = {
    "caller": "the caller's first name (or 'there' when unknown)",
    "ticket": "the ticket number, such as #4521",
    "summary": "the ticket's one-line summary",
    "technician": "the technician's handle",
    "priority": "P1 to P4",
    "resolution": "the resolution note (empty before the ticket is resolved)",
    "bridge": "the incident bridge link or dial-in (P1 only)",
    "next_update": "when the caller hears from us next",
    "message": "the words the technician wrote for this update",
}

_SHORTCODE = re.compile(r"(?<![\w/])/([a-z][a-z0-9_-]*)\b")


def placeholders_in(text: str, *, where: str) -> set[str]:
    """The placeholder names used in ``text``; an unknown or malformed one is an error."""
    names: set[str] = set()
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as error:
        raise InvalidInput(f"{where}: {error}; write a literal brace as {{{{ or }}}}") from None
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in PLACEHOLDERS or spec or conversion:
            raise InvalidInput(f"{where}: unknown placeholder {{{name}}}; known: "
                               + ", ".join(f"{{{p}}}" for p in PLACEHOLDERS))
        names.add(name)
    return names


def fill(text: str, values: Mapping[str, str]) -> str:
    """Substitute placeholders; one missing from ``values`` becomes empty, never an error."""
    return text.format_map({name: values.get(name, "") or "" for name in PLACEHOLDERS})


@dataclass(frozen=True)
class Template:
    name: str
    subject: str
    body: str

    @classmethod
    def parse(cls, name: str, text: str, *, where: str) -> Template:
        head, sep, body = text.replace("\r\n", "\n").partition("\n\n")
        if not head.lower().startswith("subject:") or "\n" in head.strip():
            raise InvalidInput(f"{where}: a template starts with one 'Subject: ...' line, "
                               "then a blank line, then the body")
        subject = head.split(":", 1)[1].strip()
        if not subject or not sep or not body.strip():
            raise InvalidInput(f"{where}: the subject and the body must both have text")
        placeholders_in(subject, where=f"{where} (subject)")
        placeholders_in(body, where=where)
        return cls(name, subject, body.strip() + "\n")

    def render(self, values: Mapping[str, str]) -> tuple[str, str]:
        """(subject, body). The ticket number always leads the subject so replies thread."""
        subject = fill(self.subject, values)
        ref = values.get("ticket", "")
        if ref and f"[{ref}]" not in subject:
            subject = f"[{ref}] {subject}"
        return subject, fill(self.body, values)


def parse_snippets(data: object, *, where: str) -> dict[str, str]:
    """``[snippets]`` of the snippets file: shortcode → text, each checked."""
    if not isinstance(data, Mapping):
        raise InvalidInput(f"{where}: expected a [snippets] table of name = \"text\"")
    unknown = sorted(set(data) - {"snippets"})
    if unknown:
        raise InvalidInput(f"{where}: unknown table {unknown[0]!r}; only [snippets] is read")
    table = data.get("snippets", {})
    if not isinstance(table, Mapping):
        raise InvalidInput(f"{where}: [snippets] must be a table of name = \"text\"")
    out: dict[str, str] = {}
    for name, text in table.items():
        if not re.fullmatch(r"[a-z][a-z0-9_-]*", str(name)):
            raise InvalidInput(f"{where}: snippet name {name!r} must be lower-case letters, "
                               "digits, - and _ (it is typed as /name)")
        if not isinstance(text, str) or not text.strip():
            raise InvalidInput(f"{where}: snippet {name!r} needs some text")
        placeholders_in(text, where=f"{where}: snippet {name!r}")
        out[str(name)] = text.strip()
    return out


def expand_shortcodes(text: str, snippets: Mapping[str, str],
                      values: Mapping[str, str]) -> str:
    """Replace each ``/name`` word that names a snippet by the filled-in snippet.

    A slash word that names no snippet (a path such as /var/log) is left as typed.
    """
    def swap(match: re.Match[str]) -> str:
        snippet = snippets.get(match.group(1))
        return match.group(0) if snippet is None else fill(snippet, values)

    return _SHORTCODE.sub(swap, text)
