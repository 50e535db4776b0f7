"""Opsgenie Alerts API: create an alert per ticket (alias = dedup), acknowledge, close.

Opsgenie treats a create with the alias of an open alert as a repeat of it, which is what
makes a resend after a crash harmless.
"""

from __future__ import annotations

import json
from urllib.parse import quote

from .base import DeliveryError, Outgoing
from .http import HttpPoster


class OpsgenieSender:
    def __init__(self, name: str, *, url: str, api_key: str, timeout: float) -> None:
        self.name = name
        self._url = url
        self._headers = {"Authorization": f"GenieKey {api_key}",
                         "Content-Type": "application/json"}
        self._http = HttpPoster(timeout)

    def request(self, message: Outgoing) -> tuple[str, dict[str, object]]:
        alias = message.incident_key()
        payload = message.payload
        if message.purpose in ("page", "test"):
            # A test alert is informational (P5) so no routing rule escalates it.
            return f"{self._url}/v2/alerts", {
                "message": str(payload.get("summary", ""))[:130],
                "alias": alias,
                "description": str(payload.get("description", ""))[:15000],
                "priority": "P5" if message.purpose == "test" else "P1",
                "source": "deskcli",
                "details": {k: str(v) for k, v in dict(payload.get("details", {})).items()},
            }
        verbs = {"page_ack": "acknowledge", "page_resolve": "close"}
        verb = verbs.get(message.purpose)
        if verb is None:
            raise DeliveryError(f"Opsgenie cannot carry a {message.purpose} message",
                                retryable=False)
        return (f"{self._url}/v2/alerts/{quote(alias, safe='')}/{verb}?identifierType=alias",
                {"source": "deskcli", "note": str(payload.get("summary", ""))[:25000]})

    def send(self, message: Outgoing) -> str:
        url, body = self.request(message)
        self._http.post(url, content=json.dumps(body).encode(), headers=self._headers)
        return f"Opsgenie accepted the {message.purpose.replace('_', ' ')}"

    def close(self) -> None:
        self._http.close()
