"""A fault-injecting TCP proxy for the reliability tests (loopback only).

``FaultProxy`` listens on 127.0.0.1 and forwards each accepted connection to an upstream
server, byte for byte, except where its :class:`FaultPlan` says otherwise. Every decision is
drawn from a ``random.Random`` the test seeds, so a schedule can be replayed from its seed (as
far as the operating system's timing allows):

* per new connection: ``reject`` (accept, then reset before a byte is forwarded);
* per chunk, both directions: ``delay`` (a few ms), ``stall`` (hold it for tens to hundreds of
  ms), ``long_stall`` (hold it past the client's deadline, then forward it anyway: the request
  may reach the server after the client gave up);
* per chunk from the client: ``reset_request`` (forward a random prefix, then RST both ways);
* per chunk from the server: ``reset_response`` (a prefix, then RST) and ``truncate`` (a prefix,
  then a clean close: the response ends early);
* :meth:`FaultProxy.refuse_for`: close the listening socket for a while (connections are
  refused), then listen again on the same port.

``stats`` counts connections, chunks, bytes and every fault injected, by type (and
``upstream_unreachable``: connections it could not forward because the server was down).

The proxy runs on the caller's event loop (``await proxy.start()``), or in a thread of its own
with :class:`ThreadedFaultProxy` for synchronous tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

LOOPBACK = ("127.0.0.1", "::1", "localhost")

#: The fault types a plan can draw, in the order they are tried for a chunk.
CHUNK_FAULTS = ("reset_request", "reset_response", "truncate", "long_stall", "stall", "delay")


@dataclass(frozen=True)
class FaultPlan:
    """Probabilities of each fault (0 … 1) and their sizes."""

    reject: float = 0.0  # per connection
    delay: float = 0.0  # per chunk
    stall: float = 0.0
    long_stall: float = 0.0
    reset_request: float = 0.0  # per chunk, client -> server
    reset_response: float = 0.0  # per chunk, server -> client
    truncate: float = 0.0  # per chunk, server -> client
    delay_ms: tuple[float, float] = (1.0, 8.0)
    stall_ms: tuple[float, float] = (30.0, 250.0)
    long_stall_s: float = 2.0

    @classmethod
    def passthrough(cls) -> FaultPlan:
        return cls()

    def scaled(self, factor: float) -> FaultPlan:
        """The same plan with every probability multiplied by ``factor`` (capped at 1)."""
        names = ("reject", *CHUNK_FAULTS)
        return replace(self, **{n: min(1.0, getattr(self, n) * factor) for n in names})

    @property
    def quiet(self) -> bool:
        return not any(getattr(self, n) for n in ("reject", *CHUNK_FAULTS))


def _set_nodelay(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close abruptly: SO_LINGER 0 makes the kernel send RST instead of FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class _Link:
    """One proxied connection: the client side, the server side, and whether it is over."""

    def __init__(self, client: asyncio.StreamWriter) -> None:
        self.client = client
        self.server: asyncio.StreamWriter | None = None
        self.dead = False

    def kill(self, abrupt: bool) -> None:
        if self.dead:
            return
        self.dead = True
        for writer in (self.client, self.server):
            if writer is None:
                continue
            if abrupt:
                _reset(writer)
            else:
                with contextlib.suppress(Exception):
                    writer.close()


class FaultProxy:
    """A TCP proxy from ``127.0.0.1:port`` to ``upstream`` with a programmable fault plan."""

    def __init__(self, upstream: tuple[str, int], rng: random.Random,
                 plan: FaultPlan | None = None, *, host: str = "127.0.0.1") -> None:
        if host not in LOOPBACK or upstream[0] not in LOOPBACK:
            raise ValueError("the fault proxy only works on loopback")
        self.upstream = upstream
        self.host = host
        self.rng = rng
        self.plan = plan or FaultPlan.passthrough()
        self.port = 0
        self.stats: Counter[str] = Counter()
        self._server: asyncio.base_events.Server | None = None
        self._links: set[_Link] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._refusing = False
        self._closed = False

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self, port: int = 0) -> FaultProxy:
        self._server = await asyncio.start_server(self._handle, self.host, port,
                                                  reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        self._closed = True
        if self._server is not None:
            self._server.close()
            self._server = None
        self.drop_connections()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task

    def set_plan(self, plan: FaultPlan) -> None:
        self.plan = plan

    def drop_connections(self, abrupt: bool = True) -> int:
        """Cut every open connection now; returns how many."""
        links = list(self._links)
        for link in links:
            link.kill(abrupt)
        return len(links)

    async def refuse_for(self, seconds: float) -> None:
        """Stop listening (connections are refused) for ``seconds``, then listen again."""
        if self._server is None or self._refusing or self._closed:
            return
        self._refusing = True
        self.stats["refuse_window"] += 1
        self._server.close()
        self._server = None
        try:
            await asyncio.sleep(seconds)
        finally:
            for attempt in range(1000):  # TIME_WAIT is no obstacle; a live socket may be
                if self._closed:
                    break
                try:
                    self._server = await asyncio.start_server(
                        self._handle, self.host, self.port, reuse_address=True)
                    break
                except OSError:
                    if attempt == 999:
                        raise
                    await asyncio.sleep(0.01)
            self._refusing = False

    # -- forwarding ------------------------------------------------------------------------

    def _chance(self, p: float) -> bool:
        return p > 0 and self.rng.random() < p

    async def _handle(self, creader: asyncio.StreamReader, cwriter: asyncio.StreamWriter
                      ) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        link = _Link(cwriter)
        self._links.add(link)
        self.stats["connections"] += 1
        try:
            plan = self.plan
            if self._chance(plan.reject):
                self.stats["reject"] += 1
                link.kill(abrupt=True)
                return
            try:
                sreader, swriter = await asyncio.wait_for(
                    asyncio.open_connection(*self.upstream), 2.0)
            except (OSError, TimeoutError):
                self.stats["upstream_unreachable"] += 1
                link.kill(abrupt=True)
                return
            link.server = swriter
            _set_nodelay(cwriter)
            _set_nodelay(swriter)
            await asyncio.gather(self._pump(creader, swriter, link, "up"),
                                 self._pump(sreader, cwriter, link, "down"))
            link.kill(abrupt=False)
        except asyncio.CancelledError:
            link.kill(abrupt=True)
        finally:
            self._links.discard(link)
            if task is not None:
                self._tasks.discard(task)

    def _draw(self, direction: str) -> str:
        plan = self.plan
        for name in CHUNK_FAULTS:
            if name == "reset_request" and direction != "up":
                continue
            if name in ("reset_response", "truncate") and direction != "down":
                continue
            if self._chance(getattr(plan, name)):
                return name
        return "pass"

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    link: _Link, direction: str) -> None:
        try:
            while not link.dead:
                data = await reader.read(65536)
                if not data:
                    if not link.dead and writer.can_write_eof():
                        with contextlib.suppress(OSError, RuntimeError):
                            writer.write_eof()
                    return
                self.stats[f"chunks_{direction}"] += 1
                self.stats[f"bytes_{direction}"] += len(data)
                plan = self.plan
                fault = self._draw(direction)
                if fault != "pass":
                    self.stats[fault] += 1
                if fault == "delay":
                    await asyncio.sleep(self.rng.uniform(*plan.delay_ms) / 1000)
                elif fault == "stall":
                    await asyncio.sleep(self.rng.uniform(*plan.stall_ms) / 1000)
                elif fault == "long_stall":
                    await asyncio.sleep(plan.long_stall_s * self.rng.uniform(1.0, 1.2))
                elif fault in ("reset_request", "reset_response", "truncate"):
                    cut = self.rng.randrange(len(data))
                    if cut:
                        writer.write(data[:cut])
                        with contextlib.suppress(OSError, ConnectionError):
                            await writer.drain()
                    link.kill(abrupt=fault != "truncate")
                    return
                if link.dead:
                    return
                writer.write(data)
                await writer.drain()
        except (OSError, ConnectionError, RuntimeError):
            link.kill(abrupt=True)


class ThreadedFaultProxy:
    """A :class:`FaultProxy` on an event loop in a daemon thread, for synchronous tests."""

    def __init__(self, upstream: tuple[str, int], rng: random.Random,
                 plan: FaultPlan | None = None) -> None:
        self.proxy = FaultProxy(upstream, rng, plan)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name="fault-proxy")

    def start(self) -> ThreadedFaultProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.proxy.start(), self._loop).result(10)
        return self

    @property
    def url(self) -> str:
        return self.proxy.url

    @property
    def stats(self) -> Counter[str]:
        return self.proxy.stats

    def set_plan(self, plan: FaultPlan) -> None:
        self._loop.call_soon_threadsafe(self.proxy.set_plan, plan)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.proxy.close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def __enter__(self) -> ThreadedFaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def threaded_proxy(upstream: tuple[str, int], seed: int, plan: FaultPlan | None = None
                   ) -> Iterator[ThreadedFaultProxy]:
    with ThreadedFaultProxy(upstream, random.Random(seed), plan) as proxy:
        yield proxy
