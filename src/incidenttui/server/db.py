"""Database connections for the server: SQLite (default) or PostgreSQL.

Writes on SQLite start with ``BEGIN IMMEDIATE`` so two writers never deadlock on a lock
upgrade; reads use a separate deferred engine so they never wait behind a writer (WAL).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlmodel import Session

from incidenttui.sqlite import sqlite_engine


class DatabaseURLError(ValueError):
    """A ``--db`` URL the server cannot use."""


class Database:
    """The server's database: a session factory for reads and one for writes."""

    def __init__(self, url: str) -> None:
        try:
            parsed = make_url(url)
        except Exception as exc:  # sqlalchemy raises ArgumentError with a terse text
            raise DatabaseURLError(f"not a database URL: {url!r}") from exc
        self.url = url
        self.dialect = parsed.get_backend_name()
        if self.dialect == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            self.write_engine = sqlite_engine(url, immediate=True, pool_size=8, max_overflow=16)
            self.read_engine = sqlite_engine(url, immediate=False, pool_size=8, max_overflow=16)
        elif self.dialect == "postgresql":
            if parsed.get_driver_name() not in ("psycopg", "psycopg2"):
                raise DatabaseURLError("use postgresql+psycopg://user:pass@host/db for PostgreSQL")
            self.write_engine = create_engine(url, pool_size=10, max_overflow=20,
                                              pool_pre_ping=True)
            self.read_engine = self.write_engine
        else:
            raise DatabaseURLError(
                f"unsupported database {self.dialect!r}: use sqlite:///path or "
                "postgresql+psycopg://...")

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reads; nothing it does is committed."""
        with Session(self.read_engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session in one write transaction, committed on success, rolled back on error."""
        with Session(self.write_engine, expire_on_commit=False) as session, session.begin():
            yield session

    def migrate(self) -> None:
        """Bring the schema up to date (Alembic ``upgrade head``); keeps existing data."""
        from incidenttui.server.migrate import upgrade

        upgrade(self.write_engine)

    def dispose(self) -> None:
        self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            self.read_engine.dispose()

