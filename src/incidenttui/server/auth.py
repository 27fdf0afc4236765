"""Bearer tokens: generated once, shown once, stored only as a SHA-256 hash.

Tokens are 256 random bits, so a fast hash is enough: nobody can guess a preimage, and the
lookup by hash stays a single indexed read per request. Every token is a named row of
``api_tokens`` (server/tokens.py: several per user, each with an expiry, revocable);
``users.token_hash`` is no longer read (migration 0004 turned each one into a token named
``default``).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

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


@dataclass(frozen=True)
class Bearer:
    """An authenticated bearer: the user and the named token (server/tokens.py) they used."""

    user: User
    token_id: str
    token_name: str


_BEARER_COLUMNS = ("SELECT u.id, u.display_name, u.role, u.team_id, u.email, u.active, "
                   "u.created_at, t.id, t.name, t.expires_at, t.revoked_at")
_BEARER_BY_HASH = (f"{_BEARER_COLUMNS} FROM api_tokens t JOIN users u ON u.id = t.user_id "
                   "WHERE t.token_hash = ?")
#: PostgreSQL only (an array parameter).
_BEARERS_BY_HASH = (f"{_BEARER_COLUMNS}, t.token_hash FROM api_tokens t "
                    "JOIN users u ON u.id = t.user_id WHERE t.token_hash = ANY(?)")


def _utc(value: Any) -> datetime | None:
    """A time column as the driver returns it (SQLite: text), aware UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def authenticate_bearer(db: Database, token: str, now: datetime | None = None
                        ) -> Bearer | None:
    """The active user holding ``token`` and which of their tokens it is, or None: unknown,
    revoked, expired, or the user is inactive.

    One indexed select on the token's hash, read on every request straight from the driver
    (no ORM session, no write, no cache): a token revoked on any replica fails at once here
    too, and so does one that expired a moment ago.
    """
    if not _plausible(token):
        return None
    rows = db.query(_BEARER_BY_HASH, (hash_token(token),))
    return _bearer(rows[0], now) if rows else None


def authenticate_bearers(db: Database, tokens: Sequence[str], now: datetime | None = None
                         ) -> dict[str, Bearer | None]:
    """:func:`authenticate_bearer` for several tokens in one select (PostgreSQL), for
    requests that arrived together (:class:`BearerReads`)."""
    wanted = {hash_token(t): t for t in tokens if _plausible(t)}
    found: dict[str, Bearer | None] = dict.fromkeys(tokens)
    if wanted:
        for row in db.query(_BEARERS_BY_HASH, (list(wanted),)):
            found[wanted[row[-1]]] = _bearer(row[:-1], now)
    return found


def _plausible(token: str | None) -> bool:
    return bool(token) and len(token) <= 200  # type: ignore[arg-type]


def _bearer(row: Sequence[Any], now: datetime | None) -> Bearer | None:
    (user_id, display_name, role, team_id, email, active, created_at, token_id, token_name,
     expires_at, revoked_at) = row
    if not active or revoked_at is not None:
        return None
    expires = _utc(expires_at)
    if expires is not None and expires <= (now or datetime.now(UTC)):
        return None
    user = loaded(User, {"id": user_id, "display_name": display_name, "role": role,
                         "team_id": team_id, "email": email, "token_hash": None,
                         "active": bool(active), "created_at": _utc(created_at)})
    return Bearer(user, token_id, token_name)


class BearerReads:
    """Bearer tokens read together: requests that arrive while one read is in flight share
    the next one (one round trip for all of them, on PostgreSQL).

    Not a cache: every request's answer comes from a read that *started after the request
    arrived*, so a token revoked (or expired) before then fails, on every replica, exactly
    as with a read of its own. Under load, the few requests that authenticate at once pay
    one round trip between them instead of one each.
    """

    def __init__(self, db: Database, loop: asyncio.AbstractEventLoop) -> None:
        self.db, self.loop = db, loop
        self._waiting: dict[str, list[asyncio.Future[Bearer | None]]] = {}
        self._reading = False

    async def get(self, token: str) -> Bearer | None:
        """The bearer ``token`` names (see :func:`authenticate_bearer`), or None."""
        future: asyncio.Future[Bearer | None] = self.loop.create_future()
        self._waiting.setdefault(token, []).append(future)
        if not self._reading:
            self._reading = True
            self.loop.create_task(self._read())
        return await future

    async def _read(self) -> None:
        try:
            while self._waiting:  # who arrived during a read goes in the next one
                batch, self._waiting = self._waiting, {}
                try:
                    found = await run_in_threadpool(authenticate_bearers, self.db, list(batch))
                except Exception as exc:
                    for futures in batch.values():
                        for future in futures:
                            if not future.done():
                                future.set_exception(exc)
                    continue
                for token, futures in batch.items():
                    for future in futures:
                        if not future.done():
                            future.set_result(found.get(token))
        finally:
            self._reading = False


def authenticate_token(db: Database, token: str) -> User | None:
    """The active user holding ``token`` (see :func:`authenticate_bearer`), or None."""
    found = authenticate_bearer(db, token)
    return found.user if found is not None else None


#: The token :func:`create_user` issues (and re-issues, revoking the one before).
DEFAULT_TOKEN_NAME = "default"


def create_user(session: Session, name: str, role: Role | str, team: str | None = None,
                display_name: str | None = None, email: str | None = None) -> tuple[User, str]:
    """Create user ``name`` (or give an existing one a new token); return it and its token.

    The token is the user's ``default`` named token (server/tokens.py); re-issuing revokes
    the default token before it (the user's other named tokens stay). The token is not
    stored anywhere; only its hash is.
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
    session.add(user)
    session.flush()
    from incidenttui.server.tokens import ApiToken

    now = datetime.now(UTC)
    for old in session.exec(select(ApiToken).where(
            col(ApiToken.user_id) == user.id, col(ApiToken.name) == DEFAULT_TOKEN_NAME,
            col(ApiToken.revoked_at).is_(None))).all():
        old.revoked_at = now
        session.add(old)
    session.add(ApiToken(id=str(uuid.uuid4()), user_id=user.id, name=DEFAULT_TOKEN_NAME,
                         token_hash=hash_token(token), created_at=now))
    session.flush()
    return user, token
