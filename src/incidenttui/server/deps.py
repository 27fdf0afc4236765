"""Dependencies of the API routes: the caller (ONE way to authenticate), the permission
check from the matrix, and the annotated parameters the routes share.

Every route that serves users takes an :data:`Allowed` caller. :class:`AuthRoute` (the route
class of those routers) admits it as soon as the route is matched, before the body is read:
the bearer token is authenticated (401), then the operation that
:data:`~incidenttui.server.access.ENDPOINTS` names for the route's method and path template
is checked against the caller's role (403 when the role may not do it on any incident). Routes
on one incident then check that incident with :func:`check_incident` (404, word for word the
answer for a missing one, when the caller cannot see it); list routes leave out what the
caller cannot see (server/visibility.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Path, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session
from starlette.responses import Response

from incidenttui.domain import RefusalKind, Refused
from incidenttui.domain.permissions import DESCRIPTIONS, Decision, Operation, decide, may_at_all
from incidenttui.server import service, visibility
from incidenttui.server.access import operation_for
from incidenttui.server.audit import Origin
from incidenttui.server.auth import Bearer, BearerReads, authenticate_bearer
from incidenttui.server.changes import ChangeNotifier
from incidenttui.server.db import Database
from incidenttui.server.errors import ApiError
from incidenttui.server.fastcall import fast_call
from incidenttui.server.metrics import Metrics
from incidenttui.server.models import User
from incidenttui.server.ratelimit import FailureLimiter
from incidenttui.server.service import AnyIncident

log = logging.getLogger("incidenttui.auth")
bearer = HTTPBearer(auto_error=False, description="A token from `incidenttui admin create-user`")

#: Where :class:`AuthRoute` leaves the admitted :class:`Caller` for :func:`current_caller`.
USER_SCOPE_KEY = "incidenttui.user"
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def database(request: Request) -> Database:
    """The app's database."""
    return request.app.state.db


def notifier(request: Request) -> ChangeNotifier:
    """The app's change notifier (wakes long-polls in this process)."""
    return request.app.state.notifier


def metrics(request: Request) -> Metrics:
    return request.app.state.metrics


@dataclass(frozen=True)
class Caller:
    """Who is calling: the user, the token they used and where they call from."""

    user: User
    token_id: str | None = None
    token_name: str | None = None
    address: str | None = None
    user_agent: str | None = None

    @property
    def role(self) -> str:
        return self.user.role

    def origin(self) -> Origin:
        """The caller as the audit log records it."""
        client = " ".join(p for p in (self.address, self.user_agent) if p) or None
        return Origin(self.user.id, self.token_id, self.token_name, client)


def user_for(db: Database, token: str | None) -> Bearer:
    """The active user holding ``token`` and the named token it is; 401 for none, or one
    revoked, expired or never issued.

    Read from the database on every request (one indexed select), so a token revoked on any
    replica, or one just expired, fails at once here too.
    """
    return _found(authenticate_bearer(db, _given(token)))


async def user_for_async(request: Request, token: str | None) -> Bearer:
    """:func:`user_for` on the event loop: a local read (SQLite) at once, a remote one
    (PostgreSQL) in a thread, shared with the requests authenticating at the same moment
    (:class:`~incidenttui.server.auth.BearerReads`: each still reads after it arrived)."""
    db = database(request)
    if db.reads_are_local:  # one indexed read of a local file: no thread hop
        return user_for(db, token)
    token = _given(token)
    reads = getattr(request.app.state, "bearer_reads", None)
    loop = asyncio.get_running_loop()
    if reads is None or reads.db is not db or reads.loop is not loop:
        reads = request.app.state.bearer_reads = BearerReads(db, loop)
    return _found(await reads.get(token))


def _given(token: str | None) -> str:
    if token is None:
        raise ApiError(401, "Authentication required: send 'Authorization: Bearer TOKEN'.",
                       headers=_CHALLENGE)
    return token


def _found(found: Bearer | None) -> Bearer:
    if found is None:
        raise ApiError(401, "The token is not valid (revoked, expired, or never issued).",
                       headers=_CHALLENGE)
    return found


def _too_many(address: str, wait: int) -> ApiError:
    log.warning("authentication refused for %s: too many failed attempts; retry in %d s",
                address, wait)
    return ApiError(429, "Too many failed authentications from this address; retry later.",
                    headers={"Retry-After": str(wait)})


