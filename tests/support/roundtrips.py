"""A TCP proxy that counts round trips between a client (our server) and PostgreSQL.

A round trip is a point where the client waits for the database: in the wire protocol, a
``Sync`` (the end of one statement, or of a pipeline, which the client then waits on) or a
simple ``Query``. Statements sent together in one pipeline end in one ``Sync``; each
statement that waits for its answer before the next is sent ends in one of its own. The
proxy parses the client's messages and counts those: a figure that does not move with the
machine's load, unlike requests per second. (A pipeline's ``Flush`` asks for results so far
without waiting for them; it is not counted.)
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager

#: Client messages after which it waits for the server: Sync, Query.
WAITS = frozenset(b"SQ")
_SSL_REQUEST = 80877103
_GSS_REQUEST = 80877104


class RoundTripProxy:
    """Forwards ``127.0.0.1:port`` to ``upstream`` and counts the client's round trips."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._trips = 0
        self._closing = False
        threading.Thread(target=self._accept, daemon=True, name="rt-proxy").start()

    @property
    def trips(self) -> int:
        with self._lock:
            return self._trips

    @contextmanager
    def counting(self) -> Iterator[list[int]]:
        """Count the round trips of the block; the list holds the count once it ends."""
        start = self.trips
        counted: list[int] = []
        yield counted
        counted.append(self.trips - start)

    def close(self) -> None:
        self._closing = True
        with contextlib.suppress(OSError):
            self._listener.close()

    def _accept(self) -> None:
        while not self._closing:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()

    def _pump(self, client: socket.socket, server: socket.socket) -> None:
        messages = _Messages()
        try:
            while True:
                readable, _, _ = select.select([client, server], [], [])
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    if sock is client:
                        waits = messages.feed(data)
                        if waits:
                            with self._lock:
                                self._trips += waits
                        server.sendall(data)
                    else:
                        client.sendall(data)
        except OSError:
            return
        finally:
            client.close()
            server.close()


class _Messages:
    """The client's side of the protocol, split into messages."""

    def __init__(self) -> None:
        self.buffer = b""
        self.started = False  # past the untyped start-up messages

    def feed(self, data: bytes) -> int:
        """Take ``data``; how many messages it completed that the client then waits on."""
        self.buffer += data
        waits = 0
        while True:
            if not self.started:
                if len(self.buffer) < 8:
                    return waits
                length, code = struct.unpack("!II", self.buffer[:8])
                if len(self.buffer) < length:
                    return waits
                self.buffer = self.buffer[length:]
                self.started = code not in (_SSL_REQUEST, _GSS_REQUEST)
                continue
            if len(self.buffer) < 5:
                return waits
            kind = self.buffer[0]
            (length,) = struct.unpack("!I", self.buffer[1:5])
            if len(self.buffer) < 1 + length:
                return waits
            self.buffer = self.buffer[1 + length:]
            waits += kind in WAITS
