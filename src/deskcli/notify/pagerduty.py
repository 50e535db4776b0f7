"""PagerDuty Events API v2: trigger, acknowledge and resolve one incident per ticket.

All three events of a ticket carry the same ``dedup_key``, so PagerDuty folds a repeated
trigger (a resend after a crash) into the incident already open instead of paging twice.
"""

from __future__ import annotations

import json

from .base import DeliveryError, Outgoing
from .http import HttpPoster

ACTIONS = {"page": "trigger", "page_ack": "acknowledge", "page_resolve": "resolve",
           "test": "trigger"}


class PagerDutySender:
    def __init__(self, name: str, *, url: str, routing_key: str, source: str,
                 timeout: float) -> None:
        self.name = name
        self._endpoint = f"{url}/v2/enqueue"
        self._routing_key = routing_key
        self._source = source
        self._http = HttpPoster(timeout)

    def body(self, message: Outgoing) -> dict[str, object]:
        action = ACTIONS.get(message.purpose)
        if action is None:
            raise DeliveryError(f"PagerDuty cannot carry a {message.purpose} message",
                                retryable=False)
        dedup = message.incident_key()
        body: dict[str, object] = {"routing_key": self._routing_key, "event_action": action,
                                   "dedup_key": dedup}
        if action == "trigger":
            payload = message.payload
            body["payload"] = {
                "summary": str(payload.get("summary", ""))[:1024],
                "source": self._source,
                "severity": str(payload.get("severity", "critical")),
                "custom_details": dict(payload.get("details", {})),
            }
        return body

    def send(self, message: Outgoing) -> str:
        content = json.dumps(self.body(message)).encode()
        response = self._http.post(self._endpoint, content=content,
                                   headers={"Content-Type": "application/json"})
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        return f"PagerDuty {ACTIONS[message.purpose]}: {answer.get('status', 'accepted')}"

    def close(self) -> None:
        self._http.close()