async def authenticate(request: Request) -> Caller:
    """The request's caller, authenticated once per request. An address with too many recent
    failed authentications is refused (429, ``Retry-After``) before its token is looked up;
    each failure is logged with the address, never the token."""
    caller = request.scope.get(USER_SCOPE_KEY)
    if caller is None:
        client = request.client
        address = client.host if client else "unknown"
        limiter: FailureLimiter | None = getattr(request.app.state, "auth_limiter", None)
        if limiter is not None and (wait := limiter.retry_after(address)) is not None:
            raise _too_many(address, wait)
        credentials = await bearer(request)
        token = credentials.credentials if credentials is not None else None
        try:
            found = await user_for_async(request, token)
        except ApiError:
            if token is not None and limiter is not None:
                log.warning("failed authentication from %s", address)
                if (wait := limiter.failed(address)) is not None:
                    raise _too_many(address, wait) from None
            raise
        caller = Caller(found.user, found.token_id, found.token_name, address=address,
                        user_agent=request.headers.get("user-agent"))
        request.scope[USER_SCOPE_KEY] = caller
    return caller


def forbidden_reason(role: str, operation: Operation) -> str:
    return f"Role {role!r} may not {operation.value} ({DESCRIPTIONS[operation]})."


def forbidden(role: str, operation: Operation) -> ApiError:
    """The 403 for a role that may not do ``operation`` (before a write starts)."""
    return ApiError(403, forbidden_reason(role, operation))


def refused(role: str, operation: Operation) -> Refused:
    """The 403 for a role that may not do ``operation`` on the incident a write loaded: a
    refusal like the others, so the write's Idempotency-Key records it (server/writes.py)."""
    return Refused(forbidden_reason(role, operation), kind=RefusalKind.FORBIDDEN)


async def admit(request: Request, method: str, path: str) -> Caller:
    """Authenticate the request and check its role may do the endpoint's operation on some
    incident (:data:`~incidenttui.server.access.ENDPOINTS`); 401 or 403 before the body is
    read. The incident itself is checked by :func:`check_incident` once it is loaded."""
    caller = await authenticate(request)
    operation = operation_for(method, path)
    if operation is not None and not may_at_all(caller.role, operation):
        raise forbidden(caller.role, operation)
    return caller


async def current_caller(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    """The authenticated caller, admitted to the route by :class:`AuthRoute` (the bearer
    scheme is declared here for OpenAPI)."""
    caller = request.scope.get(USER_SCOPE_KEY)
    if caller is None:  # a route class that did not admit it: do it here
        route = request.scope["route"]
        caller = await admit(request, request.method, route.path)
    return caller


def check_incident(session: Session, caller: Caller, incident: AnyIncident,
                   operation: Operation, key: str) -> None:
    """Refuse ``operation`` on ``incident`` unless the matrix allows it: NotFound (the words
    of a missing incident) when the caller cannot see it, 403 when they may not do this."""
    member = visibility.member_of(session, incident, caller.user)
    decision = decide(caller.role, operation, visibility.visibility(incident), member=member)
    if decision is Decision.HIDE:
        raise service.not_found(key)
    if decision is Decision.FORBID:
        raise refused(caller.role, operation)


Allowed = Annotated[Caller, Depends(current_caller)]
IdemKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200,
                                       description="Repeats with the same key apply once")]
Key = Annotated[str, Path(description="The incident's UUID or number (INC-1042)",
                          max_length=64)]


def uses(dependant: Dependant, call: Callable[..., Any]) -> bool:
    return any(d.call is call or uses(d, call) for d in dependant.dependencies)


class AuthRoute(APIRoute):
    """A route that admits the caller (:func:`admit`: authentication and the matrix's check
    of its operation) before FastAPI reads the request body (FastAPI reads the body before
    it solves dependencies), when the route depends on the caller. A write route whose
    parameters are plain reads them itself (server/fastcall.py), FastAPI's path being kept
    for everything else (and for all, with ``app.state.fast_calls = False``: the tests
    compare the two)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if not uses(self.dependant, current_caller):
            return handler
        method, path = next(iter(self.methods)), self.path
        fast = fast_call(self, current_caller, _admitted) if method != "GET" else None

        async def authenticated(request: Request) -> Response:
            await admit(request, method, path)
            if (fast is not None and getattr(request.app.state, "fast_calls", True)
                    and (response := await fast(request)) is not None):
                return response
            return await handler(request)

        return authenticated


def _admitted(request: Request) -> Caller:
    return request.scope[USER_SCOPE_KEY]
