"""Database connections for the server: SQLite (default) or PostgreSQL.

Writes on SQLite start with ``BEGIN IMMEDIATE`` so two writers never deadlock on a lock
upgrade; reads use a separate deferred engine so they never wait behind a writer (WAL).

Writers to one SQLite file also queue on a :class:`WriterLock` before ``BEGIN IMMEDIATE``:
SQLite's own busy handler polls, sleeping 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50 then 100 ms
between tries, so with two server processes (``--workers 2``) a writer that found the lock
taken slept long after it was free, and two workers ingested alerts at a third of one
worker's rate. The lock hands over at once; SQLite's lock stays what guarantees exclusion.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlmodel import Session

from incidenttui.sqlite import sqlite_engine

T = TypeVar("T")


def loaded(cls: type[T], values: dict[str, Any]) -> T:
    """A table model instance with ``values`` (every field), built the way the ORM builds a
    row it loads: its attributes set straight into the instance, without the pydantic and
    SQLAlchemy ``__setattr__`` work of ``cls(**values)`` (ten times the cost). For objects
    that are read, or inserted with Core, never for ones added to a session."""
    instance = cls._sa_class_manager.new_instance()  # type: ignore[attr-defined]
    instance.__dict__.update(values)
    object.__setattr__(instance, "__pydantic_fields_set__", set(values))
    return instance


def _drop_closed(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Refuse a pooled PostgreSQL connection the server has closed, without a round trip.

    An idle connection in the pool has nothing to read: if its socket is readable, the
    server closed it (a restart, ``pg_terminate_backend``, an idle timeout) or sent its
    termination notice. The pool then opens a fresh one (:class:`DisconnectionError`). This
    replaces ``pool_pre_ping``, which cost a ``SELECT 1`` round trip on every checkout: twice
    per write request. A connection lost silently (no FIN, e.g. a network partition) is not
    seen here; its first statement fails, the pool is invalidated, and writes are retried.
    """
    pgconn = getattr(dbapi_connection, "pgconn", None)
    if pgconn is None:
        return
    if dbapi_connection.closed or dbapi_connection.broken:
        raise DisconnectionError("connection closed")
    poller = select.poll()  # not select(): no limit on the descriptor's number
    try:
        poller.register(pgconn.socket, select.POLLIN)
        ready = poller.poll(0)
    except (OSError, ValueError) as exc:
        raise DisconnectionError("connection socket unusable") from exc
    if ready:
        raise DisconnectionError("the server closed the connection")


def _autocommit_off(dbapi_connection: Any, _record: Any) -> None:
    """A connection goes back to the pool out of autocommit mode (a write batch starts its
    transaction by hand, server/pipeline.py ``pipelined(begin=True)``)."""
    if (dbapi_connection is not None and getattr(dbapi_connection, "autocommit", False)
            and not dbapi_connection.broken):
        dbapi_connection.autocommit = False


class DatabaseURLError(ValueError):
    """A ``--db`` URL the server cannot use."""


