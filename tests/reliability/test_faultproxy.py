"""The fault proxy itself: each fault does what it says, and nothing happens by accident."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from faultproxy import FaultPlan, FaultProxy  # type: ignore[import-not-found]

BODY = b"x" * 20_000


class Upstream:
    """A tiny HTTP/1.1 server answering every request with BODY; counts what it saw."""

    def __init__(self) -> None:
        self.connections = 0
        self.requests = 0
        self.port = 0
        self._server: asyncio.base_events.Server | None = None

    async def start(self) -> Upstream:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                self.requests += 1
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                             b"Content-Length: %d\r\n\r\n" % len(BODY) + BODY)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    server = await Upstream().start()
    yield server
    await server.close()


async def proxy_for(upstream: Upstream, plan: FaultPlan) -> FaultProxy:
    return await FaultProxy(("127.0.0.1", upstream.port), random.Random(7), plan).start()


async def fetch(proxy: FaultProxy) -> httpx.Response:
    async with httpx.AsyncClient(timeout=5, verify=False) as client:
        return await client.get(proxy.url + "/")


async def test_passthrough_forwards_everything(upstream: Upstream) -> None:
    proxy = await proxy_for(upstream, FaultPlan.passthrough())
    try:
        for _ in range(3):
            response = await fetch(proxy)
            assert response.status_code == 200 and response.content == BODY
        assert upstream.requests == 3
        faults = {k: v for k, v in proxy.stats.items()
                  if not k.startswith(("chunks_", "bytes_", "connections"))}
        assert faults == {}
    finally:
        await proxy.close()


@pytest.mark.parametrize("fault", ["truncate", "reset_response"])
async def test_a_cut_response_reaches_the_server_but_not_the_client(upstream: Upstream,
                                                                    fault: str) -> None:
    proxy = await proxy_for(upstream, FaultPlan(**{fault: 1.0}))
    try:
        with pytest.raises(httpx.TransportError):
            await fetch(proxy)
        assert upstream.requests == 1  # the server did the work; the answer was lost
        assert proxy.stats[fault] == 1
    finally:
        await proxy.close()


async def test_a_reset_request_never_completes_on_the_server(upstream: Upstream) -> None:
    proxy = await proxy_for(upstream, FaultPlan(reset_request=1.0))
    try:
        with pytest.raises(httpx.TransportError):
            await fetch(proxy)
        await asyncio.sleep(0.05)
        assert upstream.requests == 0
        assert proxy.stats["reset_request"] == 1
    finally:
        await proxy.close()


async def test_a_rejected_connection_never_reaches_the_server(upstream: Upstream) -> None:
    proxy = await proxy_for(upstream, FaultPlan(reject=1.0))
    try:
        with pytest.raises(httpx.TransportError):
            await fetch(proxy)
        assert upstream.connections == 0 and proxy.stats["reject"] == 1
    finally:
        await proxy.close()


async def test_a_refusal_window_refuses_then_listens_again_on_the_same_port(
        upstream: Upstream) -> None:
    proxy = await proxy_for(upstream, FaultPlan.passthrough())
    port = proxy.port
    try:
        window = asyncio.create_task(proxy.refuse_for(0.3))
        await asyncio.sleep(0.05)
        with pytest.raises(httpx.ConnectError):
            await fetch(proxy)
        await window
        assert proxy.port == port
        assert (await fetch(proxy)).content == BODY
    finally:
        await proxy.close()


async def test_stalls_and_delays_hold_the_bytes_then_deliver_them(upstream: Upstream) -> None:
    proxy = await proxy_for(upstream, FaultPlan(stall=1.0, stall_ms=(150.0, 150.0)))
    try:
        started = time.monotonic()
        response = await fetch(proxy)
        assert response.content == BODY
        assert time.monotonic() - started >= 0.3  # one stall each way at least
        assert proxy.stats["stall"] >= 2
    finally:
        await proxy.close()


async def test_drop_connections_cuts_what_is_open(upstream: Upstream) -> None:
    proxy = await proxy_for(upstream, FaultPlan(stall=1.0, stall_ms=(500.0, 500.0)))
    try:
        request = asyncio.create_task(fetch(proxy))
        await asyncio.sleep(0.1)
        assert proxy.drop_connections() == 1
        with pytest.raises(httpx.TransportError):
            await request
    finally:
        await proxy.close()


def test_only_loopback() -> None:
    with pytest.raises(ValueError):
        FaultProxy(("10.1.2.3", 80), random.Random(1))
    with pytest.raises(ValueError):
        FaultProxy(("127.0.0.1", 80), random.Random(1), host="0.0.0.0")
