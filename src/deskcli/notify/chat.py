"""Slack and Teams incoming webhooks: a line in the incident channel.

Both accept ``{"text": ...}``. Neither deduplicates on its own, so a crash between the
post and recording it can, rarely, post the line twice; the ``X-Deskcli-Id`` header lets
a relay in front of the chat drop the repeat.

The line quotes a summary somebody outside typed, so it is escaped for the receiver:
to Slack, ``&``, ``<`` and ``>`` are control syntax (``<!channel>`` pings everyone,
``<https://evil.example|Click here>`` disguises a link), so they are sent as ``&amp;``,
``&lt;`` and ``&gt;``, as Slack's formatting guide asks; Teams renders the text as
Markdown and HTML, so the HTML specials are escaped the same way and Markdown syntax
characters get a backslash. deskcli itself never means a mention, so none gets through.
"""

from __future__ import annotations

import json
import re

from .base import Outgoing
from .http import HttpPoster

_SLACK = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_TEAMS_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+!|~-])")


def slack_escape(text: str) -> str:
    """Text Slack shows as typed: no mention, link or channel reference is formed."""
    return text.translate(_SLACK)


def teams_escape(text: str) -> str:
    """Text Teams shows as typed: HTML specials as entities, Markdown syntax escaped."""
    return _TEAMS_MARKDOWN.sub(r"\\\1", text.translate(_SLACK))


class ChatSender:
    def __init__(self, name: str, *, kind: str, webhook_url: str, timeout: float) -> None:
        self.name = name
        self.kind = kind
        self._url = webhook_url
        self._http = HttpPoster(timeout)

    def body(self, message: Outgoing) -> dict[str, object]:
        text = str(message.payload.get("text", ""))
        return {"text": teams_escape(text) if self.kind == "teams" else slack_escape(text)}

    def send(self, message: Outgoing) -> str:
        self._http.post(self._url, content=json.dumps(self.body(message)).encode(),
                        headers={"Content-Type": "application/json",
                                 "X-Deskcli-Id": message.key})
        return f"posted to {self.kind}"

    def close(self) -> None:
        self._http.close()
