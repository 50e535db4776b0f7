"""Reaching people: the notification settings, the retry policy and the message rules.

Pure rules only. Which channel kinds exist and what each needs, how long to wait before
trying a failed send again, which idempotency key a message carries, and what a page's
state is, are decided here; the services queue and send, the adapters speak the wire.

The settings are parsed from the ``[notify]`` table of ``config.toml``. Secrets are never
in that file: a channel only *names* its secret, which is read from the environment
(``DESKCLI_NOTIFY_<CHANNEL>_<SECRET>``) or the OS keyring when the sender starts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from .durations import parse_duration
from .errors import InvalidInput
from .validation import known_table


class ChannelKind(StrEnum):
    """What a configured channel talks to."""

    PAGERDUTY = "pagerduty"
    OPSGENIE = "opsgenie"
    WEBHOOK = "webhook"
    SLACK = "slack"
    TEAMS = "teams"
    SMTP = "smtp"

    @property
    def pages(self) -> bool:
        """Channels that can wake the on-call engineer (a pager, or a signed webhook into one)."""
        return self in (ChannelKind.PAGERDUTY, ChannelKind.OPSGENIE, ChannelKind.WEBHOOK)

    @property
    def chats(self) -> bool:
        return self in (ChannelKind.SLACK, ChannelKind.TEAMS)


#: The secret each kind needs, by default name (a channel may rename it with ``secret``).
DEFAULT_SECRET: dict[ChannelKind, str] = {
    ChannelKind.PAGERDUTY: "routing_key",
    ChannelKind.OPSGENIE: "api_key",
    ChannelKind.WEBHOOK: "signing_key",
    ChannelKind.SLACK: "webhook_url",
    ChannelKind.TEAMS: "webhook_url",
    ChannelKind.SMTP: "password",
}

#: The public endpoints, used unless a channel sets ``url`` (tests point it at 127.0.0.1).
DEFAULT_URL: dict[ChannelKind, str] = {
    ChannelKind.PAGERDUTY: "https://events.pagerduty.com",
    ChannelKind.OPSGENIE: "https://api.opsgenie.com",
}

_CHANNEL_KEYS: dict[ChannelKind, frozenset[str]] = {
    ChannelKind.PAGERDUTY: frozenset({"type", "url", "secret", "source"}),
    ChannelKind.OPSGENIE: frozenset({"type", "url", "secret"}),
    ChannelKind.WEBHOOK: frozenset({"type", "url", "secret"}),
    ChannelKind.SLACK: frozenset({"type", "secret"}),
    ChannelKind.TEAMS: frozenset({"type", "secret"}),
    ChannelKind.SMTP: frozenset({"type", "host", "port", "starttls", "username", "secret",
                                 "from", "ca_file"}),
}

_NOTIFY_KEYS = frozenset({"channels", "page", "chat", "email", "survey_delay", "templates_dir",
                          "snippets_file", "retry"})
_RETRY_KEYS = frozenset({"max_attempts", "first_delay", "max_delay", "lease", "timeout"})
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


class Purpose(StrEnum):
    """Why a message is sent; also the name of the template a caller email uses."""

    ACKNOWLEDGEMENT = "acknowledgement"
    UPDATE = "update"
    RESOLUTION = "resolution"
    SURVEY = "survey"
    PAGE = "page"
    PAGE_ACK = "page_ack"
    PAGE_RESOLVE = "page_resolve"
    CHAT = "chat"
    TEST = "test"

    @property
    def audience(self) -> str:
        """Who reads it: the caller, the on-call engineer, or the team's incident channel."""
        if self in (Purpose.PAGE, Purpose.PAGE_ACK, Purpose.PAGE_RESOLVE):
            return "oncall"
        if self in (Purpose.CHAT, Purpose.TEST):
            return "team"
        return "caller"


class MessageState(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class RetryPolicy:
    """How a failed send is retried: exponential backoff with jitter, then given up loudly."""

    #: About five hours of retrying with the default delays: a laptop offline for a
    #: morning still delivers; a receiver down for longer is a loud failure.
    max_attempts: int = 12
    first_delay: timedelta = timedelta(seconds=30)
    max_delay: timedelta = timedelta(hours=1)
    #: How long a sender holds a claimed message; a sender killed mid-send loses it after this.
    lease: timedelta = timedelta(minutes=2)
    #: Network timeout for one attempt.
    timeout: timedelta = timedelta(seconds=15)

    def delay(self, attempt: int, jitter: float, retry_after: timedelta | None = None
              ) -> timedelta:
        """The wait after failed attempt number ``attempt`` (1-based).

        ``jitter`` in [0, 1) spreads retries from many senders over the next half of the
        backoff step, so a receiver coming back is not hit by all of them at once. A
        receiver's own Retry-After is a floor: sending sooner would only be refused again.
        """
        doubling: int = 2 ** max(attempt - 1, 0)  # int ** int is typed Any (it may be float)
        step = self.first_delay * doubling
        base = min(step, self.max_delay)
        wait = base + base * 0.5 * jitter
        if retry_after is not None:
            wait = max(wait, retry_after)
        return wait

    def exhausted(self, attempts: int) -> bool:
        return attempts >= self.max_attempts


@dataclass(frozen=True)
class ChannelSettings:
    name: str
    kind: ChannelKind
    #: The secret's name (see the module docstring); None for SMTP without a login.
    secret: str | None
    url: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)

    def env_var(self) -> str | None:
        """Where a script or CI puts this channel's secret."""
        if self.secret is None:
            return None
        return f"DESKCLI_NOTIFY_{self.name.upper().replace('-', '_')}_{self.secret.upper()}"