class WriterLock:
    """An exclusive lock over a database's writers: a ``flock`` on ``path`` (a file beside
    the database) between processes, a thread lock within this one. Re-entrant within a
    thread, so a nested write behaves as it did without the lock."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._depth = 0
        self._fd: int | None = None
        self._pid = 0

    def _file(self) -> int | None:
        if self._fd is None or self._pid != os.getpid():  # never share a parent's descriptor
            try:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except OSError:  # e.g. a read-only directory: SQLite's own locking still holds
                self._fd = None
            self._pid = os.getpid()
        return self._fd

    @contextmanager
    def hold(self) -> Iterator[None]:
        with self._lock:
            fd = self._file() if self._depth == 0 else None
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if fd is not None:
                    fcntl.flock(fd, fcntl.LOCK_UN)

    def close(self) -> None:
        with self._lock:
            if self._fd is not None and self._pid == os.getpid():
                with contextlib.suppress(OSError):
                    os.close(self._fd)
            self._fd = None


class Database:
    """The server's database: a session factory for reads and one for writes."""

    def __init__(self, url: str) -> None:
        try:
            parsed = make_url(url)
        except Exception as exc:  # sqlalchemy raises ArgumentError with a terse text
            raise DatabaseURLError(f"not a database URL: {url!r}") from exc
        self.url = url
        self.dialect = parsed.get_backend_name()
        self.writer_lock: WriterLock | None = None
        self._writing = threading.local()  # depth of this thread's write() calls
        if self.dialect == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                path = Path(parsed.database).expanduser()
                path.parent.mkdir(parents=True, exist_ok=True)
                self.writer_lock = WriterLock(path.with_name(path.name + "-writer.lock"))
            self.write_engine = sqlite_engine(url, immediate=True, pool_size=8, max_overflow=16)
            self.read_engine = sqlite_engine(url, immediate=False, pool_size=8, max_overflow=16)
        elif self.dialect == "postgresql":
            if parsed.get_driver_name() not in ("psycopg", "psycopg2"):
                raise DatabaseURLError("use postgresql+psycopg://user:pass@host/db for PostgreSQL")
            # No pre-ping (a round trip per checkout): a connection the server closed is
            # found without one (:func:`_drop_closed`), and a write that meets a dead one
            # anyway is tried again by its group commit (OperationalError).
            self.write_engine = create_engine(url, pool_size=10, max_overflow=20)
            event.listen(self.write_engine, "checkout", _drop_closed)
            event.listen(self.write_engine, "checkin", _autocommit_off)
            self.read_engine = self.write_engine
        else:
            raise DatabaseURLError(
                f"unsupported database {self.dialect!r}: use sqlite:///path or "
                "postgresql+psycopg://...")

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @property
    def reads_are_local(self) -> bool:
        """Whether a small indexed read may run on the event loop: SQLite reads a local file
        in WAL mode, where a reader never waits for a writer, in tens of microseconds (less
        than handing the read to a thread). A PostgreSQL read waits for the network, which
        may be slow or down: it goes to a thread."""
        return self.dialect == "sqlite"

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reads; nothing it does is committed."""
        with Session(self.read_engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session in one write transaction, committed on success, rolled back on error.

        The outermost write of a thread runs in its connection's transaction
        (``engine.begin()``), with the session bound to that connection and flushed before
        the commit: the effect of ``Session(engine).begin()`` without the ORM's own
        transaction bookkeeping (its commit, close and pool hand-back cost about half a
        millisecond per write). A write nested in another keeps the ORM's lazy begin, so one
        that writes nothing takes no second ``BEGIN IMMEDIATE``.
        """
        with (self.writer_lock.hold() if self.writer_lock else contextlib.nullcontext()):
            if getattr(self._writing, "depth", 0):
                with Session(self.write_engine, expire_on_commit=False) as session, \
                        session.begin():
                    yield session
                return
            self._writing.depth = 1
            try:
                with self.write_engine.begin() as conn:
                    session = Session(bind=conn, expire_on_commit=False)
                    try:
                        yield session
                        session.flush()  # pending ORM writes go into this commit
                    finally:
                        session.close()
            finally:
                self._writing.depth = 0

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """The rows of one read-only statement, straight from the driver on a pooled read
        connection (no ORM, no explicit transaction: one statement sees one snapshot).

        For the hottest reads (the bearer token, the change feed), where SQLAlchemy's layers
        cost more than the read itself. ``sql`` uses ``?`` placeholders.
        """
        if self.is_postgres:
            sql = sql.replace("?", "%s")
        for attempt in (1, 2):
            conn = self.read_engine.raw_connection()
            try:
                return self._query_on(conn, sql, params)
            except Exception:
                driver = conn.driver_connection
                if attempt == 1 and self.is_postgres and getattr(driver, "broken", False):
                    # Lost without a sign at checkout (no pre-ping): once more on a new one.
                    conn.invalidate()
                    continue
                raise
            finally:
                conn.close()  # back to the pool (or away, once invalidated)
        raise AssertionError("unreachable")

    def _query_on(self, conn: Any, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        if self.is_postgres:
            # No BEGIN before the select, no ROLLBACK after it: two round trips fewer.
            conn.driver_connection.autocommit = True
        cursor = conn.cursor()
        try:
            cursor.execute(sql, tuple(params))
            return cursor.fetchall()
        finally:
            cursor.close()
            if self.is_postgres and not conn.driver_connection.broken:
                conn.driver_connection.autocommit = False

    def migrate(self) -> None:
        """Bring the schema up to date (Alembic ``upgrade head``); keeps existing data."""
        from incidenttui.server.migrate import upgrade

        upgrade(self.write_engine)

    def dispose(self) -> None:
        if self.writer_lock is not None:
            self.writer_lock.close()
        self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            self.read_engine.dispose()

