"""``incidenttui demo``: a seeded server in-process on loopback, in a throwaway directory.

:class:`DemoServer` is the reusable part (the app and the tests run on it): a temporary
SQLite database with the demo data set and a ``demo`` user, served by uvicorn in a background
thread. :func:`run_demo` is the command: it starts one, prints how to connect, and serves
until Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, TextIO

from incidenttui.config import ENV_SERVER, ENV_TOKEN
from incidenttui.domain import Role

#: The demo user: a responder on the service desk, where new incidents arrive.
DEMO_USER = "demo"
DEMO_TEAM = "service-desk"
DEMO_ROLE = Role.RESPONDER
#: How long start() waits for uvicorn to accept connections.
START_TIMEOUT = 30.0
#: How long stop() waits for uvicorn to finish (graceful shutdown is capped at 3 s).
STOP_TIMEOUT = 10.0


class DemoServer:
    """A seeded incidenttui server on loopback, backed by a temporary directory.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`::

        with DemoServer() as demo:
            httpx.get(f"{demo.url}/api/v1/incidents",
                      headers={"Authorization": f"Bearer {demo.token}"})

    ``port=0`` picks a free port. After :meth:`start`, ``url``, ``token`` (the demo user's
    bearer token), ``db`` (the :class:`~incidenttui.server.db.Database`) and ``directory``
    are set; :meth:`stop` shuts the server down and removes the directory.
    """

    def __init__(self, port: int = 0, host: str = "127.0.0.1", *,
                 now: datetime | None = None, seed: int = 7,
                 log_level: str = "warning", quiet: bool = False,
                 as_user: str | None = None) -> None:
        self.host = host
        self.quiet = quiet  # log through the root logger (to a file) instead of stderr
        self.port = port
        self.now = now
        self.seed = seed
        self.log_level = log_level
        self.url = ""
        self.token = ""
        #: a seeded user to be instead of the demo responder (e.g. ``noah.fischer`` of the
        #: security team, who sees the restricted security incidents)
        self.as_user = as_user
        self.user = DEMO_USER
        self.role = DEMO_ROLE.value
        self.team: str | None = DEMO_TEAM
        self.db: Any = None  # incidenttui.server.db.Database once started
        self.directory: Path | None = None
        self._server: Any = None  # uvicorn.Server
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._error: BaseException | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> DemoServer:
        """Create, seed and serve the demo database; return once it accepts connections.

        Raises ``OSError`` if the port cannot be bound and ``RuntimeError`` if the server
        does not come up; either way nothing is left behind.
        """
        if self._thread is not None:
            raise RuntimeError("the demo server is already running")
        try:
            self._prepare()
            self._serve()
        except BaseException:
            self.stop()
            raise
        return self

    def _prepare(self) -> None:
        from incidenttui.demo.seed import seed_demo
        from incidenttui.server.auth import create_user
        from incidenttui.server.db import Database
        from incidenttui.server.service import record_directory

        self.directory = Path(tempfile.mkdtemp(prefix="incidenttui-demo-"))
        self.db = Database(f"sqlite:///{self.directory / 'server.db'}")
        self.db.migrate()
        seed_demo(self.db, now=self.now, seed=self.seed)
        with self.db.write() as session:
            if self.as_user is not None:
                from incidenttui.server.models import User
                from incidenttui.server.tokens import create_token

                seeded = session.get(User, self.as_user)
                if seeded is None:
                    raise ValueError(f"no demo user {self.as_user!r}")
                _token, self.token = create_token(session, seeded.id, "demo")
                self.user, self.role, self.team = seeded.id, seeded.role, seeded.team_id
                return
            user, self.token = create_user(session, DEMO_USER, DEMO_ROLE, DEMO_TEAM,
                                           display_name="Demo Responder",
                                           email=f"{DEMO_USER}@shop.example")
            record_directory(session, [user])

    def _serve(self) -> None:
        from incidenttui.server.app import create_app
        from incidenttui.server.serve import ApiServer

        # Seeded at a fixed moment (tests, screenshots), its clocks are in the past: the
        # policies would all fire at once against the real clock, so they do not run.
        app = create_app(self.db, migrate=False, run_policies=self.now is None)
        # Bind here, not in uvicorn, so port 0 resolves before the thread starts and a busy
        # port fails in the caller with a plain OSError.
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET,
                             socket.SOCK_STREAM)
        self._socket = sock
        if sys.platform != "win32":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # uvicorn sets TCP_NODELAY only on sockets it binds itself; without it every
        # keep-alive request waits ~40 ms for delayed ACKs. Accepted sockets inherit it.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.url = f"http://{host}:{self.port}"
        extra: dict[str, Any] = {"log_config": None} if self.quiet else {}
        self._server = ApiServer(app, host=self.host, port=self.port, log_level=self.log_level,
                                 access_log=False, lifespan="on", timeout_graceful_shutdown=3,
                                 **extra)
        self._thread = threading.Thread(target=self._run, args=(sock,),
                                        name="incidenttui-demo-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"the demo server failed to start: {self._error!r}")
            if time.monotonic() > deadline:
                raise RuntimeError("the demo server did not start in time")
            time.sleep(0.01)

    def _run(self, sock: socket.socket) -> None:
        try:
            self._server.run(sockets=[sock])
        except BaseException as exc:  # reported by start() or .running
            self._error = exc

    @property
    def running(self) -> bool:
        """Whether the server thread is up and serving."""
        return (self._thread is not None and self._thread.is_alive()
                and bool(self._server and self._server.started))

    def stop(self) -> None:
        """Shut the server down, close the database and remove the temporary directory.

        Safe to call more than once, and after a failed :meth:`start`.
        """
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(STOP_TIMEOUT)
            if self._thread.is_alive() and self._server is not None:
                self._server.force_exit = True
                self._thread.join(STOP_TIMEOUT)
        if self._socket is not None:
            self._socket.close()
        if self.db is not None:
            self.db.dispose()
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
        self._server = self._thread = self._socket = None
        self.db = self.directory = None

    def __enter__(self) -> DemoServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def print_banner(demo: DemoServer, out: TextIO) -> None:
    """Tell the user where the demo runs, who they are, and how to point a client at it."""
    out.write(
        f"incidenttui demo server: {demo.url}\n"
        f"  user:  {demo.user} ({demo.role}, team {demo.team})\n"
        f"  token: {demo.token}\n"
        f"  data:  {demo.directory} (temporary; removed on exit)\n"
        f"  status page: {demo.url}/status (also /status.json, /status/feed.atom)\n"
        "\n"
        "Point a client at it:\n"
        f"  export {ENV_SERVER}={demo.url}\n"
        f"  export {ENV_TOKEN}={demo.token}\n"
        "\n"
        "Press Ctrl-C to stop.\n")
    out.flush()


def run_demo(port: int = 0, serve_only: bool = False, as_user: str | None = None) -> int:
    """Run the demo server until Ctrl-C or SIGTERM; return the exit code.

    Starts a :class:`DemoServer` on 127.0.0.1 (``port`` 0 picks a free port), prints the
    URL, the demo user's token and the ``INCIDENTTUI_SERVER`` / ``INCIDENTTUI_TOKEN`` lines
    that point a client at it, then serves until interrupted, shuts down cleanly and removes
    the temporary data.

    Unless ``serve_only``, the Textual app opens on it, logged in as the demo responder; the
    server stops when the app quits.
    """
    if not serve_only:
        return _demo_app(port, as_user)
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, on_signal)
    try:
        try:
            demo = DemoServer(port=port, as_user=as_user).start()
        except ValueError as exc:
            print(f"incidenttui demo: {exc}", file=sys.stderr)
            return 2
        except OSError as exc:
            print(f"incidenttui demo: cannot listen on 127.0.0.1:{port}: "
                  f"{exc.strerror or exc}", file=sys.stderr)
            return 1
        try:
            print_banner(demo, sys.stdout)
            while not stop.wait(0.2):
                if not demo.running:
                    print("incidenttui demo: the server stopped unexpectedly", file=sys.stderr)
                    return 1
        finally:
            demo.stop()
        print("incidenttui demo: stopped; temporary data removed", file=sys.stderr)
        return 0
    finally:
        for sig, handler in previous.items():
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(sig, handler)


def _demo_app(port: int, as_user: str | None = None) -> int:
    """The app on a fresh demo server; server logs go to a file, never over the screen."""
    import logging

    from incidenttui.cli import run_app

    try:
        demo = DemoServer(port=port, quiet=True, as_user=as_user).start()
    except ValueError as exc:
        print(f"incidenttui demo: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"incidenttui demo: cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}",
              file=sys.stderr)
        return 1
    try:
        assert demo.directory is not None
        log_file = demo.directory / "incidenttui.log"
        logging.basicConfig(filename=log_file, level=logging.WARNING, force=True)
        return run_app(demo.url, demo.token, demo.directory / "client" / "store.db")
    finally:
        demo.stop()