@dataclass(frozen=True)
class NotifySettings:
    channels: Mapping[str, ChannelSettings] = field(default_factory=dict)
    #: Channels a P1 pages through, in order; every one is sent.
    page: tuple[str, ...] = ()
    #: Incident chat channels the ticket number and bridge are posted to.
    chat: tuple[str, ...] = ()
    #: The SMTP channel that writes to callers.
    email: str | None = None
    survey_delay: timedelta = timedelta(hours=1)
    templates_dir: str | None = None
    snippets_file: str | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    @property
    def enabled(self) -> bool:
        return bool(self.page or self.chat or self.email)


def check_url(text: Any, *, what: str) -> str:
    """An http(s) URL with a host, or a clear error naming ``what`` it was for."""
    value = str(text).strip() if isinstance(text, str) else ""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"{what}: {text!r} is not a URL; use https://HOST/PATH "
                           "(or http://127.0.0.1:PORT for a local test receiver)")
    try:
        parts.port  # noqa: B018 - a bad port raises here
    except ValueError:
        raise InvalidInput(f"{what}: {text!r} has a bad port number") from None
    return value.rstrip("/")


def _names(value: Any, *, key: str, channels: Mapping[str, ChannelSettings],
           want: str, ok: Any) -> tuple[str, ...]:
    items: Sequence[Any] = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise InvalidInput(f"notify.{key} must be a list of channel names")
    out = []
    for item in items:
        channel = channels.get(str(item))
        if channel is None:
            known = ", ".join(sorted(channels)) or "none configured"
            raise InvalidInput(f"notify.{key}: unknown channel {item!r}; configured channels: "
                               f"{known}")
        if not ok(channel.kind):
            raise InvalidInput(f"notify.{key}: channel {item!r} is {channel.kind.value}, "
                               f"which cannot {want}")
        out.append(channel.name)
    return tuple(out)


def _channel(name: str, data: Any) -> ChannelSettings:
    where = f"notify.channels.{name}"
    if not _NAME.match(name):
        raise InvalidInput(f"{where}: channel names use lower-case letters, digits, - and _")
    if not isinstance(data, Mapping):
        raise InvalidInput(f"{where} must be a table")
    try:
        kind = ChannelKind(str(data.get("type", "")))
    except ValueError:
        raise InvalidInput(f"{where}.type: {data.get('type')!r} is not a channel type; "
                           f"known types: {', '.join(ChannelKind)}") from None
    unknown = sorted(set(data) - _CHANNEL_KEYS[kind])
    if unknown:
        raise InvalidInput(f"{where}: unknown setting {unknown[0]!r} for a {kind.value} "
                           f"channel; known: {', '.join(sorted(_CHANNEL_KEYS[kind]))}")
    secret = data.get("secret", DEFAULT_SECRET[kind])
    if not isinstance(secret, str) or not re.match(r"^[a-z][a-z0-9_]{0,39}$", secret):
        raise InvalidInput(f"{where}.secret names the secret (like {DEFAULT_SECRET[kind]!r}), "
                           "it never holds it: lower-case letters, digits and _")
    url = None
    options: dict[str, Any] = {}
    if kind is ChannelKind.SMTP:
        host = data.get("host")
        if not isinstance(host, str) or not host.strip() or "/" in host:
            raise InvalidInput(f"{where}.host: give the mail server's host name")
        port = data.get("port", 587)
        if not isinstance(port, int) or not 0 < port < 65536:
            raise InvalidInput(f"{where}.port must be a port number (587 for STARTTLS)")
        sender = data.get("from")
        if not isinstance(sender, str) or "@" not in sender:
            raise InvalidInput(f"{where}.from: give the address mail is sent from")
        starttls = data.get("starttls", True)
        if not isinstance(starttls, bool):
            raise InvalidInput(f"{where}.starttls must be true or false")
        username = data.get("username")
        if username is not None and not isinstance(username, str):
            raise InvalidInput(f"{where}.username must be text")
        options = {"host": host.strip(), "port": port, "from": sender.strip(),
                   "starttls": starttls, "username": username,
                   "ca_file": data.get("ca_file")}
        if not username:
            secret = None
    elif kind in (ChannelKind.SLACK, ChannelKind.TEAMS):
        url = None  # the incoming-webhook URL embeds a token: it is the secret itself
    else:
        raw = data.get("url", DEFAULT_URL.get(kind))
        if raw is None:
            raise InvalidInput(f"{where}.url: a webhook channel needs the receiver's URL")
        url = check_url(raw, what=f"{where}.url")
        if kind is ChannelKind.PAGERDUTY:
            options = {"source": str(data.get("source", "deskcli"))}
    return ChannelSettings(name=name, kind=kind, secret=secret, url=url, options=options)


