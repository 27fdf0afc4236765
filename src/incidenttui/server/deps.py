"""Dependencies of the API routes: the current user (ONE way to authenticate), the permission
check, and the annotated parameters the routes share.

Authentication happens before the request body is read: :class:`AuthRoute` (the route class
of every router that serves users) authenticates the bearer token as soon as the route is
matched, so a request without a valid token is answered 401 without its body being read.
The :func:`current_user` dependency then hands over that user.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Header, Path, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from incidenttui.domain import Permission, allowed
from incidenttui.server.auth import authenticate_token
from incidenttui.server.changes import ChangeNotifier
from incidenttui.server.db import Database
from incidenttui.server.errors import ApiError
from incidenttui.server.metrics import Metrics
from incidenttui.server.models import User

bearer = HTTPBearer(auto_error=False, description="A token from `incidenttui admin create-user`")

#: Where :class:`AuthRoute` leaves the authenticated user for :func:`current_user`.
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


def user_for(db: Database, token: str | None) -> User:
    """The active user holding ``token``; 401 for none, or one revoked or never issued.

    Read from the database on every request (one indexed select), so a token revoked or
    re-issued on any replica fails at once here too.
    """
    if token is None:
        raise ApiError(401, "Authentication required: send 'Authorization: Bearer TOKEN'.",
                       headers=_CHALLENGE)
    user = authenticate_token(db, token)
    if user is None:
        raise ApiError(401, "The token is not valid (revoked, or never issued).",
                       headers=_CHALLENGE)
    return user


async def authenticate(request: Request) -> User:
    """The request's user, authenticated once per request."""
    user = request.scope.get(USER_SCOPE_KEY)
    if user is None:
        credentials = await bearer(request)
        token = credentials.credentials if credentials is not None else None
        db = database(request)
        if db.reads_are_local:
            user = user_for(db, token)  # one indexed read of a local file: no thread hop
        else:
            user = await run_in_threadpool(user_for, db, token)
        request.scope[USER_SCOPE_KEY] = user
    return user


async def current_user(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> User:
    """The authenticated user (the bearer scheme is declared here for OpenAPI)."""
    return await authenticate(request)


def need(permission: Permission) -> Callable[..., Coroutine[Any, Any, User]]:
    """A dependency: the current user, if their role allows ``permission``; else 403."""
    async def check(user: Annotated[User, Depends(current_user)]) -> User:
        if not allowed(user.role, permission):
            raise ApiError(403, f"Role {user.role!r} may not {permission.value}.")
        return user
    return check


Reader = Annotated[User, Depends(need(Permission.READ))]
Responder = Annotated[User, Depends(need(Permission.RESPOND))]
IdemKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200,
                                       description="Repeats with the same key apply once")]
Key = Annotated[str, Path(description="The incident's UUID or number (INC-1042)",
                          max_length=64)]


def _uses(dependant: Dependant, call: Callable[..., Any]) -> bool:
    return any(d.call is call or _uses(d, call) for d in dependant.dependencies)


class AuthRoute(APIRoute):
    """A route that authenticates the caller before FastAPI reads the request body (FastAPI
    reads the body before it solves dependencies), when the route depends on the user."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if not _uses(self.dependant, current_user):
            return handler

        async def authenticated(request: Request) -> Response:
            await authenticate(request)
            return await handler(request)

        return authenticated
