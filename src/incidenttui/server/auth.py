"""Bearer tokens: generated once, shown once, stored only as a SHA-256 hash.

Tokens are 256 random bits, so a fast hash is enough: nobody can guess a preimage, and the
lookup by hash stays a single indexed read per request.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlmodel import Session, select

from incidenttui.domain import Role
from incidenttui.server.db import loaded
from incidenttui.server.models import Team, User

if TYPE_CHECKING:
    from incidenttui.server.db import Database

TOKEN_PREFIX = "itui_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def user_for_token(session: Session, token: str) -> User | None:
    """The active user holding ``token``, or None."""
    if not token or len(token) > 200:
        return None
    user = session.exec(select(User).where(User.token_hash == hash_token(token))).first()
    return user if user is not None and user.active else None


_USER_BY_HASH = ("SELECT id, display_name, role, team_id, email, active, created_at "
                 "FROM users WHERE token_hash = ?")


def authenticate_token(db: Database, token: str) -> User | None:
    """The active user holding ``token``, or None: one indexed select on the token's hash,
    read on every request, so a revoked or re-issued token fails at once on every replica.

    The same answer as :func:`user_for_token`, straight from the driver (a user is read on
    every request: SQLAlchemy's ORM costs twenty times the read itself here).
    """
    if not token or len(token) > 200:
        return None
    rows = db.query(_USER_BY_HASH, (hash_token(token),))
    if not rows:
        return None
    user_id, display_name, role, team_id, email, active, created_at = rows[0]
    if not active:
        return None
    if isinstance(created_at, str):  # SQLite keeps text
        created_at = datetime.fromisoformat(created_at)
    return loaded(User, {"id": user_id, "display_name": display_name, "role": role,
                         "team_id": team_id, "email": email, "token_hash": None,
                         "active": bool(active), "created_at": created_at.replace(tzinfo=UTC)})


def create_user(session: Session, name: str, role: Role | str, team: str | None = None,
                display_name: str | None = None, email: str | None = None) -> tuple[User, str]:
    """Create user ``name`` (or give an existing one a new token); return it and its token.

    The token is not stored anywhere; only its hash is.
    """
    if not _NAME.match(name):
        raise ValueError(f"invalid user name {name!r}: letters, digits, '.', '_', '-', '@'")
    role = Role(role)
    if team is not None and session.get(Team, team) is None:
        raise ValueError(f"unknown team {team!r}")
    token = new_token()
    user = session.get(User, name)
    if user is None:
        user = User(id=name, display_name=display_name or name, role=role, team_id=team,
                    email=email)
    else:
        user.role, user.active = role, True
        if team is not None:
            user.team_id = team
    user.token_hash = hash_token(token)
    session.add(user)
    session.flush()
    return user, token
