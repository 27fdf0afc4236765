"""SQLite engines set up the same way for the server and the client's store."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event


def sqlite_engine(url: str, *, immediate: bool, synchronous: str = "FULL",
                  busy_timeout_ms: int = 30_000, **kwargs: Any) -> Engine:
    """An engine with WAL, durable commits and a busy timeout.

    With ``immediate`` every transaction starts with ``BEGIN IMMEDIATE``: a writer takes the
    write lock up front, so two writers (two processes sharing one file) wait for each other
    instead of failing on a lock upgrade.
    """
    engine = create_engine(url, connect_args={"check_same_thread": False,
                                              "timeout": busy_timeout_ms / 1000}, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN, instead of pysqlite's own.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine
