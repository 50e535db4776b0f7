"""Technicians and their bearer tokens. Only a token's SHA-256 is stored.

Tokens are 32 random bytes, so a fast hash is enough: there is nothing to brute-force.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

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


def authenticate(session: Session, token: str | None) -> Tech | None:
    if not token:
        return None
    row = session.exec(select(SrvTech).where(SrvTech.token_hash == hash_token(token))).first()
    if row is None or row.revoked:
        return None
    scopes = session.exec(select(SrvTechClient.client_id).where(
        SrvTechClient.handle == row.handle)).all()
    return Tech(handle=row.handle, is_admin=row.is_admin, scopes=frozenset(scopes))


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
