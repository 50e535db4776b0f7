"""The team server's HTTP API (FastAPI). Stateless: the database is the only shared state,
so several server processes can run side by side on one PostgreSQL database."""


import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlmodel import Session, col, delete, select

from deskcli import __version__
from deskcli.clock import new_id
from deskcli.domain.timefmt import to_iso
from deskcli.server import feed
from deskcli.server import scope as scope_rules
from deskcli.server.auth import authenticate
from deskcli.server.db import init_database, make_engine
from deskcli.server.guard import authenticate_first
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
#: What a record id looks like on the wire (UUIDs, stable ids): checked before any lookup.
RecordId = Annotated[str, PathParam(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OpIn(_Strict):
    op_id: str = Field(min_length=8, max_length=64)
    entity: str = Field(min_length=1, max_length=64)
    entity_id: str = Field(min_length=1, max_length=64)
    kind: Literal["create", "set", "append"]
    field: str | None = Field(default=None, max_length=64)
    value: Any = None
    hlc: str = Field(pattern=r"^\d{15}-\d{6}-[\w.-]{1,64}$")
    base_seq: int | None = Field(default=None, ge=0)

    @field_validator("entity")
    @classmethod
    def _known_entity(cls, value: str) -> str:
        """The protocol's vocabulary, derived from the store's synced tables."""
        if value not in ENTITY_TABLES:
            raise ValueError(f"Input should be one of {', '.join(sorted(ENTITY_TABLES))}")
        return value


class PushIn(_Strict):
    protocol: int
    client_id: str = Field(min_length=4, max_length=64)
    ops: list[OpIn] = Field(max_length=MAX_OPS_PER_PUSH)


class PushOut(BaseModel):
    accepted: list[str]
    duplicates: list[str]
    server_seq: int
    epoch: str


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


class LeaseIn(_Strict):
    client_id: str = Field(min_length=4, max_length=64)
    size: int = Field(default=DEFAULT_LEASE, ge=1, le=1000)


class LeaseOut(BaseModel):
    start: int
    end: int


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


def create_app(database_url: str) -> FastAPI:
    engine = make_engine(database_url)
    epoch = init_database(engine)
    is_sqlite = database_url.startswith("sqlite")
    # SQLite allows one writer; queue pushes in-process instead of failing on a busy lock.
    write_lock = threading.Lock() if is_sqlite else None

    app = FastAPI(
        title="deskcli team server",
        version=__version__,
        description="Sync API for deskcli: push local changes, pull everyone else's.",
    )

    @app.middleware("http")
    async def limit_body(request: Request, call_next: Any) -> Any:
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
            return JSONResponse(status_code=413, content={
                "detail": f"request body is {int(length)} bytes; the limit is {MAX_BODY_BYTES}"})
        return await call_next(request)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, error: RequestValidationError) -> JSONResponse:
        problems = []
        for item in error.errors()[:5]:
            where = ".".join(str(p) for p in item.get("loc", ()) if p != "body")
            problems.append(f"{where or 'body'}: {item.get('msg', 'invalid')}")
        return JSONResponse(status_code=422, content={
            "detail": "invalid request: " + "; ".join(problems)})

    @app.exception_handler(feed.OpProblem)
    async def op_problem(_request: Request, error: feed.OpProblem) -> JSONResponse:
        return JSONResponse(status_code=error.status,
                            content={"detail": error.message, "op_ids": error.op_ids})

    def session() -> Iterator[Session]:
        with Session(engine) as s:
            yield s

    def tech(request: Request,
             authorization: Annotated[str | None, Header()] = None) -> feed.Tech:
        known = getattr(request.state, "tech", None)
        if isinstance(known, feed.Tech):  # authenticated first, by the guard middleware
            return known
        token = None
        if authorization and authorization.lower().startswith("bearer "):
            token = authorization[7:].strip()
        with Session(engine) as s:
            found = authenticate(s, token)
        if found is None:
            raise HTTPException(status_code=401, detail="missing or invalid token",
                                headers={"WWW-Authenticate": "Bearer"})
        return found

    def protocol(x_deskcli_protocol: Annotated[int | None, Header()] = None) -> None:
        if x_deskcli_protocol is not None and x_deskcli_protocol != PROTOCOL_VERSION:
            raise HTTPException(status_code=409, detail=(
                f"this client speaks sync protocol {x_deskcli_protocol} and the server "
                f"speaks {PROTOCOL_VERSION}: upgrade the older of the two"))

    TechDep = Annotated[feed.Tech, Depends(tech)]
    SessionDep = Annotated[Session, Depends(session)]

    @app.get("/health")
    def health() -> dict[str, Any]:
        """For load balancers and monitoring: no token needed."""
        return {"status": "ok", "database": "sqlite" if is_sqlite else "postgresql",
                "epoch": epoch, "protocol": PROTOCOL_VERSION, "version": __version__}

    @app.get("/v1/whoami", dependencies=[Depends(protocol)])
    def whoami(who: TechDep, s: SessionDep) -> WhoAmI:
        from deskcli.server.models import SrvTechClient

        names = s.exec(select(SrvTechClient.client_name).where(
            SrvTechClient.handle == who.handle)).all()
        return WhoAmI(handle=who.handle, is_admin=who.is_admin, clients=sorted(names),
                      epoch=epoch, protocol=PROTOCOL_VERSION)

    @app.post("/v1/push", dependencies=[Depends(protocol)])
    def push(body: PushIn, who: TechDep) -> PushOut:
        """Apply ops at most once each; safe to retry blindly."""
        if body.protocol != PROTOCOL_VERSION:
            raise HTTPException(status_code=409, detail=(
                f"this client speaks sync protocol {body.protocol} and the server speaks "
                f"{PROTOCOL_VERSION}: upgrade the older of the two"))
        ops = [op.model_dump() for op in body.ops]
        now = _now()
        if write_lock is not None:
            write_lock.acquire()
        try:
            with Session(engine) as s:
                try:
                    result = feed.push(s, who, body.client_id, ops, now_iso=to_iso(now),
                                       now_ms=time.time_ns() // 1_000_000, new_id=new_id)
                    s.commit()
                except BaseException:
                    s.rollback()
                    raise
        finally:
            if write_lock is not None:
                write_lock.release()
        return PushOut(accepted=result.accepted, duplicates=result.duplicates,
                       server_seq=result.server_seq, epoch=epoch)

    @app.get("/v1/changes", dependencies=[Depends(protocol)],
             response_model=ChangesOut, responses={200: {"model": ChangesOut}})
    def changes(who: TechDep, s: SessionDep,
                since: Annotated[int, Query(ge=0)] = 0,
                limit: Annotated[int, Query(ge=1, le=5000)] = PULL_PAGE) -> Response:
        """Everything after ``since`` the technician may see, in sequence order."""
        rows, more = feed.pull(s, who, since, limit)
        latest = feed.current_seq(s)
        # The cursor is only ever the last row returned: jumping to the counter could skip
        # a push that commits between the two reads, and the puller would never see it.
        nxt = rows[-1]["seq"] if rows else since
        # Values are stored as JSON text already: splice them in rather than parse and
        # re-encode thousands of them per page (the shape is ChangesOut).
        body = ",".join(
            f'{{"seq":{r["seq"]},"op_id":{json.dumps(r["op_id"])},'
            f'"origin":{json.dumps(r["origin"])},"tech":{json.dumps(r["tech"])},'
            f'"entity":{json.dumps(r["entity"])},"entity_id":{json.dumps(r["entity_id"])},'
            f'"kind":{json.dumps(r["kind"])},"field":{json.dumps(r["field"])},'
            f'"value":{r["value"]},"hlc":{json.dumps(r["hlc"])}}}' for r in rows)
        text = (f'{{"changes":[{body}],"next":{nxt},"has_more":{"true" if more else "false"},'
                f'"epoch":{json.dumps(epoch)},"server_seq":{latest}}}')
        return Response(content=text, media_type="application/json")

    @app.post("/v1/leases", dependencies=[Depends(protocol)])
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

    @app.put("/v1/presence/{ticket_id}", dependencies=[Depends(protocol)])
    def presence(ticket_id: RecordId, who: TechDep, s: SessionDep) -> PresenceOut:
        """Say 'I have this ticket open' and hear who else has (tickets the technician
        may see only: anything else is 'not found', whether it exists or not)."""
        if not scope_rules.may_see_ticket(s, who, ticket_id):
            raise HTTPException(status_code=404, detail=f"no ticket {ticket_id} on the "
                                "server that you may see (a ticket not yet synced is not)")
        now = _now()
        s.merge(SrvPresence(ticket_id=ticket_id, tech=who.handle, seen_at=to_iso(now)))
        s.exec(delete(SrvPresence).where(  # type: ignore[call-overload]
            col(SrvPresence.seen_at) < to_iso(now - PRESENCE_TTL)))
        s.commit()
        others = s.exec(select(SrvPresence.tech).where(
            SrvPresence.ticket_id == ticket_id, SrvPresence.tech != who.handle)).all()
        return PresenceOut(ticket_id=ticket_id, others=sorted(others))

    @app.delete("/v1/presence/{ticket_id}", dependencies=[Depends(protocol)])
    def leave(ticket_id: RecordId, who: TechDep, s: SessionDep) -> dict[str, str]:
        s.exec(delete(SrvPresence).where(  # type: ignore[call-overload]
            SrvPresence.ticket_id == ticket_id, SrvPresence.tech == who.handle))
        s.commit()
        return {"status": "ok"}

    authenticate_first(app, engine)  # last added, so it runs before every other check
    app.state.engine = engine
    app.state.epoch = epoch
    return app
