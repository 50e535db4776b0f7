"""Slack and Teams incoming webhooks: a line in the incident channel.

Both accept ``{"text": ...}``. Neither deduplicates on its own, so a crash between the
post and recording it can, rarely, post the line twice; the ``X-Deskcli-Id`` header lets
a relay in front of the chat drop the repeat.
"""

from __future__ import annotations

import json

from .base import Outgoing
from .http import HttpPoster


class ChatSender:
    def __init__(self, name: str, *, kind: str, webhook_url: str, timeout: float) -> None:
        self.name = name
        self.kind = kind
        self._url = webhook_url
        self._http = HttpPoster(timeout)

    def body(self, message: Outgoing) -> dict[str, object]:
        return {"text": str(message.payload.get("text", ""))}

    def send(self, message: Outgoing) -> str:
        self._http.post(self._url, content=json.dumps(self.body(message)).encode(),
                        headers={"Content-Type": "application/json",
                                 "X-Deskcli-Id": message.key})
        return f"posted to {self.kind}"

    def close(self) -> None:
        self._http.close()
