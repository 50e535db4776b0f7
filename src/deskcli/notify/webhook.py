"""A generic signed webhook, and the check a receiver runs on it.

The body is JSON. ``X-Deskcli-Timestamp`` is the Unix time of sending and
``X-Deskcli-Signature`` is ``sha256=`` + hex HMAC-SHA256 of ``"<timestamp>.<body>"`` under
the shared signing key. A receiver recomputes the HMAC (``verify_signature``) and refuses a
timestamp outside its replay window, so a captured request cannot be replayed later.
``X-Deskcli-Id`` carries the idempotency key: a receiver that has seen it already should
answer 2xx and do nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable

from .base import Outgoing
from .http import HttpPoster

#: How far a request's timestamp may be from the receiver's clock (either way).
REPLAY_WINDOW_SECONDS = 300


def sign(key: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(key.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(key: str, *, timestamp: str, body: bytes, signature: str,
                     now: float | None = None,
                     window: int = REPLAY_WINDOW_SECONDS) -> bool:
    """True when ``signature`` is ours for this body and timestamp, within the window.

    For receivers: pass the raw request body (before any JSON parsing), and the two
    headers as received. Comparison is constant-time.
    """
    try:
        sent = int(timestamp)
    except (TypeError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - sent) > window:
        return False
    return hmac.compare_digest(sign(key, timestamp, body), signature or "")


class WebhookSender:
    def __init__(self, name: str, *, url: str, signing_key: str, timeout: float,
                 clock: Callable[[], float] = time.time) -> None:
        self.name = name
        self._url = url
        self._key = signing_key
        self._clock = clock
        self._http = HttpPoster(timeout)

    def body(self, message: Outgoing) -> dict[str, object]:
        return {"id": message.key, "event": message.purpose,
                "incident": message.incident_key(), "ticket": message.ticket_ref,
                **dict(message.payload)}

    def send(self, message: Outgoing) -> str:
        content = json.dumps(self.body(message), sort_keys=True).encode()
        stamp = str(int(self._clock()))
        self._http.post(self._url, content=content, headers={
            "Content-Type": "application/json", "X-Deskcli-Id": message.key,
            "X-Deskcli-Timestamp": stamp, "X-Deskcli-Signature": sign(self._key, stamp, content),
        })
        return "webhook accepted"

    def close(self) -> None:
        self._http.close()
