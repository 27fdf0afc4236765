"""Servers for the app tests, on loopback.

* :class:`RestartableServer`: a seeded server (``servers.seed``: teams, services, one user per
  role) over a SQLite file, run as ``incidenttui server`` on a fixed port, that can be
  stopped and started again with the same data, so a test can take the network away from a
  running app and give it back.
* :func:`build_demo_store`: a client store synced once from the demo server at a fixed time,
  the deterministic cache that the offline and snapshot tests open.
* :func:`blackhole` and :func:`refused_port`: a server that accepts and never answers, and a
  port where nothing listens.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

API = "/api/v1"


class RestartableServer:
    """``incidenttui server`` as a subprocess on a port kept across restarts.

    A subprocess, not a thread: Pilot waits for the process to go idle after each key, and a
    server in the test process (long-polls, database work) keeps it busy.
    """

    def __init__(self, db_url: str, tokens: dict[str, str]) -> None:
        self.db_url = db_url
        self.tokens = tokens
        self.port = 0
        self.url = ""
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: Path | None = None
        self._clients: dict[str, httpx.Client] = {}

    @classmethod
    def seeded(cls, directory: Path) -> RestartableServer:
        from servers import seed  # type: ignore[import-not-found]

        db_url = f"sqlite:///{directory / 'server.db'}"
        server = cls(db_url, seed(db_url))
        server._log = directory / "server.log"
        return server

    def start(self, attempts: int = 5) -> RestartableServer:
        from servers import wait_healthy  # type: ignore[import-not-found]

        fixed = bool(self.port)
        for _ in range(attempts):
            if not fixed:
                self.port = refused_port()
            self.url = f"http://127.0.0.1:{self.port}"
            log = open(self._log or os.devnull, "ab")  # noqa: SIM115
            try:
                self._proc = subprocess.Popen(
                    [sys.executable, "-m", "incidenttui", "server", "--db", self.db_url,
                     "--host", "127.0.0.1", "--port", str(self.port)],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=log)
            finally:
                log.close()
            try:
                wait_healthy(self.url, timeout=30, proc=self._proc)
                return self
            except RuntimeError:
                self.stop()
                if fixed:
                    time.sleep(0.2)  # the old socket may linger a moment
        raise RuntimeError(f"the test server did not start on {self.url}")

    def stop(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()
        from servers import stop_process  # type: ignore[import-not-found]

        proc, self._proc = self._proc, None
        stop_process(proc)

    def client(self, role: str = "responder") -> httpx.Client:
        """A kept-alive client authenticated as ``role`` (closed by :meth:`stop`)."""
        if role not in self._clients:
            self._clients[role] = httpx.Client(
                base_url=self.url, timeout=30,
                headers={"Authorization": f"Bearer {self.tokens[role]}"})
        return self._clients[role]

    # -- what tests do through the API ------------------------------------------------------

    def create(self, title: str, role: str = "responder", **fields: Any) -> dict[str, Any]:
        body = {"id": str(uuid.uuid4()), "title": title, "service": "checkout",
                "category": "availability", "impact": 2, "urgency": 2, **fields}
        response = self.client(role).post(f"{API}/incidents", json=body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def act(self, incident_id: str, action: str, role: str = "responder",
            **body: Any) -> dict[str, Any]:
        response = self.client(role).post(f"{API}/incidents/{incident_id}/{action}",
                                          json=body or None)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def note(self, incident_id: str, text: str, role: str = "responder") -> dict[str, Any]:
        response = self.client(role).post(f"{API}/incidents/{incident_id}/notes",
                                          json={"id": str(uuid.uuid4()), "text": text})
        assert response.status_code == 201, response.text
        return dict(response.json())

    def patch(self, incident_id: str, role: str = "responder", **fields: Any
              ) -> dict[str, Any]:
        current = self.get(incident_id)
        response = self.client(role).patch(f"{API}/incidents/{incident_id}",
                                           json={"base_version": current["version"], **fields})
        assert response.status_code == 200, response.text
        return dict(response.json())

    def get(self, incident_id: str) -> dict[str, Any]:
        response = self.client().get(f"{API}/incidents/{incident_id}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    def timeline(self, incident_id: str) -> list[dict[str, Any]]:
        response = self.client().get(f"{API}/incidents/{incident_id}/timeline")
        assert response.status_code == 200, response.text
        return list(response.json())


# -- a deterministic cache ------------------------------------------------------------------


async def sync_store_async(store: Any, url: str, token: str) -> None:
    """One sync cycle of ``store`` with the server at ``url``: push the outbox, pull."""
    from incidenttui.sync.client import ApiClient
    from incidenttui.sync.engine import SyncEngine

    client = ApiClient(url, token)
    try:
        await SyncEngine(store, client).sync_once()
    finally:
        await client.aclose()


def sync_store(store: Any, url: str, token: str) -> None:
    """:func:`sync_store_async` from code outside any running event loop."""
    asyncio.run(sync_store_async(store, url, token))


def build_demo_store(path: Path, now: datetime) -> dict[str, Any]:
    """Sync the demo data set, seeded at ``now``, into a new store at ``path``."""
    from incidenttui.demo.run import DemoServer
    from incidenttui.store import Store

    with DemoServer(now=now) as demo:
        store = Store(path)
        try:
            sync_store(store, demo.url, demo.token)
        finally:
            store.close()
        return {"user": demo.user}


def copy_store(template: Path, target: Path) -> Path:
    """A private copy of a store file (the SQLite backup API: WAL content included)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(template)
    dest = sqlite3.connect(target)
    try:
        source.backup(dest)
    finally:
        dest.close()
        source.close()
    return target


# -- servers that are not there ---------------------------------------------------------------


def refused_port() -> int:
    """A loopback port with nothing listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def blackhole() -> Iterator[str]:
    """A loopback URL whose server accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def hold() -> None:
        sock.settimeout(0.1)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                conn, _ = sock.accept()
                accepted.append(conn)

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(2)
        for conn in accepted:
            conn.close()
        sock.close()
