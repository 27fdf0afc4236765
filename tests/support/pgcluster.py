"""A private, throwaway PostgreSQL cluster for the test session.

``PgCluster.start()`` runs ``initdb`` into a temporary directory and ``pg_ctl start`` on a free
loopback port with its unix sockets in that directory, so it never touches a system cluster.
As root (CI, the dev containers) the server binaries run as the ``postgres`` OS user, since
PostgreSQL refuses to run as root.

``INCIDENTTUI_TEST_PG_URL`` (e.g. ``postgresql://user:pass@127.0.0.1:5432/postgres``) points the
tests at an existing server instead; its user needs CREATEDB.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ENV_URL = "INCIDENTTUI_TEST_PG_URL"


class PostgresMissing(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


def find_bindir() -> Path:
    """The newest ``/usr/lib/postgresql/*/bin`` (Debian), else wherever ``initdb`` is on PATH."""

    def version(path: str) -> tuple[int, ...]:
        m = re.search(r"/postgresql/([\d.]+)/bin", path)
        return tuple(int(p) for p in m.group(1).split(".")) if m else (0,)

    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version, reverse=True)
    candidates += [p for p in (shutil.which("initdb"),) if p]
    for initdb in candidates:
        bindir = Path(initdb).resolve().parent
        if (bindir / "pg_ctl").exists():
            return bindir
    raise PostgresMissing("PostgreSQL is not installed: no initdb/pg_ctl in "
                          "/usr/lib/postgresql/*/bin or on PATH (apt-get install postgresql)")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def to_sqlalchemy(url: str) -> str:
    """``postgresql://…`` → ``postgresql+psycopg://…`` (the driver the server accepts)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"not a URL: {url!r}")
    return f"postgresql+psycopg://{rest}"


def to_libpq(url: str) -> str:
    """``postgresql+psycopg://…`` → ``postgresql://…`` (what psycopg.connect takes)."""
    _scheme, _sep, rest = url.partition("://")
    return f"postgresql://{rest}"


def _with_database(url: str, name: str) -> str:
    """``url`` with its database path replaced by ``name`` (query string kept)."""
    head, sep, query = url.partition("?")
    scheme, _, rest = head.partition("://")
    authority = rest.split("/", 1)[0]
    return f"{scheme}://{authority}/{name}" + (sep + query if sep else "")


@dataclass
class PgCluster:
    """A running PostgreSQL server the tests may create databases in."""

    admin_url: str  # libpq URL of a database to run CREATE DATABASE from
    workdir: Path | None = None  # set when this process started (and owns) the cluster
    bindir: Path | None = None
    port: int | None = None
    _created: list[str] = field(default_factory=list)
    _names: itertools.count = field(default_factory=lambda: itertools.count(1))

    # -- lifecycle -------------------------------------------------------------------------

    @classmethod
    def from_env(cls) -> PgCluster | None:
        url = os.environ.get(ENV_URL)
        return cls(admin_url=to_libpq(url)) if url else None

    @classmethod
    def start(cls) -> PgCluster:
        bindir = find_bindir()
        workdir = Path(tempfile.mkdtemp(prefix="itui-pg-"))
        as_postgres = os.geteuid() == 0
        if as_postgres:
            pw = pwd.getpwnam("postgres")
            os.chown(workdir, pw.pw_uid, pw.pw_gid)
            os.chmod(workdir, 0o700)
        data, log = workdir / "data", workdir / "server.log"

        def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
            cmd = [*(["runuser", "-u", "postgres", "--"] if as_postgres else []), *args]
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                                  cwd=workdir, env={**os.environ, "LC_ALL": "C.UTF-8"})
            if proc.returncode != 0:
                tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
                raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}):\n"
                                   f"{proc.stdout}\n{proc.stderr}\n{tail}")
            return proc

        run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
            "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
        options = " ".join([
            "-c listen_addresses=127.0.0.1", f"-c unix_socket_directories={workdir}",
            "-c max_connections=300", "-c fsync=off", "-c synchronous_commit=off",
            "-c full_page_writes=off", "-c shared_buffers=64MB",
        ])
        last_error: Exception | None = None
        for _attempt in range(5):  # the free port may be taken between probe and bind
            port = free_port()
            try:
                run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60",
                    "-o", f"-p {port} {options}", "start")
            except RuntimeError as exc:
                last_error = exc
                continue
            cluster = cls(admin_url=f"postgresql://postgres@127.0.0.1:{port}/postgres",
                          workdir=workdir, bindir=bindir, port=port)
            cluster._as_postgres = as_postgres  # type: ignore[attr-defined]
            return cluster
        shutil.rmtree(workdir, ignore_errors=True)
        raise RuntimeError(f"could not start PostgreSQL: {last_error}")

    def stop(self) -> None:
        """Stop a cluster this process started and delete its files; drop databases otherwise."""
        if self.workdir is None:
            for name in self._created:
                with contextlib.suppress(Exception):
                    self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        assert self.bindir is not None
        cmd = [str(self.bindir / "pg_ctl"), "-D", str(self.workdir / "data"), "-m", "immediate",
               "-w", "stop"]
        if getattr(self, "_as_postgres", False):
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, capture_output=True, timeout=60, check=False)
        shutil.rmtree(self.workdir, ignore_errors=True)

    # -- databases -------------------------------------------------------------------------

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql)

    def create_database(self, prefix: str = "itui") -> str:
        """Create a fresh, empty database; return its SQLAlchemy URL (postgresql+psycopg)."""
        name = f"{prefix}_{os.getpid()}_{next(self._names)}_{int(time.time() * 1000) % 100000}"
        self._admin(f'CREATE DATABASE "{name}"')
        self._created.append(name)
        return to_sqlalchemy(_with_database(self.admin_url, name))

    def drop_database(self, url: str) -> None:
        name = url.split("?", 1)[0].rsplit("/", 1)[1]
        with contextlib.suppress(Exception):
            self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if name in self._created:
            self._created.remove(name)
