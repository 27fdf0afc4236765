"""A limit on request bodies, enforced before they are read (every route).

A declared ``Content-Length`` over the limit is answered 413 at once, before routing,
authentication or reading a byte of the body. A body of unknown length (chunked) is counted
while the route reads it, and reading stops at the limit with 413. Either way the server never
holds more than the limit (plus the ASGI server's small read buffer) of one request in memory.

The alert routes keep their own, lower limit (512 KiB, ``alerts.routes.BoundedRoute``, which
also refuses a declared length before reading) with their own answers (Events v2 answers in
PagerDuty's shape): their paths are passed as ``own_limits`` and left to them.
"""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: The largest request body the API takes (an incident's longest text is 20,000 characters).
API_BODY_LIMIT = 1024 * 1024


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a streamed body passes the limit. An ``HTTPException``, so
    FastAPI's body reading lets it through to the app's handler, which answers 413 as JSON."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, too_large_text(limit))


def too_large_text(limit: int) -> str:
    return f"The request body is over the {limit}-byte limit."


class BodyLimit:
    """Pure ASGI middleware: refuse request bodies over ``limit`` bytes without reading them."""

    def __init__(self, app: ASGIApp, limit: int = API_BODY_LIMIT,
                 own_limits: tuple[str, ...] = ()) -> None:
        self.app = app
        self.limit = limit
        self.own_limits = own_limits
        self._answer = json.dumps({"detail": too_large_text(limit), "field": None}).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._own_limit(scope["path"]):
            await self.app(scope, receive, send)
            return
        length: bytes | None = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = value
                break
        if length is not None and length.isdigit():
            if int(length) > self.limit:
                await self._too_large(send)
                return
            # The ASGI server never delivers more than the declared length: nothing to count.
            await self.app(scope, receive, send)
            return
        await self._counted(scope, receive, send)

    def _own_limit(self, path: str) -> bool:
        return any(path == prefix or path.startswith(prefix + "/") for prefix in self.own_limits)

    async def _counted(self, scope: Scope, receive: Receive, send: Send) -> None:
        size = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal size
            message = await receive()
            if message["type"] == "http.request":
                size += len(message.get("body", b""))
                if size > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except BodyTooLarge:
            if started:
                raise
            await self._too_large(send)

    async def _too_large(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": 413, "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(self._answer)).encode())]})
        await send({"type": "http.response.body", "body": self._answer})
