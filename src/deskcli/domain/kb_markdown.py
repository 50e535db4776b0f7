"""Articles as Markdown files: ``+++`` TOML front matter, then the body.

The format for ``kb import``/``kb export`` and for ``kb edit`` in $EDITOR. TOML because
the standard library parses it strictly (``tomllib``), so a typo is reported with the line
it is on instead of being guessed at; it is written by ``tomli-w``, so whatever a title
holds is escaped the way TOML requires and reads back unchanged. A plain Markdown file
(an export from another tool) is accepted too: its first ``# heading`` is the title and
the rest is the body. So is ``---`` YAML front matter, as Hugo, Jekyll and Obsidian write
it (parsed by PyYAML's safe loader, imported only when such a file is read); there the
keys deskcli does not know (``date``, ``draft``, ``layout``...) are ignored, since they
belong to the other tool.

Front matter keys: ``title`` (required), ``tags``, ``errors``, ``products`` (lists of
strings, or one comma-separated string), ``client`` (a client's name; absent for all
clients) and ``id`` (written on export, so importing the file again updates the article).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from datetime import date
from typing import Any

from deskcli.domain.errors import InvalidInput
from deskcli.domain.kb import ArticleDraft

FENCE = "+++"
YAML_FENCE = "---"
KEYS = ("id", "title", "tags", "errors", "products", "client")
_LINE_RE = re.compile(r"at line (\d+)")


def _problem(source: str, line: int, message: str) -> InvalidInput:
    return InvalidInput(f"{source}, line {line}: {message}")


def _list(value: Any, key: str, source: str, line: int) -> list[str]:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value if v.strip()]
    raise _problem(source, line, f"'{key}' must be a list of strings "
                   f"(e.g. {key} = [\"a\", \"b\"]) or one comma-separated string")


def _key_line(lines: list[str], key: str) -> int:
    for number, line in enumerate(lines, 2):
        if re.split(r"[=:]", line)[0].strip() == key:
            return number
    return 1


def parse(text: str, source: str) -> ArticleDraft:
    """An article from a Markdown file's text; ``source`` names it in error messages."""
    text = text.lstrip("\ufeff")
    # Only LF (or CRLF) ends a line: a VT, FF or U+2028 inside the body stays where it is.
    lines = re.split(r"\r?\n", text)
    if lines and lines[0].strip() == FENCE:
        try:
            end = next(i for i in range(1, len(lines)) if lines[i].strip() == FENCE)
        except StopIteration:
            raise _problem(source, 1, f"front matter opened with '{FENCE}' is never closed "
                           f"(add a line with '{FENCE}' after it)") from None
        front_lines = lines[1:end]
        try:
            front = tomllib.loads("\n".join(front_lines))
        except tomllib.TOMLDecodeError as error:
            found = _LINE_RE.search(str(error))
            # tomllib counts from the first front matter line; the file has '+++' above.
            line = int(found.group(1)) + 1 if found else max(len(front_lines), 1) + 1
            reason = re.split(r" \(at ", str(error))[0]
            raise _problem(source, line, f"front matter is not valid TOML: {reason}") from None
        return _from_front(front, "\n".join(lines[end + 1:]), front_lines, source)
    if lines and lines[0].strip() == YAML_FENCE:
        return _parse_yaml(lines, source)
    for number, text in enumerate(lines):
        if text.strip():
            if not text.startswith("# "):
                raise _problem(source, number + 1, "no title: start the file with '+++' "
                               "front matter holding title = \"...\", '---' front matter "
                               "holding title: ..., or a '# Title' heading")
            title = text[2:].strip()
            return ArticleDraft(title=title, body="\n".join(lines[number + 1:]).strip("\n"))
    raise _problem(source, 1, "the file is empty")


def _parse_yaml(lines: list[str], source: str) -> ArticleDraft:
    """``---`` YAML front matter (closed by ``---`` or ``...``), then the body."""
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].rstrip() in ("---", "..."))
    except StopIteration:
        raise _problem(source, 1, "front matter opened with '---' is never closed (add a "
                       "line with '---' after it)") from None
    front_lines = lines[1:end]
    import yaml

    try:
        front = yaml.safe_load("\n".join(front_lines)) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1
        reason = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise _problem(source, line, f"front matter is not valid YAML: {reason}") from None
    if not isinstance(front, Mapping):
        raise _problem(source, 2, "YAML front matter must be 'key: value' lines")
    known = {str(k): _yaml_value(v) for k, v in front.items() if str(k) in KEYS}
    return _from_front(known, "\n".join(lines[end + 1:]), front_lines, source, yaml=True)


def _yaml_value(value: Any) -> Any:
    """YAML reads ``title: 2024`` as a number and ``date``s as dates: as text here."""
    if isinstance(value, list):
        return [_yaml_value(v) for v in value]
    if isinstance(value, bool | int | float | date):
        return str(value)
    return value


def _from_front(front: Mapping[str, Any], body: str, lines: list[str],
                source: str, *, yaml: bool = False) -> ArticleDraft:
    unknown = [k for k in front if k not in KEYS]
    if unknown:
        raise _problem(source, _key_line(lines, unknown[0]),
                       f"unknown front matter key '{unknown[0]}' (known: {', '.join(KEYS)})")
    for key in ("id", "title", "client"):
        if key in front and not isinstance(front[key], str):
            raise _problem(source, _key_line(lines, key), f"'{key}' must be a string")
    title = str(front.get("title") or "").strip()
    if not title:
        heading = re.match(r"\s*# (.+)", body)
        if heading is None:
            example = 'title: "..."' if yaml else 'title = "..."'
            raise _problem(source, 1, f"front matter has no title (add {example})")
        title = heading.group(1).strip()
        body = body[heading.end():]
    return ArticleDraft(
        title=title, body=body.strip("\n"),
        tags=_list(front.get("tags", []), "tags", source, _key_line(lines, "tags")),
        error_codes=_list(front.get("errors", []), "errors", source,
                          _key_line(lines, "errors")),
        products=_list(front.get("products", []), "products", source,
                       _key_line(lines, "products")),
        client=front.get("client") or None, id=front.get("id") or None)


def render(draft: ArticleDraft) -> str:
    """The file ``parse`` reads back into the same draft, whatever its strings hold."""
    import tomli_w

    front: dict[str, Any] = {}
    if draft.id:
        front["id"] = draft.id
    front["title"] = draft.title
    front["tags"] = list(draft.tags)
    front["errors"] = list(draft.error_codes)
    front["products"] = list(draft.products)
    if draft.client:
        front["client"] = draft.client
    body = draft.body.strip("\n")
    return "\n".join([FENCE, tomli_w.dumps(front).rstrip("\n"), FENCE, "", body]) + "\n"


def file_name(draft: ArticleDraft, handle: str) -> str:
    """``outlook-send-fails-0x800ccc0e-3f9a1c2e.md``: readable, and unique by the handle."""
    slug = re.sub(r"[^a-z0-9]+", "-", draft.title.lower()).strip("-")[:60].strip("-")
    return f"{slug or 'article'}-{handle}.md"
