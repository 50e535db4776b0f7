"""Checks the server runs on a push before it takes the feed's lock, and the body limit.

Every op is checked against the one schema both ends share (``sync.schema``) and its HLC
stamp is parsed strictly and bounded by the server's clock; the first problem of each bad
op is reported (422) with the op's index, id, entity id and field, and nothing from the
request is applied. The client sets exactly those ops aside and sends the rest.

The body limit is enforced while the body streams in, so a chunked request without a
``Content-Length`` is cut off at the limit instead of being read into memory whole.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

from deskcli.domain import hlc as hlc_mod
from deskcli.server.feed import OpProblem
from deskcli.sync import schema

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: How far ahead of the server's clock a pushed stamp may be (a laptop clock running fast).
DEFAULT_MAX_SKEW_MS = 60 * 60 * 1000


class OpsInvalid(OpProblem):
    """Ops that break the schema or carry a bad stamp; ``problems`` says which and why."""

    def __init__(self, problems: list[dict[str, Any]]) -> None:
        first = problems[0]
        where = f"op {first['index']} ({first['entity']} {first['entity_id']})"
        field = f", field {first['field']}" if first.get("field") else ""
        more = f" and {len(problems) - 1} more" if len(problems) > 1 else ""
        super().__init__(422, f"{where}{field}: {first['message']}{more}; nothing was "
                         "applied", [p["op_id"] for p in problems])
        self.problems = problems


def check_stamp(stamp: Any, now_ms: int, max_skew_ms: int) -> hlc_mod.Hlc:
    """A pushed stamp, parsed strictly and no further ahead of ``now_ms`` than allowed."""
    parsed = hlc_mod.parse(stamp)
    if parsed.wall_ms > now_ms + max_skew_ms:
        ahead = (parsed.wall_ms - now_ms) // 1000
        raise schema.OpInvalid(
            f"the stamp is {ahead} s ahead of the server's clock (at most "
            f"{max_skew_ms // 1000} s is accepted): check this computer's clock", "hlc")
    return parsed


def check_ops(ops: Sequence[dict[str, Any]], now_ms: int, max_skew_ms: int) -> None:
    """Raise OpsInvalid listing every op that breaks the schema or the clock bound."""
    problems: list[dict[str, Any]] = []
    for index, op in enumerate(ops):
        try:
            schema.check_id(op.get("op_id"), "op_id")
            check_stamp(op.get("hlc"), now_ms, max_skew_ms)
            schema.check_op(op)
        except (schema.OpInvalid, ValueError) as error:
            field = getattr(error, "field", None) or "hlc"
            problems.append({
                "index": index, "op_id": _printable(op.get("op_id")),
                "entity": _printable(op.get("entity")),
                "entity_id": _printable(op.get("entity_id")),
                "field": field, "message": str(error)})
    if problems:
        raise OpsInvalid(problems)


def _printable(value: Any) -> str:
    """Echo an id back safely, whatever it holds."""
    text = value if isinstance(value, str) else json.dumps(value)
    return text[:64].encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\0")


def check_text_id(value: str, what: str) -> str:
    """For ids outside ops (origin, lease client): the same rule as ids in ops."""
    schema.check_id(value, what)
    return value


class BodyLimit:
    """Refuse (413) a request body larger than ``limit`` bytes, counted as it arrives."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length", b"").decode("latin-1")
        if length.isdigit() and int(length) > self.limit:
            await self._refuse(send, f"request body is {int(length)} bytes; the limit is "
                                     f"{self.limit}")
            return
        seen = 0
        started = False
        too_big = False

        async def counted() -> Message:
            nonlocal seen, too_big
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    too_big = True
                    raise _TooLarge
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if too_big:
                # The app answered a body cut short (FastAPI says 400): answer 413 instead.
                if not started:
                    started = True
                    await self._refuse(send, over)
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        over = f"request body is over the limit of {self.limit} bytes"
        try:
            await self.app(scope, counted, watched)
        except Exception:
            if not too_big:
                raise
        if too_big and not started:
            await self._refuse(send, over)

    @staticmethod
    async def _refuse(send: Send, detail: str) -> None:
        body = json.dumps({"detail": detail}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    """Raised from inside ``receive`` to stop reading a body that is over the limit."""