def _retry(data: Any) -> RetryPolicy:
    data = known_table(data, "notify.retry", _RETRY_KEYS)
    attempts = data.get("max_attempts", RetryPolicy.max_attempts)
    if not isinstance(attempts, int) or not 1 <= attempts <= 100:
        raise InvalidInput("notify.retry.max_attempts must be a whole number from 1 to 100")
    kwargs: dict[str, Any] = {"max_attempts": attempts}
    for key in ("first_delay", "max_delay", "lease", "timeout"):
        if key in data:
            try:
                kwargs[key] = _duration(data[key])
            except InvalidInput as error:
                raise InvalidInput(f"notify.retry.{key}: {error.message}") from None
    return RetryPolicy(**kwargs)


def _duration(value: Any) -> timedelta:
    """A config duration ("30s", "5m", "1h"); more than zero."""
    if not isinstance(value, str):
        raise InvalidInput(f"{value!r} is not a duration: write it as text, like \"30s\", "
                           "\"5m\" or \"1h\"")
    return parse_duration(value, minimum=timedelta(seconds=1))


def parse_settings(data: Any) -> NotifySettings:
    """The ``[notify]`` table; every unknown key or bad value is refused, named."""
    data = known_table(data, "notify", _NOTIFY_KEYS)
    raw_channels = data.get("channels", {})
    if not isinstance(raw_channels, Mapping):
        raise InvalidInput("notify.channels must be a table of named channels")
    channels = {name: _channel(str(name), body) for name, body in raw_channels.items()}
    page = _names(data.get("page", []), key="page", channels=channels, want="page",
                  ok=lambda kind: kind.pages)
    chat = _names(data.get("chat", []), key="chat", channels=channels,
                  want="post to a chat", ok=lambda kind: kind.chats)
    email = None
    if "email" in data:
        email = _names(data["email"], key="email", channels=channels, want="send email",
                       ok=lambda kind: kind is ChannelKind.SMTP)
        if len(email) != 1:
            raise InvalidInput("notify.email names exactly one smtp channel")
    delay = timedelta(hours=1)
    if "survey_delay" in data:
        try:
            delay = (timedelta(0) if data["survey_delay"] in ("0", "0s", "0m")
                     else _duration(data["survey_delay"]))
        except InvalidInput as error:
            raise InvalidInput(f"notify.survey_delay: {error.message}") from None
    for key in ("templates_dir", "snippets_file"):
        if key in data and (not isinstance(data[key], str) or not data[key].strip()):
            raise InvalidInput(f"notify.{key} must be a path")
    return NotifySettings(channels=channels, page=page, chat=chat,
                          email=email[0] if email else None, survey_delay=delay,
                          templates_dir=data.get("templates_dir"),
                          snippets_file=data.get("snippets_file"),
                          retry=_retry(data.get("retry", {})))


def idempotency_key(ticket_id: str, purpose: Purpose, channel: str, seq: int = 1) -> str:
    """The key a receiver deduplicates by: the same message always carries the same key.

    It is the PagerDuty dedup_key's suffix, the Opsgenie alias, the webhook id header and
    the email Message-ID, so a send repeated after a crash is recognised as a repeat.
    """
    return f"deskcli-{ticket_id}-{purpose.value}-{channel}-{seq}"


def incident_key(ticket_id: str) -> str:
    """One incident per ticket: trigger, acknowledge and resolve must share it."""
    return f"deskcli-{ticket_id}"


def page_state(rows: Sequence[Mapping[str, Any]]) -> str | None:
    """What the on-call page of a ticket amounts to, from its queued messages.

    ``failed`` (given up) wins over everything, then ``retrying`` (an attempt failed, more
    are coming): both must stay visible until someone acts, and the technician needs to
    know which, since only a failed page waits for a person. Then the most advanced stage
    that went out: resolved, acknowledged, sent; else queued.
    """
    pages = [r for r in rows if r["purpose"] == Purpose.PAGE.value]
    if not pages:
        return None
    if any(r["state"] == MessageState.FAILED.value for r in pages):
        return "failed"
    if any(r["state"] != MessageState.SENT.value and r["last_error"] for r in pages):
        return "retrying"
    sent = {r["purpose"] for r in rows if r["state"] == MessageState.SENT.value}
    if Purpose.PAGE_RESOLVE.value in sent:
        return "resolved"
    if Purpose.PAGE_ACK.value in sent:
        return "acknowledged"
    if all(r["state"] == MessageState.SENT.value for r in pages):
        return "sent"
    return "queued"


def survey_still_wanted(status: str, closed_at: str | None, queued_at: str) -> bool:
    """A survey goes out only if the ticket is still closed from the closure that queued it.

    Reopened meanwhile (status no longer closed, or closed again later by a new closure),
    the caller is not asked to rate a fix that did not hold.
    """
    return status == "closed" and closed_at is not None and closed_at <= queued_at
