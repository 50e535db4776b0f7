"""The technician's settings file, ``config.toml`` in the config dir.

Only non-secret settings live here. Tokens go to the OS keyring (or an environment variable
for scripts), never into this file.
"""

from __future__ import annotations

import getpass
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from deskcli.domain.account_work import AccountWords
from deskcli.domain.calendar import BusinessCalendar, parse_calendar
from deskcli.domain.errors import InvalidInput
from deskcli.domain.mailboxes import IntakeSettings, parse_intake
from deskcli.domain.notify import NotifySettings, parse_settings
from deskcli.domain.roster import Roster, parse_roster
from deskcli.domain.sla import SlaPolicy
from deskcli.domain.validation import parse_duration

KNOWN_KEYS = frozenset({"tech", "sla", "checkpoint", "attachment_max_mb", "acknowledge",
                        "notify", "account_work", "intake", "calendar", "technicians",
                        "shifts"})


@dataclass(frozen=True)
class Config:
    #: The technician's handle, recorded as the actor on every event.
    tech: str
    sla: SlaPolicy = field(default_factory=SlaPolicy)
    #: A ticket with no word to the caller for this long is flagged (communication checkpoint).
    checkpoint: timedelta = timedelta(hours=4)
    attachment_max_bytes: int = 10 * 1024 * 1024
    #: Channels, templates, survey delay and retry policy (``[notify]``; docs/notifications.md).
    notify: NotifySettings = field(default_factory=NotifySettings)
    #: What names account or credential work (``[account_work]``): built-in words plus
    #: the team's, so the identity rule catches the desk's own vocabulary.
    account_words: AccountWords = field(default_factory=AccountWords)
    #: Support mailboxes tickets are taken from (``[intake]``; docs/email.md).
    intake: IntakeSettings = field(default_factory=IntakeSettings)
    #: The desk's business hours (``[calendar]``; docs/rules.md); always open when unset.
    calendar: BusinessCalendar = field(default_factory=BusinessCalendar.always)
    #: Technicians with their groups and shifts (``[technicians.HANDLE]``, ``[shifts]``),
    #: what a solo store's rules assign to; a team server keeps its own (server records).
    roster: Roster = field(default_factory=Roster)


def default_tech(environ: Mapping[str, str]) -> str:
    explicit = environ.get("DESKCLI_TECH")
    if explicit:
        return explicit.strip()
    try:
        return getpass.getuser()
    except Exception:  # no login name (some containers): still need an actor
        return "technician"


def load_config(path: Path, environ: Mapping[str, str] | None = None) -> Config:
    env = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as error:
            raise InvalidInput(f"{path}: not valid TOML: {error}") from None
        except (OSError, UnicodeDecodeError) as error:
            raise InvalidInput(f"{path}: cannot be read: {error}") from None
    unknown = sorted(set(data) - KNOWN_KEYS)
    if unknown:
        raise InvalidInput(f"{path}: unknown setting {unknown[0]!r}; known settings: "
                           f"{', '.join(sorted(KNOWN_KEYS))}")
    try:
        sla = SlaPolicy.from_mapping(data.get("sla", {}))
        checkpoint = parse_duration(str(data.get("checkpoint", "4h")))
        max_mb = data.get("attachment_max_mb", 10)
        if not isinstance(max_mb, int | float) or max_mb <= 0:
            raise InvalidInput("attachment_max_mb must be a positive number")
        notify = parse_settings(data.get("notify", {}))
        account_raw = data.get("account_work", {})
        if not isinstance(account_raw, dict):
            raise InvalidInput("account_work must be a table: [account_work] with "
                               "categories = [...] and words = [...]")
        account_words = AccountWords.from_mapping(account_raw)
        intake = parse_intake(data.get("intake", {}))
        calendar = (parse_calendar(data["calendar"], "calendar") if "calendar" in data
                    else BusinessCalendar.always())
        roster = parse_roster(data.get("technicians"), data.get("shifts"), calendar=calendar,
                              calendar_configured="calendar" in data)
    except InvalidInput as error:
        raise InvalidInput(f"{path}: {error.message}") from None
    tech = env.get("DESKCLI_TECH") or data.get("tech") or default_tech(env)
    return Config(tech=str(tech), sla=sla, checkpoint=checkpoint,
                  attachment_max_bytes=int(max_mb * 1024 * 1024), notify=notify,
                  account_words=account_words, intake=intake, calendar=calendar,
                  roster=roster)
