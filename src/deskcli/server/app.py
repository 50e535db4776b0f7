"""The team server's HTTP API (FastAPI). Stateless: the database is the only shared state,
so several server processes can run side by side on one PostgreSQL database."""


import json
import threading
import time
from datetime import UTC, datetime, timedelta
from json.encoder import encode_basestring_ascii
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Header, HTTPException, Path, Query, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import Connection
from sqlmodel import Session, col, delete, select
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from deskcli import __version__
from deskcli.clock import new_id
from deskcli.domain import hlc as hlc_mod
from deskcli.domain.timefmt import to_iso
from deskcli.server import feed, guard
from deskcli.server import scope as scope_rules
from deskcli.server.auth import authenticate
from deskcli.server.auth_gate import authenticate_first
from deskcli.server.db import init_database, make_engine
from deskcli.server.group import GroupCommit
from deskcli.server.models import SrvPresence
from deskcli.sync.protocol import (
    DEFAULT_LEASE,
    ENTITY_TABLES,
    MAX_BODY_BYTES,
    MAX_OPS_PER_PUSH,
    PROTOCOL_VERSION,
    PULL_PAGE,
)

PRESENCE_TTL = timedelta(seconds=90)
INT64_MAX = 2**63 - 1
#: The feed's sequence columns are 32-bit integers on PostgreSQL: no row has a larger seq.
SEQ_MAX = 2**31 - 1
#: Ids as every database can hold and compare them: printable ASCII, no spaces.
ID_PATTERN = r"^[!-~]+$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OpIn(_Strict):
    op_id: str = Field(min_length=8, max_length=64, pattern=ID_PATTERN)
    entity: str = Field(min_length=1, max_length=64,
                        json_schema_extra={"enum": [*sorted(ENTITY_TABLES)]})
    entity_id: str = Field(min_length=1, max_length=64, pattern=ID_PATTERN)
    kind: Literal["create", "set", "append"]
    field: str | None = Field(default=None, max_length=64)
    value: Any = None
    hlc: str = Field(pattern=r"^[0-9]{15}-[0-9]{6}-[A-Za-z0-9_.-]{1,64}$")
    base_seq: int | None = Field(default=None, ge=0, le=SEQ_MAX)

    @field_validator("entity")
    @classmethod
    def _known_entity(cls, value: str) -> str:
        """The protocol's vocabulary, derived from the store's synced tables."""
        if value not in ENTITY_TABLES:
            raise ValueError(f"Input should be one of {', '.join(sorted(ENTITY_TABLES))}")
        return value


class PushIn(_Strict):
    protocol: int
    client_id: str = Field(min_length=4, max_length=64, pattern=ID_PATTERN)
    ops: list[OpIn] = Field(max_length=MAX_OPS_PER_PUSH)


class ChangeOut(BaseModel):
    seq: int
    op_id: str
    origin: str
    tech: str
    entity: str
    entity_id: str
    kind: str
    field: str | None
    value: Any
    hlc: str


class ChangesOut(BaseModel):
    changes: list[ChangeOut]
    next: int
    has_more: bool
    epoch: str
    server_seq: int
    #: The server's clock (ms): a client never lets a stamp further ahead of it than the
    #: allowed skew move its own clock.
    server_ms: int


class PushOut(BaseModel):
    accepted: list[str]
    duplicates: list[str]
    server_seq: int
    epoch: str
    #: With ``?since=N``: the first page of changes after N, read once this push had
    #: committed, so a sync round needs no separate pull request (null without it).
    changes: ChangesOut | None = None


class LeaseIn(_Strict):
    client_id: str = Field(min_length=4, max_length=64, pattern=ID_PATTERN)
    size: int = Field(default=DEFAULT_LEASE, ge=1, le=1000)


class LeaseOut(BaseModel):
    start: int
    end: int


class OpProblemOut(BaseModel):
    """Why one op of a push was refused."""

    index: int
    op_id: str
    entity: str
    entity_id: str
    field: str | None
    message: str


