"""Building the configured channels, secrets included; the missing secret is named here.

A secret is looked up in the environment first (``DESKCLI_NOTIFY_<CHANNEL>_<SECRET>``, for
scripts, CI and containers), then in the OS keyring (service ``deskcli-notify``, account
``<channel>.<secret>``). It is never read from, or written to, a file.
"""

from __future__ import annotations

from collections.abc import Mapping

from deskcli.domain.notify import ChannelKind, ChannelSettings, NotifySettings, check_url
from deskcli.secrets import lookup_secret

from .base import Sender

KEYRING_SERVICE = "deskcli-notify"


def secret_for(channel: ChannelSettings, environ: Mapping[str, str] | None = None) -> str | None:
    """The channel's secret, or None when it needs none."""
    if channel.secret is None:
        return None
    variable = channel.env_var()
    assert variable is not None
    return lookup_secret(variable=variable, service=KEYRING_SERVICE,
                         account=f"{channel.name}.{channel.secret}",
                         what=f"notify channel {channel.name!r} needs its {channel.secret} "
                              "secret", environ=environ)


def build_sender(channel: ChannelSettings, *, timeout: float,
                 environ: Mapping[str, str] | None = None) -> Sender:
    """One ready-to-send adapter. Bad settings or a missing secret raise InvalidInput."""
    secret = secret_for(channel, environ)
    kind = channel.kind
    if kind is ChannelKind.PAGERDUTY:
        from .pagerduty import PagerDutySender

        assert channel.url and secret
        return PagerDutySender(channel.name, url=channel.url, routing_key=secret,
                               source=str(channel.options.get("source", "deskcli")),
                               timeout=timeout)
    if kind is ChannelKind.OPSGENIE:
        from .opsgenie import OpsgenieSender

        assert channel.url and secret
        return OpsgenieSender(channel.name, url=channel.url, api_key=secret, timeout=timeout)
    if kind is ChannelKind.WEBHOOK:
        from .webhook import WebhookSender

        assert channel.url and secret
        return WebhookSender(channel.name, url=channel.url, signing_key=secret,
                             timeout=timeout)
    if kind.chats:
        from .chat import ChatSender

        assert secret
        url = check_url(secret, what=f"the {channel.env_var()} secret of channel "
                                     f"{channel.name!r}")
        return ChatSender(channel.name, kind=kind.value, webhook_url=url, timeout=timeout)
    from .email import SmtpSender

    options = channel.options
    return SmtpSender(channel.name, host=str(options["host"]), port=int(options["port"]),
                      sender=str(options["from"]), starttls=bool(options["starttls"]),
                      username=options.get("username"), password=secret, timeout=timeout,
                      ca_file=options.get("ca_file"))


def build_all(settings: NotifySettings, environ: Mapping[str, str] | None = None
              ) -> dict[str, Sender]:
    """Every channel in use, so a missing secret is reported before anything is sent."""
    timeout = settings.retry.timeout.total_seconds()
    used = {*settings.page, *settings.chat, *([settings.email] if settings.email else [])}
    return {name: build_sender(settings.channels[name], timeout=timeout, environ=environ)
            for name in sorted(used)}
