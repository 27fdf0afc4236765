"""Several statements in one round trip on PostgreSQL, with psycopg's pipeline mode.

Inside :func:`pipelined`, statements that answer nothing the code needs at once (inserts,
updates, a lock) are queued and sent together; the round trip is paid once, when the block
ends or when a query's rows are read (:func:`send` returns rows read on demand). On SQLite
(a local file, no round trips) the same code runs each statement at once.

SQLAlchemy runs DML inside a pipeline as long as it expects no rows back (no RETURNING:
inserts whose key is given, or ``inline()`` ones); a query whose rows are wanted goes through
:func:`send`, on the driver's cursor. An update's row count is known only once the pipeline
has synced: :func:`expect_one` checks it then (:func:`check_rows`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, String, bindparam, func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Select
from sqlmodel import Session

#: Updates whose row count is checked once the pipeline has synced (``session.info``).
_CHECKS = "incidenttui.pipeline_checks"


def is_postgres(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def in_pipeline(conn: Connection) -> bool:
    """Whether statements on ``conn`` are being queued (PostgreSQL, inside :func:`pipelined`)."""
    if not is_postgres(conn):
        return False
    return bool(conn.connection.driver_connection.pgconn.pipeline_status)  # type: ignore[union-attr]


@contextmanager
def pipelined(conn: Connection, *, begin: bool = False) -> Iterator[None]:
    """Queue the block's statements and send them in one round trip (PostgreSQL); run them
    one by one elsewhere. A failure the sync reports is raised as SQLAlchemy raises it
    (``IntegrityError`` for a lost race on a key, ...), so retries see the usual errors.

    ``begin``: the block starts the transaction, with a ``BEGIN`` queued with its first
    statements. (psycopg's own BEGIN in a pipeline waits for its answer: a round trip of
    its own.) For that, the connection is put in autocommit mode so that psycopg starts
    none, until it goes back to the pool (server/db.py turns it off there); COMMIT and
    ROLLBACK still end the transaction as usual, since psycopg goes by the transaction's
    state.
    """
    if not is_postgres(conn):
        yield
        return
    import psycopg

    driver = conn.connection.driver_connection
    opening = (begin and not driver.autocommit  # type: ignore[union-attr]
               and driver.pgconn.transaction_status == psycopg.pq.TransactionStatus.IDLE)  # type: ignore[union-attr]
    if opening:
        driver.autocommit = True  # type: ignore[union-attr]
    try:
        with driver.pipeline():  # type: ignore[union-attr]
            if opening:
                driver.execute("BEGIN")  # type: ignore[union-attr]
            yield
    except psycopg.Error as exc:
        raise DBAPIError.instance("(pipeline)", None, exc, psycopg.Error,
                                  dialect=conn.dialect) from exc


def queue_commit(session: Session) -> bool:
    """Queue the transaction's COMMIT behind the statements of the current pipeline, so that
    it goes in the same round trip (PostgreSQL, inside :func:`pipelined`); False (nothing
    queued) elsewhere, or while the session holds ORM changes not yet flushed.

    A statement that fails before it aborts the pipeline: the server skips the COMMIT and
    the transaction rolls back as usual. After it, the transaction has ended: psycopg's own
    commit, when SQLAlchemy's ``begin()`` block ends, finds it idle and sends nothing. So
    this is the last thing a write does: nothing may be written after it, and a check that
    must stop the commit has to fail a statement before it (e.g. ``service._UPDATE_ROW``).
    """
    conn = session.connection()
    if not in_pipeline(conn) or session.new or session.dirty or session.deleted:
        return False
    conn.connection.driver_connection.execute("COMMIT")  # type: ignore[union-attr]
    return True


def listed(name: str) -> Select[Any]:
    """SQLite: the values of the JSON array bound as ``name`` (``json_each``), for
    ``column.in_(listed("ids"))``. One statement whatever the list's length, compiled once
    (an expanding ``IN`` is rendered again for every execution); bind the list with
    :func:`json.dumps`."""
    each = func.json_each(bindparam(name, type_=String)).table_valued("value")
    return select(each.c.value)


#: Compiled PostgreSQL statements of :func:`send`, by statement.
_COMPILED: dict[Select[Any], Any] = {}


class Rows:
    """A query's rows, read (on PostgreSQL: the pipeline synced) when first asked for."""

    def __init__(self, fetch: Callable[[], list[tuple[Any, ...]]]) -> None:
        self._fetch: Callable[[], list[tuple[Any, ...]]] | None = fetch
        self._rows: list[tuple[Any, ...]] = []

    def all(self) -> list[tuple[Any, ...]]:
        if self._fetch is not None:
            self._rows, self._fetch = self._fetch(), None
        return self._rows


def send(conn: Connection, query: Select[Any], params: dict[str, Any]) -> Rows:
    """Send ``query`` now (queued, inside :func:`pipelined`); its rows come when asked for,
    with the column types' result processing (e.g. aware UTC times), as SQLAlchemy gives
    them. ``query`` is a module constant (it is compiled once and kept)."""
    if not is_postgres(conn):
        rows = [tuple(row) for row in conn.execute(query, params)]
        return Rows(lambda: rows)
    compiled = _COMPILED.get(query)
    if compiled is None:  # the queries are module constants: compiled once each
        compiled = _COMPILED[query] = query.compile(dialect=conn.dialect)
    values = compiled.construct_params(params)
    for name, process in compiled._bind_processors.items():
        if name in values and process is not None:
            values[name] = process(values[name])
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    cursor.execute(compiled.string, values)

    def fetch() -> list[tuple[Any, ...]]:
        try:
            raw = cursor.fetchall()
            processors = [column.type._cached_result_processor(conn.dialect, d.type_code)
                          for column, d in zip(query.selected_columns, cursor.description,
                                               strict=True)]
        finally:
            cursor.close()
        return [tuple(p(v) if p is not None else v for p, v in zip(processors, row,
                                                                    strict=True))
                for row in raw]

    return Rows(fetch)


def expect_one(session: Session, conn: Connection, result: Any, what: str) -> None:
    """Check that an update wrote one row: now, or (inside a pipeline) in
    :func:`check_rows` once the pipeline synced."""
    if in_pipeline(conn):
        session.info.setdefault(_CHECKS, []).append((result, what))
    elif result.rowcount != 1:
        raise RuntimeError(f"{what} changed under its lock")


def check_rows(session: Session) -> None:
    """Run the row-count checks :func:`expect_one` left for after the pipeline's sync."""
    for result, what in session.info.pop(_CHECKS, ()):
        if result.context.cursor.rowcount != 1:
            raise RuntimeError(f"{what} changed under its lock")