class ErrorOut(BaseModel):
    """Every error reply: ``detail`` says what was wrong and what is accepted; a refused
    push also names the ops (``op_ids``) and, for invalid ops, each one's problem."""

    detail: str
    op_ids: list[str] | None = None
    problems: list[OpProblemOut] | None = None


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    text = {400: "The request could not be read.",
            401: "Missing, unknown or revoked token.",
            403: "Some ops concern a client the technician does not work for, or the store "
                 "belongs to another technician.",
            404: "No such record that the technician may see.",
            409: "The client and server speak different sync protocols.",
            413: "The request body is over the limit.",
            422: "The request or some of its ops are invalid; nothing was applied.",
            429: "Too many requests for ticket numbers from this store; try later."}
    return {code: {"model": ErrorOut, "description": text[code]} for code in codes}


class WhoAmI(BaseModel):
    handle: str
    is_admin: bool
    clients: list[str]
    epoch: str
    protocol: int


class PresenceOut(BaseModel):
    ticket_id: str
    others: list[str]


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _max_skew_ms(seconds: int | None) -> int:
    """The clock skew bound: the argument, else DESKCLI_SERVER_MAX_CLOCK_SKEW (seconds),
    else one hour."""
    import os

    if seconds is None:
        raw = os.environ.get("DESKCLI_SERVER_MAX_CLOCK_SKEW", "").strip()
        if not raw:
            return hlc_mod.MAX_AHEAD_MS
        if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= 7 * 86400:
            raise ValueError(f"DESKCLI_SERVER_MAX_CLOCK_SKEW={raw!r}: give whole seconds "
                             "between 1 and 604800")
        seconds = int(raw)
    return seconds * 1000


