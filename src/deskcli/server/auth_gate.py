"""Authentication before anything else reads a request (issue 14, finding 8).

Every ``/v1/`` request for an operation the API has is authenticated first, ahead of body
limits, JSON parsing, protocol and schema checks: a caller without a valid token learns
nothing from a 400, 409, 413 or 422 and gets only 401. A method the API does not have on
one of its paths is answered 405 (the OpenAPI document already says which methods exist);
any other unknown path gets 401 like the rest. ``/health`` and the OpenAPI pages stay open.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
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


def _wrong_method(request: Request) -> bool:
    """The path is one of the API's but not with this method (405 for anyone)."""
    matches = {route.matches(request.scope)[0] for route in request.app.router.routes}
    return Match.FULL not in matches and Match.PARTIAL in matches


def authenticate_first(app: FastAPI, engine: Engine) -> None:
    """Install the check as the outermost middleware: call after every other one."""

    def lookup(token: str | None) -> Tech | None:
        if token is None:
            return None
        with Session(engine) as session:
            return authenticate(session, token)

    @app.middleware("http")
    async def _authenticate(request: Request, call_next: Any) -> Any:
        if not request.url.path.startswith(PROTECTED_PREFIX) or _wrong_method(request):
            return await call_next(request)
        found = await run_in_threadpool(lookup, bearer_token(request.headers.get(
            "authorization")))
        if found is None:
            return unauthorised()
        request.state.tech = found
        return await call_next(request)
