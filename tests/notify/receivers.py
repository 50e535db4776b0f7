"""Real receivers on 127.0.0.1 for the notification tests.

``Receiver`` is one HTTP server that speaks like PagerDuty's Events API v2, Opsgenie's
Alerts API, a signed-webhook consumer and a Slack/Teams incoming webhook. It validates each
request as the real service would (refusing a bad payload, key or signature with 4xx),
deduplicates by the key each service uses, and can be told to misbehave: answer 429/503
with Retry-After, stall past the client's timeout, or accept a request and then hang.
``MailCatcher`` is an aiosmtpd server (STARTTLS with a throwaway certificate, login
required) that keeps every message and counts repeats by Message-ID.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from deskcli.notify.webhook import verify_signature

ROUTING_KEY = "R0UT1NGKEY0000000000000000000000"
GENIE_KEY = "genie-key-0001"
SIGNING_KEY = "whsec-test-signing-key"
SEVERITIES = {"critical", "error", "warning", "info"}


@dataclass
class Fault:
    """What to do to the next request instead of (or before) answering it normally."""

    status: int | None = None
    retry_after: str | None = None
    #: Seconds to stall before answering (past the client's timeout: a timeout).
    delay: float = 0.0
    #: Process the request fully, then stall this long before answering.
    hang_after_accept: float = 0.0


@dataclass
class Receiver:
    server: ThreadingHTTPServer | None = None
    faults: list[Fault] = field(default_factory=list)
    #: Every request that arrived: (path, headers, body).
    requests: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    #: Accepted deliveries per (service, key, action); >1 means a repeat reached it.
    arrivals: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    #: The first accepted body per (service, key, action): what "delivered" means.
    delivered: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def accepted(self, service: str) -> list[tuple[str, str]]:
        """(key, action) delivered to ``service``, each once however often it arrived."""
        return sorted((key, action) for (svc, key, action) in self.delivered if svc == service)

    def repeats(self) -> int:
        return sum(n - 1 for n in self.arrivals.values())

    def accept(self, service: str, key: str, action: str, body: dict[str, Any]) -> None:
        with self.lock:
            self.arrivals[(service, key, action)] += 1
            self.delivered.setdefault((service, key, action), body)

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - the stdlib's naming
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver.lock:
                    receiver.requests.append((self.path, headers, body))
                    fault = receiver.faults.pop(0) if receiver.faults else Fault()
                if fault.delay:
                    time.sleep(fault.delay)
                if fault.status is not None:
                    extra = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                    self._answer(fault.status, {"message": "try later"}, extra)
                    return
                status, answer = receiver.route(self.path, headers, body)
                if fault.hang_after_accept:
                    time.sleep(fault.hang_after_accept)
                try:
                    self._answer(status, answer)
                except OSError:
                    pass  # the client went away while we hung

            def _answer(self, status: int, body: dict[str, Any],
                        extra: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (extra or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    # --- the services -----------------------------------------------------------------

    def route(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, Any]]:
        parts = urlsplit(path)
        try:
            body = json.loads(raw)
        except ValueError:
            return 400, {"message": "body is not JSON"}
        if parts.path == "/v2/enqueue":
            return self.pagerduty(body)
        if parts.path.startswith("/v2/alerts"):
            return self.opsgenie(parts.path, parse_qs(parts.query), headers, body)
        if parts.path == "/hook":
            return self.webhook(headers, raw, body)
        if parts.path.startswith("/chat"):
            return self.chat(headers, body)
        return 404, {"message": "no such endpoint"}

    def pagerduty(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        errors = []
        if body.get("routing_key") != ROUTING_KEY:
            errors.append("invalid routing_key")
        action = body.get("event_action")
        if action not in ("trigger", "acknowledge", "resolve"):
            errors.append("event_action must be trigger, acknowledge or resolve")
        dedup = body.get("dedup_key")
        if not isinstance(dedup, str) or not dedup or len(dedup) > 255:
            errors.append("dedup_key is required here")
        if action == "trigger":
            payload = body.get("payload") or {}
            if not payload.get("summary") or len(payload["summary"]) > 1024:
                errors.append("payload.summary is required")
            if not payload.get("source"):
                errors.append("payload.source is required")
            if payload.get("severity") not in SEVERITIES:
                errors.append("payload.severity is invalid")
        if errors:
            return 400, {"status": "invalid event", "errors": errors}
        self.accept("pagerduty", str(dedup), str(action), body)
        return 202, {"status": "success", "message": "Event processed", "dedup_key": dedup}

    def opsgenie(self, path: str, query: dict[str, list[str]], headers: dict[str, str],
                 body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if headers.get("authorization") != f"GenieKey {GENIE_KEY}":
            return 401, {"message": "Could not authenticate"}
        segments = [unquote(s) for s in path.split("/") if s]
        if segments == ["v2", "alerts"]:
            if not body.get("message") or len(body["message"]) > 130:
                return 422, {"message": "message is required, at most 130 characters"}
            alias = body.get("alias")
            if not alias:
                return 422, {"message": "alias is required for deduplication here"}
            self.accept("opsgenie", alias, "create", body)
            return 202, {"result": "Request will be processed", "requestId": "r1"}
        if len(segments) == 4 and segments[3] in ("close", "acknowledge"):
            if query.get("identifierType") != ["alias"]:
                return 422, {"message": "identifierType must be alias"}
            self.accept("opsgenie", segments[2], segments[3], body)
            return 202, {"result": "Request will be processed", "requestId": "r2"}
        return 404, {"message": "no such endpoint"}

    def webhook(self, headers: dict[str, str], raw: bytes,
                body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        ok = verify_signature(SIGNING_KEY, timestamp=headers.get("x-deskcli-timestamp", ""),
                              body=raw, signature=headers.get("x-deskcli-signature", ""))
        if not ok:
            return 401, {"message": "bad signature or stale timestamp"}
        key = headers.get("x-deskcli-id", "")
        if not key or key != body.get("id"):
            return 400, {"message": "X-Deskcli-Id must match the body's id"}
        self.accept("webhook", key, str(body.get("event")), body)
        return 200, {"ok": True}

    def chat(self, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if not isinstance(body.get("text"), str) or not body["text"]:
            return 400, {"message": "no_text"}
        self.accept("chat", headers.get("x-deskcli-id", ""), "post", body)
        return 200, {"ok": True}
