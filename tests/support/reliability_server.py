"""A real server subprocess for the reliability tests, killed and restarted on the same port.

``ServerProcess`` runs ``python -m incidenttui server --db sqlite:///FILE --port P`` exactly as
an operator would, can be SIGKILLed at any moment and restarted on the same port and database.
``ServerGate`` lets many fault schedules share one server: the schedules that check results
hold it shared, a schedule that kills the server holds it exclusively while the server is
down. ``ServerDB`` reads the server's SQLite file (read-only) for white-box checks.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import httpx
from pgcluster import free_port  # type: ignore[import-not-found]
from servers import seed, wait_healthy  # type: ignore[import-not-found]


class ServerProcess:
    """``incidenttui server`` on a fixed loopback port over one SQLite file."""

    def __init__(self, db_path: Path, log_path: Path, port: int | None = None,
                 pidfile: Path | None = None) -> None:
        self.db_path = db_path
        self.pidfile = pidfile
        self.db_url = f"sqlite:///{db_path}"
        self.log_path = log_path
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.tokens: dict[str, str] = {}
        self.starts = 0
        self.kills = 0

    def seed(self) -> dict[str, str]:
        self.tokens = seed(self.db_url)
        return self.tokens

    def start(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen(
                    [sys.executable, "-m", "incidenttui", "server", "--db", self.db_url,
                     "--host", "127.0.0.1", "--port", str(self.port)],
                    stdout=subprocess.DEVNULL, stderr=log, stdin=subprocess.DEVNULL)
            if self.pidfile is not None:
                with open(self.pidfile, "a") as pids:
                    pids.write(f"{self.proc.pid}\n")
            try:
                wait_healthy(self.base_url, timeout=max(1.0, deadline - time.monotonic()),
                             proc=self.proc)
                self.starts += 1
                return
            except RuntimeError:
                # The old socket may linger for a moment after a SIGKILL: try again.
                self.kill(count=False)
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the server did not come back on port {self.port}:\n"
                                       f"{self.log_tail()}") from None
                time.sleep(0.1)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self, count: bool = True) -> None:
        """SIGKILL: no shutdown handlers, no flush; whatever was in flight is cut."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
            if count:
                self.kills += 1

    def restart(self) -> None:
        self.kill()
        self.start()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill(count=False)

    def ensure_up(self) -> None:
        if not self.alive():
            self.start()

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def is_our_server(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"incidenttui" in cmdline and b"server" in cmdline


def kill_leftovers(pidfile: Path) -> int:
    """SIGKILL every server a pid file lists that still runs (workers that died early)."""
    killed = 0
    try:
        pids = [int(line) for line in pidfile.read_text().split() if line.strip()]
    except OSError:
        return 0
    for pid in pids:
        if is_our_server(pid):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
                killed += 1
    return killed


class ServerGate:
    """A readers-writer gate on an event loop: checks share it, a server kill excludes them."""

    def __init__(self) -> None:
        self._cond = asyncio.Condition()
        self._readers = 0
        self._writer = False
        self._writers_waiting = 0

    @contextlib.asynccontextmanager
    async def shared(self) -> AsyncIterator[None]:
        async with self._cond:
            await self._cond.wait_for(lambda: not self._writer and not self._writers_waiting)
            self._readers += 1
        try:
            yield
        finally:
            async with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextlib.asynccontextmanager
    async def exclusive(self) -> AsyncIterator[None]:
        async with self._cond:
            self._writers_waiting += 1
            try:
                await self._cond.wait_for(lambda: not self._writer and not self._readers)
            finally:
                self._writers_waiting -= 1
            self._writer = True
        try:
            yield
        finally:
            async with self._cond:
                self._writer = False
                self._cond.notify_all()


class ServerDB:
    """Read-only SQL on the server's SQLite file (WAL: reads never block the server)."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path

    def query(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        conn = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=30)
        try:
            return list(conn.execute(sql, tuple(params)))
        finally:
            conn.close()

    def latest_seq(self) -> int:
        return int(self.query("SELECT coalesce(max(seq), 0) FROM changes")[0][0])

    def end_cursor(self) -> str:
        """A cursor token at the feed's end, made with the server's own key (white-box: a
        client would page through the whole feed to get one)."""
        from incidenttui.server.cursors import HORIZON_NAME, KEY_NAME, CursorCodec

        values = dict(self.query("SELECT name, value FROM server_secrets"))
        codec = CursorCodec(bytes.fromhex(values[KEY_NAME]), int(values[HORIZON_NAME]))
        return codec.encode(self.latest_seq())

    def idempotency(self, user: str, keys: Iterable[str]) -> dict[str, tuple[int, str]]:
        """``key -> (status_code, body)`` of the server's idempotency records for ``keys``."""
        keys = list(keys)
        out: dict[str, tuple[int, str]] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            marks = ", ".join("?" * len(chunk))
            for key, status, body in self.query(
                    f"SELECT key, status_code, body FROM idempotency_keys WHERE user_id = ? "
                    f"AND key IN ({marks})", [user, *chunk]):
                out[key] = (int(status), body)
        return out

    def event_transactions(self, event_ids: Iterable[str]) -> dict[str, str]:
        """``event id -> transaction stamp``: the change-feed time of the write that added it
        (one per write transaction, so events of one write share it)."""
        ids = list(event_ids)
        out: dict[str, str] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ", ".join("?" * len(chunk))
            out.update((str(i), str(at)) for i, at in self.query(
                f"SELECT entity_id, at FROM changes WHERE entity = 'event' AND entity_id IN "
                f"({marks})", chunk))
        return out

    def count_incidents(self, ids: Iterable[str]) -> dict[str, int]:
        ids = list(ids)
        if not ids:
            return {}
        marks = ", ".join("?" * len(ids))
        return dict(self.query(f"SELECT id, count(*) FROM incidents WHERE id IN ({marks}) "
                               f"GROUP BY id", ids))


def directory_changes(base_url: str, token: str) -> list[dict[str, Any]]:
    """Teams, users and services as change-feed entries, to prime a fresh client store."""
    out: list[dict[str, Any]] = []
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"},
                      timeout=30) as client:
        for path, entity in (("teams", "team"), ("users", "user"), ("services", "service")):
            response = client.get(f"/api/v1/{path}")
            response.raise_for_status()
            out += [{"entity": entity, "id": row["id"], "data": row} for row in response.json()]
    return out