def create_app(database_url: str, *, max_clock_skew_s: int | None = None) -> FastAPI:
    max_skew_ms = _max_skew_ms(max_clock_skew_s)
    engine = make_engine(database_url)
    epoch = init_database(engine)
    is_sqlite = database_url.startswith("sqlite")
    # For requests that only read, each in one statement: no transaction around it, so on
    # PostgreSQL no BEGIN and ROLLBACK round trips. (SQLite's driver begins no transaction
    # for a read anyway, and switching its mode on every check-out cost more than it saved.)
    reader = engine if is_sqlite else engine.execution_options(isolation_level="AUTOCOMMIT")
    # SQLite allows one writer; queue pushes in-process instead of failing on a busy lock.
    # The pushes that arrive together are written together (group commit).
    group = GroupCommit(threading.Lock() if is_sqlite else None)

    app = FastAPI(
        title="deskcli team server",
        version=__version__,
        description="Sync API for deskcli: push local changes, pull everyone else's.",
    )

    # Counted while the body streams in: Content-Length alone lets a chunked body through.
    app.add_middleware(guard.BodyLimit, limit=MAX_BODY_BYTES)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, error: RequestValidationError) -> JSONResponse:
        problems = []
        for item in error.errors()[:5]:
            where = ".".join(str(p) for p in item.get("loc", ()) if p != "body")
            problems.append(f"{where or 'body'}: {item.get('msg', 'invalid')}")
        detail = "invalid request: " + "; ".join(problems)
        # Echoed names may hold lone surrogates, which no JSON encoder can write as UTF-8.
        detail = detail.encode("utf-8", "backslashreplace").decode("utf-8")
        return JSONResponse(status_code=422, content={"detail": detail})

    @app.exception_handler(StarletteHTTPException)
    async def http_problem(request: Request, error: StarletteHTTPException) -> Response:
        """As FastAPI answers, but a 405 lists every method the path has (the presence
        path has PUT and DELETE as two routes, and Starlette names only the first)."""
        if error.status_code == 405:
            allowed: set[str] = set()
            for route in app.router.routes:
                match, _ = route.matches(request.scope)
                if match is not Match.NONE:
                    allowed |= set(getattr(route, "methods", None) or ())
            if allowed:
                error.headers = {**(error.headers or {}), "Allow": ", ".join(sorted(allowed))}
        return await http_exception_handler(request, error)

    @app.exception_handler(feed.OpProblem)
    async def op_problem(_request: Request, error: feed.OpProblem) -> JSONResponse:
        content: dict[str, Any] = {"detail": error.message, "op_ids": error.op_ids}
        if isinstance(error, guard.OpsInvalid):
            content["problems"] = error.problems
        return JSONResponse(status_code=error.status, content=content)

    # The dependencies below are ``async`` and the handlers open their own sessions: a
    # plain ``def`` dependency (or a generator one, twice) runs in the thread pool, and
    # each hop to a worker thread and back waits for a core. On a busy host that waiting,
    # not the work, was most of a small sync request's time.

    def lookup(token: str | None) -> feed.Tech | None:
        with Session(engine) as s:
            return authenticate(s, token)

    async def tech(request: Request,
                   authorization: Annotated[str | None, Header()] = None) -> feed.Tech:
        known = getattr(request.state, "tech", None)
        if isinstance(known, feed.Tech):  # authenticated first, by the guard middleware
            return known
        token = None
        if authorization and authorization.lower().startswith("bearer "):
            token = authorization[7:].strip()
        found = await run_in_threadpool(lookup, token) if token else None
        if found is None:
            raise HTTPException(status_code=401, detail="missing or invalid token",
                                headers={"WWW-Authenticate": "Bearer"})
        return found

    async def protocol(x_deskcli_protocol: Annotated[str, Header(
            pattern=r"^[0-9]{1,9}$", description="The sync protocol the client speaks.")]
            = str(PROTOCOL_VERSION)) -> None:
        if int(x_deskcli_protocol) != PROTOCOL_VERSION:
            raise HTTPException(status_code=409, detail=(
                f"this client speaks sync protocol {x_deskcli_protocol} and the server "
                f"speaks {PROTOCOL_VERSION}: upgrade the older of the two"))

    TechDep = Annotated[feed.Tech, Depends(tech)]

    @app.get("/health")
    def health() -> dict[str, Any]:
        """For load balancers and monitoring: no token needed."""
        return {"status": "ok", "database": "sqlite" if is_sqlite else "postgresql",
                "epoch": epoch, "protocol": PROTOCOL_VERSION, "version": __version__}

    @app.get("/v1/whoami", dependencies=[Depends(protocol)],
             responses=_errors(400, 401, 409, 422))
    def whoami(who: TechDep) -> WhoAmI:
        from deskcli.server.models import SrvTechClient

        with Session(engine) as s:
            names = s.exec(select(SrvTechClient.client_name).where(
                SrvTechClient.handle == who.handle)).all()
        return WhoAmI(handle=who.handle, is_admin=who.is_admin, clients=sorted(names),
                      epoch=epoch, protocol=PROTOCOL_VERSION)

    def page_json(connection: Connection, who: feed.Tech, since: int, limit: int) -> str:
        """A page of changes after ``since`` as JSON text, in the shape of ChangesOut.
        One statement, outside a transaction (``connection`` is ``reader``'s kind)."""
        rows, more, latest = feed.pull(connection, who, min(since, SEQ_MAX), limit)
        # The cursor is only ever the last row returned: jumping to the counter could skip
        # a push that commits between the two reads, and the puller would never see it.
        nxt = rows[-1][0] if rows else since
        # Values are stored as JSON text already: splice them in rather than parse and
        # re-encode thousands of them per page, and quote the plain strings with the
        # json module's own string encoder (the shape is ChangesOut, in PULLED order).
        q = encode_basestring_ascii
        body = ",".join(
            f'{{"seq":{seq},"op_id":{q(op_id)},"origin":{q(origin)},"tech":{q(by)},'
            f'"entity":{q(entity)},"entity_id":{q(entity_id)},"kind":{q(kind)},'
            f'"field":{"null" if name is None else q(name)},"value":{value},'
            f'"hlc":{q(stamp)}}}'
            for seq, op_id, origin, by, entity, entity_id, kind, name, value, stamp in rows)
        return (f'{{"changes":[{body}],"next":{nxt},"has_more":{"true" if more else "false"},'
                f'"epoch":{json.dumps(epoch)},"server_seq":{latest},'
                f'"server_ms":{time.time_ns() // 1_000_000}}}')

    @app.post("/v1/push", dependencies=[Depends(protocol)], response_model=PushOut,
              responses=_errors(400, 401, 403, 409, 413, 422))
    def push(body: PushIn, who: TechDep,
             since: Annotated[int | None, Query(
                 ge=0, le=INT64_MAX, description="Also return the first page of changes "
                 "after this sequence number (``changes``), read after the push committed."
             )] = None) -> Response | PushOut:
        """Apply ops at most once each; safe to retry blindly."""
        if body.protocol != PROTOCOL_VERSION:
            raise HTTPException(status_code=409, detail=(
                f"this client speaks sync protocol {body.protocol} and the server speaks "
                f"{PROTOCOL_VERSION}: upgrade the older of the two"))
        ops = [op.model_dump() for op in body.ops]
        now = _now()
        guard.check_ops(ops, time.time_ns() // 1_000_000, max_skew_ms)
        # One connection for the push and the page after it: one check-out of the pool
        # (on PostgreSQL each is a round trip, the pool's liveness ping).
        with engine.connect() as connection:
            with Session(bind=connection) as s:
                # Written with the other pushes this process has in hand, in one
                # transaction, or alone; committed either way before the reply
                # (``server/group.py``).
                result = group.push(s, who, body.client_id, ops, now_iso=to_iso(now),
                                    now_ms=time.time_ns() // 1_000_000, new_id=new_id,
                                    max_ahead_ms=max_skew_ms)
            if since is None:
                return PushOut(accepted=result.accepted, duplicates=result.duplicates,
                               server_seq=result.server_seq, epoch=epoch)
            connection.rollback()  # the session's transaction is over: a no-op
            if not is_sqlite:  # as ``reader``
                connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            page = page_json(connection, who, since, PULL_PAGE)
        text = (f'{{"accepted":{json.dumps(result.accepted)},'
                f'"duplicates":{json.dumps(result.duplicates)},'
                f'"server_seq":{result.server_seq},"epoch":{json.dumps(epoch)},'
                f'"changes":{page}}}')
        return Response(content=text, media_type="application/json")

    @app.get("/v1/changes", dependencies=[Depends(protocol)],
             response_model=ChangesOut,
             responses={200: {"model": ChangesOut}, **_errors(400, 401, 409, 422)})
    def changes(who: TechDep,
                since: Annotated[int, Query(ge=0, le=INT64_MAX)] = 0,
                limit: Annotated[int, Query(ge=1, le=5000)] = PULL_PAGE) -> Response:
        """Everything after ``since`` the technician may see, in sequence order."""
        with reader.connect() as connection:
            text = page_json(connection, who, since, limit)
        return Response(content=text, media_type="application/json")

    @app.post("/v1/leases", dependencies=[Depends(protocol)],
              responses=_errors(400, 401, 403, 409, 413, 422, 429))
    def lease(body: LeaseIn, who: TechDep) -> LeaseOut:
        """A block of ticket numbers this client may use offline."""
        now = _now()
        with Session(engine) as s:
            scope_rules.lock_numbers(s)
            scope_rules.bind_store(s, who, body.client_id, to_iso(now))
            scope_rules.check_lease(s, body.client_id, body.size, now)
            granted = feed.grant_lease(s, body.client_id, body.size, to_iso(now))
            s.commit()
            return LeaseOut(start=granted.start, end=granted.end)

    TicketId = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN)]

    @app.put("/v1/presence/{ticket_id}", dependencies=[Depends(protocol)],
             responses=_errors(400, 401, 404, 409, 422))
    def presence(ticket_id: TicketId, who: TechDep) -> PresenceOut:
        """Say 'I have this ticket open' and hear who else has (tickets the technician
        may see only: anything else is 'not found', whether it exists or not)."""
        with Session(engine) as s:
            if not scope_rules.may_see_ticket(s, who, ticket_id):
                raise HTTPException(status_code=404, detail=f"no ticket {ticket_id} on the "
                                    "server that you may see (a ticket not yet synced is "
                                    "not)")
            now = _now()
            s.merge(SrvPresence(ticket_id=ticket_id, tech=who.handle, seen_at=to_iso(now)))
            s.exec(delete(SrvPresence).where(  # type: ignore[call-overload]
                col(SrvPresence.seen_at) < to_iso(now - PRESENCE_TTL)))
            s.commit()
            others = s.exec(select(SrvPresence.tech).where(
                SrvPresence.ticket_id == ticket_id, SrvPresence.tech != who.handle)).all()
        return PresenceOut(ticket_id=ticket_id, others=sorted(others))

    @app.delete("/v1/presence/{ticket_id}", dependencies=[Depends(protocol)],
                responses=_errors(400, 401, 409, 422))
    def leave(ticket_id: TicketId, who: TechDep) -> dict[str, str]:
        with Session(engine) as s:
            s.exec(delete(SrvPresence).where(  # type: ignore[call-overload]
                col(SrvPresence.ticket_id) == ticket_id,
                col(SrvPresence.tech) == who.handle))
            s.commit()
        return {"status": "ok"}

    authenticate_first(app, reader)  # last added, so it runs before every other check
    app.state.engine = engine
    app.state.epoch = epoch
    return app
