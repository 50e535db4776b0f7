"""Technicians and their bearer tokens. Only a token's SHA-256 is stored.

Tokens are 32 random bytes, so a fast hash is enough: there is nothing to brute-force.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import Connection, text
from sqlmodel import Session, select

from deskcli.domain.errors import InvalidInput, NotFound
from deskcli.domain.ids import stable_id
from deskcli.server.feed import Tech
from deskcli.server.models import SrvTech, SrvTechClient

_HANDLE = re.compile(r"[a-z][a-z0-9._-]{1,31}")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return "dsk_" + secrets.token_urlsafe(32)


#: The technician a token hash names, with each client they work for (one row per client,
#: one row with NULL for an admin or a technician of no client): one statement per request.
_BY_TOKEN = text(
    "SELECT t.handle, t.is_admin, t.revoked, c.client_id FROM srv_tech t "
    "LEFT JOIN srv_tech_client c ON c.handle = t.handle WHERE t.token_hash = :hash")


def authenticate(session: Session | Connection, token: str | None) -> Tech | None:
    """The technician holding ``token``, or None if it is unknown or revoked. Runs on every
    request: one plain statement (the ORM's two queries cost more than the request's own
    work for a small sync)."""
    if not token:
        return None
    rows = session.execute(_BY_TOKEN, {"hash": hash_token(token)}).all()
    if not rows or rows[0][2]:
        return None
    return Tech(handle=rows[0][0], is_admin=bool(rows[0][1]),
                scopes=frozenset(row[3] for row in rows if row[3] is not None))


@dataclass(frozen=True)
class IssuedToken:
    handle: str
    token: str


def add_tech(session: Session, handle: str, *, name: str | None, tier: int,
             clients: list[str], admin: bool, now_iso: str) -> IssuedToken:
    """Create a technician (or re-issue a revoked one's token); returns the token once."""
    if not _HANDLE.fullmatch(handle):
        raise InvalidInput(f"{handle!r} is not a valid handle: 2-32 characters, lowercase "
                           "letters, digits, '.', '_' or '-', starting with a letter")
    if tier not in (1, 2, 3):
        raise InvalidInput(f"tier must be 1, 2 or 3, not {tier}")
    if not clients and not admin:
        raise InvalidInput("give at least one --client the technician works for, or --admin "
                           "to see every client")
    existing = session.get(SrvTech, handle)
    if existing is not None and not existing.revoked:
        raise InvalidInput(f"technician {handle!r} already exists; revoke them first to "
                           "issue a new token")
    token = new_token()
    tech = existing or SrvTech(handle=handle, name=name or handle, token_hash="",
                               created_at=now_iso)
    tech.name, tech.tier, tech.is_admin = name or tech.name, tier, admin
    tech.token_hash, tech.revoked = hash_token(token), False
    session.add(tech)
    session.flush()
    for old in session.exec(select(SrvTechClient).where(SrvTechClient.handle == handle)).all():
        session.delete(old)
    for client in clients:
        session.add(SrvTechClient(handle=handle, client_id=stable_id("client", client),
                                  client_name=client.strip()))
    return IssuedToken(handle, token)


def revoke(session: Session, handle: str) -> None:
    tech = session.get(SrvTech, handle)
    if tech is None:
        raise NotFound(f"no technician {handle!r} on this server")
    tech.revoked = True
    tech.token_hash = "revoked:" + secrets.token_hex(8)
    session.add(tech)


def techs(session: Session) -> list[tuple[SrvTech, list[str]]]:
    out = []
    for tech in session.exec(select(SrvTech).order_by(SrvTech.handle)).all():
        clients = session.exec(select(SrvTechClient.client_name).where(
            SrvTechClient.handle == tech.handle)).all()
        out.append((tech, sorted(clients)))
    return out
