"""Real incidenttui servers for the API tests, on loopback.

* :class:`ThreadedServer` serves ``create_app(url)`` with uvicorn in a background thread of the
  test process (fast; the tests may also reach the same database directly).
* :class:`CliServer` runs ``python -m incidenttui server --db URL --host --port`` as a
  subprocess, exactly as an operator would.

Both are seeded with :func:`seed` (teams, services and one user per role) and expose the same
:class:`LiveServer` surface: ``base_url``, ``tokens[role]`` and ``client(role)``.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

#: The databases every API test runs on (``-m "not postgres"`` deselects PostgreSQL).
DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]

ROLES = ("viewer", "responder", "commander", "admin")

#: id -> (name, level)
TEAMS = {
    "service-desk": ("Service desk L1", 1),
    "platform": ("Platform", 2),
    "payments-experts": ("Payments experts", 2),
    "network": ("Network", 2),
    "security": ("Security", 3),
    "management": ("Management", 3),
}
#: id -> (name, owning team)
SERVICES = {
    "checkout": ("Checkout", "service-desk"),
    "payments": ("Payments", "payments-experts"),
    "storefront": ("Storefront", "platform"),
    "search": ("Search", None),
}
#: role -> user id
USERS = {"viewer": "vera", "responder": "rita", "commander": "cora", "admin": "adam"}
#: a second responder, for "another user did it" tests
OTHER_RESPONDER = "ray"


@dataclass
class LiveServer:
    """A running server and everything a test needs to talk to it."""

    kind: str  # "sqlite" | "postgres"
    db_url: str
    base_url: str
    tokens: dict[str, str]  # role (and "other") -> bearer token
    users: dict[str, str] = field(default_factory=lambda: dict(USERS))
    _database: Any = None
    #: the server's FastAPI app, for white-box switches (``app.state``)
    app: Any = None

    def headers(self, role: str | None = "responder") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}

    def client(self, role: str | None = "responder", **kwargs: Any) -> httpx.Client:
        """An httpx client on the server, authenticated as ``role`` (None: anonymous)."""
        kwargs.setdefault("timeout", 30.0)
        headers = {**self.headers(role), **kwargs.pop("headers", {})}
        return httpx.Client(base_url=self.base_url, headers=headers, **kwargs)

    @property
    def database(self) -> Any:
        """A :class:`incidenttui.server.db.Database` on the server's database (for white-box
        checks and for writes made outside HTTP)."""
        if self._database is None:
            from incidenttui.server.db import Database

            self._database = Database(self.db_url)
        return self._database

    def add_service(self, service_id: str | None = None, team: str | None = "platform") -> str:
        """Add a service (e.g. one per test, to list only that test's incidents); return its id."""
        from incidenttui.server.models import Service
        from incidenttui.server.service import record_directory

        service_id = service_id or f"svc-{uuid.uuid4().hex[:12]}"
        with self.database.write() as session:
            row = Service(id=service_id, name=service_id, team_id=team)
            session.add(row)
            record_directory(session, [row])
        return service_id

    def set_active(self, user_id: str, active: bool) -> None:
        from incidenttui.server.models import User

        with self.database.write() as session:
            user = session.get(User, user_id)
            assert user is not None
            user.active = active
            session.add(user)

    def close(self) -> None:
        if self._database is not None:
            self._database.dispose()
            self._database = None


# -- seeding ------------------------------------------------------------------------------


def seed(db_url: str) -> dict[str, str]:
    """Migrate the database, add teams, services and one user per role; return the tokens."""
    from incidenttui.server.auth import create_user
    from incidenttui.server.db import Database
    from incidenttui.server.models import Service, Team
    from incidenttui.server.service import record_directory

    db = Database(db_url)
    try:
        db.migrate()
        tokens: dict[str, str] = {}
        with db.write() as session:
            rows: list[Any] = []
            for team_id, (name, level) in TEAMS.items():
                rows.append(Team(id=team_id, name=name, level=level))
            for service_id, (name, team) in SERVICES.items():
                rows.append(Service(id=service_id, name=name, team_id=team))
            session.add_all(rows)
            session.flush()
            for role, name in USERS.items():
                user, tokens[role] = create_user(session, name, role, team="service-desk")
                rows.append(user)
            user, tokens["other"] = create_user(session, OTHER_RESPONDER, "responder",
                                                team="platform")
            rows.append(user)
            record_directory(session, rows)
        return tokens
    finally:
        db.dispose()


# -- running ------------------------------------------------------------------------------


def wait_healthy(base_url: str, timeout: float = 30.0, proc: subprocess.Popen | None = None
                 ) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.05)
    raise RuntimeError(f"server at {base_url} not healthy after {timeout}s: {last}")


def _plain_traceback(exc: BaseException) -> str:
    """A traceback without Python 3.11's ``^^^^`` markers.

    Rendering those markers calls ``ast.parse``, which in CPython 3.11 is not safe to run in
    two threads at once ("SystemError: AST constructor recursion depth mismatch"): a server
    thread logging a 500 while pytest renders a failure in the main thread can crash pytest
    itself (INTERNALERROR). ``extract_tb`` only reads source lines.
    """
    chain: list[BaseException] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append(current)
        current = current.__cause__ or (None if current.__suppress_context__
                                        else current.__context__)
    parts = []
    for item in reversed(chain):
        frames = "".join(f'  File "{f.filename}", line {f.lineno}, in {f.name}\n'
                         f"    {(f.line or '').strip()}\n"
                         for f in traceback.extract_tb(item.__traceback__))
        parts.append(f"Traceback (most recent call last):\n{frames}"
                     f"{type(item).__module__}.{type(item).__qualname__}: {item}\n")
    return "\nThe above exception led to the following exception:\n\n".join(parts)


