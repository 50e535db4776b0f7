"""Loading the message templates and canned responses a team may edit.

Built-in files ship in ``deskcli/notify/defaults``; a file of the same name in the config
dir's ``templates/`` folder (or ``notify.templates_dir``) replaces one, and
``snippets.toml`` in the config dir (or ``notify.snippets_file``) adds or replaces
snippets. Every file is checked when loaded: an unknown placeholder is an error naming the
file, before any caller could receive a message with a hole in it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from deskcli.domain.communication import next_update_by
from deskcli.domain.errors import InvalidInput
from deskcli.domain.notify import NotifySettings, Purpose
from deskcli.domain.numbering import display_ref
from deskcli.domain.templates import Template, parse_snippets
from deskcli.domain.timefmt import from_iso

DEFAULTS = Path(__file__).resolve().parent.parent / "notify" / "defaults"
#: The caller-facing messages, each from the template of the same name.
CALLER_TEMPLATES = (Purpose.ACKNOWLEDGEMENT, Purpose.UPDATE, Purpose.RESOLUTION, Purpose.SURVEY)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidInput(f"{path}: cannot be read: {error}") from None


def _resolve(config_dir: Path, configured: str | None, default: str) -> Path:
    path = Path(configured).expanduser() if configured else Path(default)
    return path if path.is_absolute() else config_dir / path


def load_templates(config_dir: Path, settings: NotifySettings) -> dict[str, Template]:
    folder = _resolve(config_dir, settings.templates_dir, "templates")
    if settings.templates_dir and not folder.is_dir():
        raise InvalidInput(f"notify.templates_dir: {folder} is not a folder")
    out: dict[str, Template] = {}
    for purpose in CALLER_TEMPLATES:
        own = folder / f"{purpose.value}.txt"
        path = own if own.is_file() else DEFAULTS / f"{purpose.value}.txt"
        out[purpose.value] = Template.parse(purpose.value, _read(path), where=str(path))
    return out


def load_snippets(config_dir: Path, settings: NotifySettings) -> dict[str, str]:
    """Built-in snippets, then the team's file over them."""
    snippets: dict[str, str] = {}
    own = _resolve(config_dir, settings.snippets_file, "snippets.toml")
    if settings.snippets_file and not own.is_file():
        raise InvalidInput(f"notify.snippets_file: no file at {own}")
    for path in (DEFAULTS / "snippets.toml", own):
        if not path.is_file():
            continue
        try:
            data = tomllib.loads(_read(path))
        except tomllib.TOMLDecodeError as error:
            raise InvalidInput(f"{path}: not valid TOML: {error}") from None
        snippets.update(parse_snippets(data, where=str(path)))
    return snippets


def ticket_values(ticket: Mapping[str, Any], *, technician: str, now: datetime,
                  checkpoint: timedelta, **extra: str) -> dict[str, str]:
    """The placeholder values for one ticket (see domain/templates.py PLACEHOLDERS)."""
    caller = str(ticket.get("caller_name") or "").split()
    due = ticket.get("response_due")
    next_update = next_update_by(now, checkpoint, from_iso(due) if due else now + checkpoint)
    values = {
        "caller": caller[0] if caller else "there",
        "ticket": display_ref(ticket.get("number"), ticket.get("provisional")),
        "summary": str(ticket.get("summary") or ""),
        "technician": str(ticket.get("assignee") or technician),
        "priority": str(ticket.get("priority") or ""),
        "resolution": str(ticket.get("resolution") or ""),
        "next_update": next_update.strftime("%H:%M UTC on %a %d %b"),
        "bridge": "",
        "message": "",
    }
    values.update(extra)
    return values
