"""Named API tokens: several per user, each with an expiry, revocable at once.

A token is shown once, at creation; only its SHA-256 hash is kept (as for ``users.token_hash``,
see server/auth.py). :func:`lookup` reads the database on every call and refuses revoked and
expired tokens, so a revocation holds from its commit on, on every server replica alike.
Nothing here is cached.

Not yet wired into authentication: server/auth.py still reads ``users.token_hash``; a route
dependency would try :func:`lookup` and fall back to it (see the lead's wiring notes).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Column, update
from sqlmodel import Field, Session, SQLModel, col, select

from incidenttui.server.auth import hash_token, new_token
from incidenttui.server.models import User
from incidenttui.sqltypes import UTCDateTime, utcnow

#: Longest token name.
NAME_MAX = 200
#: ``last_used_at`` is written at most this often per token, so a busy token costs no write
#: per request.
TOUCH_EVERY = timedelta(minutes=1)


class ApiToken(SQLModel, table=True):
    """One bearer token of a user: its name, hash and life."""

    __tablename__ = "api_tokens"

    id: str = Field(primary_key=True, max_length=36)
    user_id: str = Field(max_length=64, index=True)
    name: str = Field(max_length=NAME_MAX)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(),
                                                                       nullable=True))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(),
                                                                       nullable=True))
    last_used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(),
                                                                         nullable=True))

    def state(self, now: datetime) -> str:
        """``active``, ``expired`` or ``revoked`` at ``now``."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


class TokenNotFound(LookupError):
    """No such token (or not one of this user's)."""


@dataclass(frozen=True)
class TokenMatch:
    """A valid token and the active user it belongs to."""

    token: ApiToken
    user: User


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime given for a token time")
    return value.astimezone(UTC)


def create_token(session: Session, user_id: str, name: str, *,
                 expires_at: datetime | None = None, now: datetime | None = None
                 ) -> tuple[ApiToken, str]:
    """A new token for ``user_id`` named ``name``; return it and its secret (shown once).

    Refused (ValueError, in words): an unknown or inactive user, an empty or over-long name,
    a name the user already has on a token still in use, an expiry not in the future.
    """
    now = _aware(now or utcnow())
    name = name.strip()
    if not name or len(name) > NAME_MAX:
        raise ValueError(f"a token name needs 1 to {NAME_MAX} characters")
    user = session.get(User, user_id)
    if user is None or not user.active:
        raise ValueError(f"no active user {user_id!r}")
    if expires_at is not None:
        expires_at = _aware(expires_at)
        if expires_at <= now:
            raise ValueError("a token's expiry must be in the future")
    if any(t.name == name and t.state(now) == "active" for t in list_tokens(session, user_id)):
        raise ValueError(f"{user_id!r} already has a token named {name!r}; revoke it first "
                         "or choose another name")
    secret = new_token()
    token = ApiToken(id=str(uuid.uuid4()), user_id=user_id, name=name,
                     token_hash=hash_token(secret), created_at=now, expires_at=expires_at)
    session.add(token)
    session.flush()
    return token, secret


def list_tokens(session: Session, user_id: str | None = None) -> list[ApiToken]:
    """Tokens (revoked and expired ones included), of one user or of everyone, oldest first."""
    query = select(ApiToken)
    if user_id is not None:
        query = query.where(col(ApiToken.user_id) == user_id)
    return list(session.exec(query.order_by(col(ApiToken.created_at), col(ApiToken.id))).all())


def revoke_token(session: Session, token_id: str, *, user_id: str | None = None,
                 now: datetime | None = None) -> ApiToken:
    """Revoke a token from now on (again: no change, the first time stays). With ``user_id``,
    only that user's token: another's is :class:`TokenNotFound`, as a missing one."""
    token = session.get(ApiToken, token_id)
    if token is None or (user_id is not None and token.user_id != user_id):
        raise TokenNotFound(f"no token {token_id!r}")
    if token.revoked_at is None:
        token.revoked_at = _aware(now or utcnow())
        session.add(token)
        session.flush()
    return token


def revoke_all(session: Session, user_id: str, *, now: datetime | None = None) -> int:
    """Revoke every token of ``user_id`` still unrevoked (e.g. as the user leaves); how many."""
    result = session.execute(
        update(ApiToken).where(col(ApiToken.user_id) == user_id,
                               col(ApiToken.revoked_at).is_(None))
        .values(revoked_at=_aware(now or utcnow())))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def lookup(session: Session, secret: str, *, now: datetime | None = None) -> TokenMatch | None:
    """The token ``secret`` names and its user, or None: unknown, revoked, expired, or the
    user is gone or inactive. One indexed read by hash; no write."""
    if not secret or len(secret) > 200:
        return None
    now = _aware(now or utcnow())
    token = session.exec(select(ApiToken).where(
        col(ApiToken.token_hash) == hash_token(secret))).first()
    if token is None or token.state(now) != "active":
        return None
    user = session.get(User, token.user_id)
    if user is None or not user.active:
        return None
    return TokenMatch(token, user)


def touch(session: Session, token_id: str, *, now: datetime | None = None) -> bool:
    """Record that a token was used (in a write transaction); skipped if it was recorded
    less than :data:`TOUCH_EVERY` ago. Whether it wrote."""
    now = _aware(now or utcnow())
    result = session.execute(
        update(ApiToken).where(col(ApiToken.id) == token_id,
                               col(ApiToken.last_used_at).is_(None)
                               | (col(ApiToken.last_used_at) < now - TOUCH_EVERY))
        .values(last_used_at=now))
    return bool(result.rowcount)  # type: ignore[attr-defined]
