"""The HTTP client the sync engine uses: bounded, distrustful, and plain about failures.

Every failure becomes one of a few exceptions with a sentence a responder can act on; the
token never appears in any of them.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from dataclasses import dataclass
from typing import Any

import httpx

from incidenttui import __version__

#: The largest response body accepted (a change-feed page of 1,000 big incidents fits).
MAX_BODY_BYTES = 32 * 1024 * 1024


class SyncError(Exception):
    """Base of sync failures; ``str()`` is a sentence for the status line."""


class Offline(SyncError):
    """The server cannot be reached (network down, refused, timed out, reset)."""


class ServerTrouble(SyncError):
    """The server answered but could not serve (5xx, 429): try again later."""


class BadResponse(SyncError):
    """The server's answer was not what the API promises (bad JSON, wrong shape, too big)."""


class AuthFailed(SyncError):
    """The token was refused (401)."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any


def describe_network(exc: BaseException, base_url: str) -> str:
    """One sentence for a network failure talking to ``base_url`` (an httpx or ssl error)."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return (f"TLS certificate of {base_url} is not trusted "
                    f"({cause.verify_message or 'verification failed'}); if your team's own "
                    "CA signed it, give its PEM file with --ca-bundle")
        if isinstance(cause, ssl.SSLError):
            return f"TLS handshake with {base_url} failed"
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, httpx.ConnectTimeout):
        return f"connecting to {base_url} timed out"
    if isinstance(exc, httpx.TimeoutException):
        return f"{base_url} stopped answering (timed out)"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect to {base_url}"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"{base_url} closed the connection mid-answer"
    return f"network error talking to {base_url} ({type(exc).__name__})"


class ApiClient:
    """A small async client for the incidenttui API."""

    def __init__(self, base_url: str, token: str | None, *, timeout: float = 15.0,
                 verify: bool | str | ssl.SSLContext = True,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        headers = {"User-Agent": f"incidenttui/{__version__}", "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._client = httpx.AsyncClient(
            base_url=self.base_url, headers=headers, verify=verify, transport=transport,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)), follow_redirects=False)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def call(self, method: str, path: str, *, json_body: Any = None,
                   params: dict[str, Any] | None = None, headers: dict[str, str] | None = None,
                   deadline: float | None = None) -> Answer:
        """Send one request; the whole exchange must finish within ``deadline`` seconds."""
        limit = deadline if deadline is not None else self.timeout * 2
        try:
            async with asyncio.timeout(limit):
                return await self._call(method, path, json_body, params, headers)
        except TimeoutError:
            raise Offline(f"{self.base_url} did not answer within {limit:.0f}s") from None
        except httpx.HTTPError as exc:
            raise Offline(describe_network(exc, self.base_url)) from None
        except (ssl.SSLError, OSError) as exc:
            raise Offline(describe_network(exc, self.base_url)) from None

    async def _call(self, method: str, path: str, json_body: Any,
                    params: dict[str, Any] | None, headers: dict[str, str] | None) -> Answer:
        request = self._client.build_request(method, path, json=json_body, params=params,
                                             headers=headers)
        response = await self._client.send(request, stream=True)
        try:
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
                raise BadResponse(f"the server sent {int(declared)} bytes; refusing more than "
                                  f"{MAX_BODY_BYTES}")
            chunks, size = [], 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    raise BadResponse(f"the server's answer exceeds {MAX_BODY_BYTES} bytes")
                chunks.append(chunk)
        finally:
            await response.aclose()
        raw = b"".join(chunks)
        status = response.status_code
        if status == 401:
            raise AuthFailed(f"{self.base_url} refused the token (401): log in again "
                             "with `incidenttui login`")
        if status == 429 or status >= 500:
            raise ServerTrouble(f"{self.base_url} answered {status}; retrying")
        try:
            body = json.loads(raw) if raw else None
        except (ValueError, UnicodeDecodeError):
            raise BadResponse(f"{self.base_url} answered {status} with something that is not "
                              "JSON; is this an incidenttui server?") from None
        return Answer(status, body)
