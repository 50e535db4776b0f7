"""The technician's settings file, ``config.toml`` in the config dir.

Only non-secret settings live here. Tokens go to the OS keyring (or an environment variable
for scripts), never into this file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deskcli.domain.durations import parse_duration
from deskcli.domain.errors import InvalidInput
from deskcli.domain.sla import SlaPolicy
from deskcli.domain.values import Value

if TYPE_CHECKING:  # parsed here only when the file has the section (see ``Config``)
    from deskcli.domain.account_work import AccountWords
    from deskcli.domain.calendar import BusinessCalendar
    from deskcli.domain.mailboxes import IntakeSettings
    from deskcli.domain.notify import NotifySettings
    from deskcli.domain.roster import Roster

#: How long a ticket may go without a word to the caller (``checkpoint``, "4h").
DEFAULT_CHECKPOINT = timedelta(hours=4)

KNOWN_KEYS = frozenset({"tech", "sla", "checkpoint", "attachment_max_mb", "acknowledge",
                        "notify", "account_work", "intake", "calendar", "technicians",
                        "shifts"})


class Config(Value):
    """The settings. ``[notify]``, ``[account_work]``, ``[intake]``, ``[calendar]``,
    ``[technicians]`` and ``[shifts]`` are checked when the file is read if it has them;
    a file without them gets their defaults on first use, so a command that never looks
    at them (``deskcli queue``) does not import their code.

    A ``Value`` (compared by its fields, immutable), as the frozen dataclass it was: every
    command reads the settings, and ``dataclasses`` (with ``inspect`` and ``ast``) cost a
    short command more than its own work (issue 20, ``domain/values.py``).
    """

    _fields = ("tech", "sla", "checkpoint", "attachment_max_bytes", "notify_given",
               "account_words_given", "intake_given", "calendar_given", "roster_given")
    _hidden = frozenset(_fields[4:])

    #: The technician's handle, recorded as the actor on every event.
    tech: str
    sla: SlaPolicy
    #: A ticket with no word to the caller for this long is flagged (communication checkpoint).
    checkpoint: timedelta
    attachment_max_bytes: int
    notify_given: NotifySettings | None
    account_words_given: AccountWords | None
    intake_given: IntakeSettings | None
    calendar_given: BusinessCalendar | None
    roster_given: Roster | None

    def __init__(self, tech: str, sla: SlaPolicy | None = None,
                 checkpoint: timedelta = DEFAULT_CHECKPOINT,
                 attachment_max_bytes: int = 10 * 1024 * 1024,
                 notify_given: NotifySettings | None = None,
                 account_words_given: AccountWords | None = None,
                 intake_given: IntakeSettings | None = None,
                 calendar_given: BusinessCalendar | None = None,
                 roster_given: Roster | None = None) -> None:
        self._set(tech=tech, sla=SlaPolicy() if sla is None else sla, checkpoint=checkpoint,
                  attachment_max_bytes=attachment_max_bytes, notify_given=notify_given,
                  account_words_given=account_words_given, intake_given=intake_given,
                  calendar_given=calendar_given, roster_given=roster_given)

    @cached_property
    def notify(self) -> NotifySettings:
        """Channels, templates, survey delay and retry policy (``[notify]``;
        docs/notifications.md)."""
        if self.notify_given is not None:
            return self.notify_given
        from deskcli.domain.notify import NotifySettings

        return NotifySettings()

    @property
    def notify_enabled(self) -> bool:
        """Whether any channel is in use, without building the default settings."""
        return self.notify_given is not None and self.notify_given.enabled

    @cached_property
    def account_words(self) -> AccountWords:
        """What names account or credential work (``[account_work]``): built-in words plus
        the team's, so the identity rule catches the desk's own vocabulary."""
        if self.account_words_given is not None:
            return self.account_words_given
        from deskcli.domain.account_work import AccountWords

        return AccountWords()

    @cached_property
    def intake(self) -> IntakeSettings:
        """Support mailboxes tickets are taken from (``[intake]``; docs/email.md)."""
        if self.intake_given is not None:
            return self.intake_given
        from deskcli.domain.mailboxes import IntakeSettings

        return IntakeSettings()

    @cached_property
    def calendar(self) -> BusinessCalendar:
        """The desk's business hours (``[calendar]``; docs/rules.md); always open when
        unset."""
        if self.calendar_given is not None:
            return self.calendar_given
        from deskcli.domain.calendar import BusinessCalendar

        return BusinessCalendar.always()

    @cached_property
    def roster(self) -> Roster:
        """Technicians with their groups and shifts (``[technicians.HANDLE]``,
        ``[shifts]``), what a solo store's rules assign to; a team server keeps its own
        (server records)."""
        if self.roster_given is not None:
            return self.roster_given
        from deskcli.domain.roster import Roster

        return Roster()


def default_tech(environ: Mapping[str, str]) -> str:
    explicit = environ.get("DESKCLI_TECH")
    if explicit:
        return explicit.strip()
    import getpass  # only without DESKCLI_TECH

    try:
        return getpass.getuser()
    except Exception:  # no login name (some containers): still need an actor
        return "technician"


def load_config(path: Path, environ: Mapping[str, str] | None = None) -> Config:
    env = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    if path.exists():
        import tomllib  # only when there is a file to read

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
        # The default is parse_duration("4h"), written out: a file without the key
        # does not compile the duration patterns for it (issue 20; a test keeps them equal).
        checkpoint = (parse_duration(str(data["checkpoint"])) if "checkpoint" in data
                      else DEFAULT_CHECKPOINT)
        max_mb = data.get("attachment_max_mb", 10)
        if not isinstance(max_mb, int | float) or max_mb <= 0:
            raise InvalidInput("attachment_max_mb must be a positive number")
        notify = account_words = intake = None
        if "notify" in data:
            from deskcli.domain.notify import parse_settings

            notify = parse_settings(data["notify"])
        if "account_work" in data:
            from deskcli.domain.account_work import AccountWords

            account_raw = data["account_work"]
            if not isinstance(account_raw, dict):
                raise InvalidInput("account_work must be a table: [account_work] with "
                                   "categories = [...] and words = [...]")
            account_words = AccountWords.from_mapping(account_raw)
        if "intake" in data:
            from deskcli.domain.mailboxes import parse_intake

            intake = parse_intake(data["intake"])
        calendar = roster = None
        if {"calendar", "technicians", "shifts"} & set(data):
            from deskcli.domain.calendar import BusinessCalendar, parse_calendar
            from deskcli.domain.roster import parse_roster

            calendar = (parse_calendar(data["calendar"], "calendar") if "calendar" in data
                        else BusinessCalendar.always())
            roster = parse_roster(data.get("technicians"), data.get("shifts"),
                                  calendar=calendar, calendar_configured="calendar" in data)
    except InvalidInput as error:
        raise InvalidInput(f"{path}: {error.message}") from None
    tech = env.get("DESKCLI_TECH") or data.get("tech") or default_tech(env)
    return Config(tech=str(tech), sla=sla, checkpoint=checkpoint,
                  attachment_max_bytes=int(max_mb * 1024 * 1024), notify_given=notify,
                  account_words_given=account_words, intake_given=intake,
                  calendar_given=calendar, roster_given=roster)
