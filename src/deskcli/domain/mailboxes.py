"""The support mailboxes deskcli takes tickets from: the ``[intake]`` table of config.toml.

Pure rules: which keys a mailbox accepts, what each value may be, and that a password is
never sent in clear over the network (``security = "none"`` only to a loopback host, where
a test server or a local bridge such as DavMail listens). The password itself is a secret
(``DESKCLI_INTAKE_<NAME>_PASSWORD`` or the keyring), never in the file.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any

from .durations import parse_duration
from .enums import Priority
from .errors import InvalidInput
from .validation import email, known_table

_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
_INTAKE_KEYS = frozenset({"mailboxes", "sender_limit", "watch_interval"})
_MAILBOX_KEYS = frozenset({"host", "port", "security", "username", "folder", "processed_folder",
                           "refused_folder", "address", "client", "priority", "ca_file"})


class Security(StrEnum):
    """How the IMAP connection is protected."""

    TLS = "tls"
    STARTTLS = "starttls"
    NONE = "none"


@dataclass(frozen=True)
class MailboxSettings:
    name: str
    host: str
    username: str
    port: int = 993
    security: Security = Security.TLS
    folder: str = "INBOX"
    processed_folder: str = "Processed"
    refused_folder: str = "Refused"
    #: The mailbox's own address: mail from it is never ingested (our own mail, looped).
    address: str = ""
    client: str | None = None
    priority: Priority | None = None
    #: A CA bundle to trust instead of the system's (a private CA, a test certificate).
    ca_file: str | None = None

    def env_var(self) -> str:
        """Where a script, CI or container puts this mailbox's password."""
        return f"DESKCLI_INTAKE_{self.name.upper().replace('-', '_')}_PASSWORD"

    @property
    def keyring_account(self) -> str:
        return f"{self.name}.password"


@dataclass(frozen=True)
class IntakeSettings:
    mailboxes: Mapping[str, MailboxSettings] = field(default_factory=dict)
    #: Messages one sender may open or add in an hour before the rest is parked: a runaway
    #: auto-responder that the loop headers did not catch stops here.
    sender_limit: int = 20
    #: How long ``mail fetch --watch`` waits between passes.
    watch_interval: timedelta = timedelta(seconds=60)


def is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _text(data: Mapping[str, Any], key: str, where: str, default: str | None = None,
          *, what: str) -> str | None:
    value = data.get(key, default)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or "\n" in value or "\r" in value:
        raise InvalidInput(f"{where}.{key}: give {what} as one line of text")
    return value.strip()


def _mailbox(name: str, data: Any) -> MailboxSettings:
    where = f"intake.mailboxes.{name}"
    if not _NAME.match(name):
        raise InvalidInput(f"{where}: mailbox names use lower-case letters, digits, - and _ "
                           "(the name is part of the password's environment variable)")
    data = known_table(data, where, _MAILBOX_KEYS)
    host = _text(data, "host", where, what="the IMAP server's host name")
    if host is None or "/" in host or " " in host:
        raise InvalidInput(f"{where}.host: give the IMAP server's host name, like "
                           "\"outlook.office365.com\"")
    try:
        security = Security(str(data.get("security", "tls")))
    except ValueError:
        raise InvalidInput(f"{where}.security: {data.get('security')!r} is not accepted; use "
                           "tls, starttls or none") from None
    if security is Security.NONE and not is_loopback(host):
        raise InvalidInput(f"{where}.security = \"none\" would send the password in clear to "
                           f"{host}; it is accepted only for a loopback host (127.0.0.1, "
                           "localhost). Use tls (port 993) or starttls (port 143)")
    port = data.get("port", 993 if security is Security.TLS else 143)
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        raise InvalidInput(f"{where}.port must be a port number (993 for tls, 143 for "
                           "starttls)")
    username = _text(data, "username", where, what="the login name")
    if username is None:
        raise InvalidInput(f"{where}.username: give the mailbox's login name")
    folders = {key: _text(data, key, where, default, what="a folder name")
               for key, default in (("folder", "INBOX"), ("processed_folder", "Processed"),
                                    ("refused_folder", "Refused"))}
    if len(set(folders.values())) != 3:
        raise InvalidInput(f"{where}: folder, processed_folder and refused_folder must be "
                           "three different folders, or a message would be fetched again")
    raw_address = data.get("address", username if "@" in username else None)
    try:
        address = email(raw_address if isinstance(raw_address, str) else None,
                        field="address")
    except InvalidInput:
        address = None
    if address is None:
        raise InvalidInput(f"{where}.address: give the mailbox's own email address (mail "
                           "from it is never taken in); it defaults to username when that "
                           "is an address")
    client = _text(data, "client", where, what="the client's name")
    priority = None
    if "priority" in data:
        try:
            priority = Priority.parse(str(data["priority"]))
        except InvalidInput:
            raise InvalidInput(f"{where}.priority: {data['priority']!r} is not a priority; "
                               "use P1, P2, P3 or P4") from None
    ca_file = _text(data, "ca_file", where, what="the path of a CA bundle")
    return MailboxSettings(name=name, host=host, username=username, port=port,
                           security=security, folder=str(folders["folder"]),
                           processed_folder=str(folders["processed_folder"]),
                           refused_folder=str(folders["refused_folder"]), address=address,
                           client=client, priority=priority, ca_file=ca_file)


def parse_intake(data: Any) -> IntakeSettings:
    """The ``[intake]`` table; every unknown key or bad value is refused, named."""
    data = known_table(data, "intake", _INTAKE_KEYS)
    raw = data.get("mailboxes", {})
    if not isinstance(raw, Mapping):
        raise InvalidInput("intake.mailboxes must be a table of named mailboxes, like "
                           "[intake.mailboxes.support]")
    mailboxes = {str(name): _mailbox(str(name), body) for name, body in raw.items()}
    limit = data.get("sender_limit", 20)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 10_000:
        raise InvalidInput("intake.sender_limit must be a whole number of messages per "
                           "sender per hour, from 1 to 10000")
    interval = timedelta(seconds=60)
    if "watch_interval" in data:
        value = data["watch_interval"]
        try:
            interval = parse_duration(value if isinstance(value, str) else "",
                                      minimum=timedelta(seconds=1))
        except InvalidInput:
            raise InvalidInput(f"intake.watch_interval: {value!r} is not a duration; write "
                               "it like \"30s\", \"5m\" or \"1h\"") from None
    return IntakeSettings(mailboxes=mailboxes, sender_limit=limit, watch_interval=interval)
