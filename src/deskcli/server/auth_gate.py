"""Authentication before anything else reads a request (issue 14, finding 8).

Every ``/v1/`` request for an operation the API has is authenticated first, ahead of body
limits, JSON parsing, protocol and schema checks: a caller without a valid token learns
nothing from a 400, 409, 413 or 422 and gets only 401. A method the API does not have on
one of its paths is answered 405 (the OpenAPI document already says which methods exist);
any other unknown path gets 401 like the rest. ``/health`` and the OpenAPI pages stay open.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.routing import Match

from deskcli.server.auth import authenticate
from deskcli.server.feed import Tech

PROTECTED_PREFIX = "/v1/"


def bearer_token(header: str | None) -> str | None:
    if header and header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return None


def unauthorised() -> JSONResponse:
    return JSONResponse(status_code=401, content={"detail": "missing or invalid token"},
                        headers={"WWW-Authenticate": "Bearer"})


def _wrong_method(app: FastAPI, scope: dict[str, Any]) -> bool:
    """The path is one of the API's but not with this method (405 for anyone)."""
    matches = {route.matches(scope)[0] for route in app.router.routes}
    return Match.FULL not in matches and Match.PARTIAL in matches


def authenticate_first(app: FastAPI, engine: Engine) -> None:
    """Install the check as the outermost middleware: call after every other one.

    A plain ASGI middleware rather than ``@app.middleware("http")``: Starlette runs those
    in a task of their own with the response passed through a memory stream, which cost
    a small sync request more than the check itself."""

    def lookup(token: str | None) -> Tech | None:
        if token is None:
            return None
        with engine.connect() as connection:
            return authenticate(connection, token)

    class AuthenticateFirst:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] != "http" or not scope["path"].startswith(PROTECTED_PREFIX) \
                    or _wrong_method(app, scope):
                await self.inner(scope, receive, send)
                return
            header = Headers(scope=scope).get("authorization")
            found = await run_in_threadpool(lookup, bearer_token(header))
            if found is None:
                await unauthorised()(scope, receive, send)
                return
            # What ``request.state.tech`` reads in the handlers.
            scope.setdefault("state", {})["tech"] = found
            await self.inner(scope, receive, send)

    app.add_middleware(AuthenticateFirst)