class _PlainFormatter(logging.Formatter):
    def formatException(self, ei) -> str:  # type: ignore[no-untyped-def]  # noqa: N802
        return _plain_traceback(ei[1]) if ei and ei[1] is not None else ""


def _server_logging() -> None:
    """uvicorn's and the server's loggers write to stderr with plain tracebacks, and stay out
    of pytest's capture handlers (which would render them with ``ast.parse`` in the server
    thread). Handlers that anything else installed (uvicorn's default dictConfig, run by
    any in-process uvicorn.Config with the default log_config) are replaced."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_PlainFormatter("%(levelname)s [%(name)s] %(message)s"))
    for name in ("uvicorn", "incidenttui"):
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.setLevel(logging.WARNING)
        logger.propagate = False
    for name in ("uvicorn.error", "uvicorn.access", "uvicorn.asgi"):
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.setLevel(logging.NOTSET)
        logger.propagate = True


class ThreadedServer:
    """``create_app(db_url)`` on uvicorn in a daemon thread, on a socket bound to port 0."""

    def __init__(self, db_url: str, auth_limiter: Any = None) -> None:
        import uvicorn

        from incidenttui.server.app import create_app
        from incidenttui.server.ratelimit import FailureLimiter

        # Tests send bad tokens on purpose from one address (loopback): the default limit
        # would refuse the next test's good ones. The rate-limit tests pass their own.
        limiter = auth_limiter if auth_limiter is not None else FailureLimiter(1_000_000)
        self.app = create_app(db_url, auth_limiter=limiter)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted sockets inherit this; without it every keep-alive request waits ~40 ms
        # (Nagle + delayed ACK), which asyncio only avoids for sockets it creates itself.
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        _server_logging()
        config = uvicorn.Config(self.app, log_config=None, log_level="warning", lifespan="on",
                                timeout_graceful_shutdown=1, access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       name=f"uvicorn-{self.port}", daemon=True)

    def start(self) -> ThreadedServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        wait_healthy(self.base_url)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.sock.close()
        self.app.state.db.dispose()


@contextmanager
def threaded_server(kind: str, db_url: str, auth_limiter: Any = None) -> Iterator[LiveServer]:
    tokens = seed(db_url)
    running = ThreadedServer(db_url, auth_limiter).start()
    live = LiveServer(kind=kind, db_url=db_url, base_url=running.base_url, tokens=tokens,
                      app=running.app)
    try:
        yield live
    finally:
        live.close()
        running.stop()


# -- the CLI ------------------------------------------------------------------------------


def stop_process(proc: subprocess.Popen[Any] | None, timeout: float = 15) -> int | None:
    """SIGTERM, wait, SIGKILL if it is still there; the exit code (None: no process)."""
    if proc is None:
        return None
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)
    return proc.returncode


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120
        ) -> subprocess.CompletedProcess[str]:
    """Run ``python -m incidenttui ARGS`` and return the finished process."""
    return subprocess.run([sys.executable, "-m", "incidenttui", *args], capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})},
                          stdin=subprocess.DEVNULL)


class CliServer:
    """``incidenttui server --db URL --host 127.0.0.1 --port P`` as a subprocess."""

    def __init__(self, db_url: str, env: dict[str, str] | None = None) -> None:
        self.db_url = db_url
        self.env = env or {}
        self.proc: subprocess.Popen[str] | None = None
        self.base_url = ""
        self.stderr_path: str | None = None

    def start(self, attempts: int = 5) -> CliServer:
        from pgcluster import free_port  # type: ignore[import-not-found]

        last: Exception | None = None
        for _ in range(attempts):  # the probed port can be taken before the server binds it
            port = free_port()
            log = os.path.join(os.environ.get("TMPDIR", "/tmp"),
                               f"itui-cli-server-{uuid.uuid4().hex[:8]}.log")
            self.stderr_path = log
            with open(log, "w") as err:
                self.proc = subprocess.Popen(
                    [sys.executable, "-m", "incidenttui", "server", "--db", self.db_url,
                     "--host", "127.0.0.1", "--port", str(port)],
                    stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL, text=True,
                    env={**os.environ, **self.env})
            self.base_url = f"http://127.0.0.1:{port}"
            try:
                wait_healthy(self.base_url, timeout=60, proc=self.proc)
                return self
            except RuntimeError as exc:
                last = exc
                self.stop()
        raise RuntimeError(f"incidenttui server did not come up: {last}\n{self.stderr()}")

    def stderr(self) -> str:
        if self.stderr_path and os.path.exists(self.stderr_path):
            with open(self.stderr_path, errors="replace") as fh:
                return fh.read()
        return ""

    def stop(self, timeout: float = 15) -> int | None:
        """SIGTERM, then wait; return the exit code."""
        return stop_process(self.proc, timeout)

    def cleanup(self) -> None:
        self.stop()
        if self.stderr_path and os.path.exists(self.stderr_path):
            os.unlink(self.stderr_path)
