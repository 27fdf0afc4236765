"""The change feed: every committed write, in an order that never skips.

A plain auto-increment id is not enough on PostgreSQL: two transactions can take ids 7 and 8
and commit 8 first, so a reader at cursor 8 would never see 7. Here each write transaction
takes one database-wide lock (``pg_advisory_xact_lock``, held until commit) *before* it takes
its change ids, so ids are handed out in commit order: when a reader sees id N, every lower id
is already committed or rolled back for good. On SQLite ``BEGIN IMMEDIATE`` already serialises
writers. Only the few statements at the end of a write run under the lock.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, text
from sqlmodel import Session, col, select

from incidenttui.server.deferred import Deferred
from incidenttui.server.models import Change
from incidenttui.sqltypes import utcnow

#: An arbitrary constant that names the feed's advisory lock.
FEED_LOCK_ID = 727_001
#: A Core insert into the table: the ORM's bulk-insert path costs more than the rows.
_INSERT_CHANGES = insert(Change.__table__)  # type: ignore[attr-defined]
_FEED_LOCK = text("SELECT pg_advisory_xact_lock(:id)")
#: Set in ``session.info`` once the session's transaction holds the feed lock.
_LOCKED = "incidenttui.feed_locked"


#: A feed row: ``(entity, id, snapshot)``, or with the incident it is about and whether that
#: incident is restricted: ``(entity, id, snapshot, incident_id, restricted)``.
ChangeRow = tuple[str, str, dict[str, Any]] | tuple[str, str, dict[str, Any], str | None, bool]
#: A feed row as it is inserted: ``(entity, id, snapshot, incident_id, restricted, audience)``.
FullRow = tuple[str, str, dict[str, Any], str | None, bool, str | None]


def record_changes(session: Session, changes: Sequence[ChangeRow],
                   audience: str | None = None) -> None:
    """Append rows to the feed inside the caller's transaction (or, after
    :func:`defer_changes`, when :func:`write_deferred_changes` is called); ``audience``: the
    one user they are for (server/visibility.py filters the feed per caller by these
    columns).

    Call this last in a write transaction: on PostgreSQL it takes the feed lock, which then
    serialises commits until this transaction ends.
    """
    if not changes:
        return
    session.flush()  # pending ORM writes first, so the feed never runs ahead of them
    _FEED.add(session, [full_row(change, audience) for change in changes])


def record_rows(session: Session, rows: Sequence[FullRow]) -> None:
    """:func:`record_changes` for rows that each name their own audience."""
    if rows:
        session.flush()
        _FEED.add(session, list(rows))


def full_row(change: ChangeRow, audience: str | None = None) -> FullRow:
    """``change`` with its incident, restriction and audience (none: a row for everyone)."""
    if len(change) == 3:
        return (change[0], change[1], change[2], None, False, audience)
    return (*change, audience)  # type: ignore[return-value]


def defer_changes(session: Session) -> list[FullRow]:
    """Collect the feed rows of this transaction's writes for one insert at its end
    (:func:`write_deferred_changes`); returns the list they collect in."""
    return _FEED.start(session)


def write_deferred_changes(session: Session) -> None:
    """Insert the feed rows collected since :func:`defer_changes` (call last)."""
    _FEED.finish(session)


def _insert_changes(session: Session, rows: list[FullRow]) -> None:
    # Core statements on the session's connection: the ORM's execute path costs more here.
    conn = session.connection()
    if conn.dialect.name == "postgresql" and not session.info.get(_LOCKED):
        conn.execute(_FEED_LOCK, {"id": FEED_LOCK_ID})  # once per transaction
        session.info[_LOCKED] = True
    now = utcnow()
    conn.execute(_INSERT_CHANGES, [
        {"at": now, "entity": entity, "entity_id": entity_id, "data": data,
         "incident_id": incident_id, "restricted": bool(restricted), "audience": audience}
        for entity, entity_id, data, incident_id, restricted, audience in rows])


#: The feed rows of a transaction, inserted at once or at its end (server/deferred.py).
_FEED: Deferred[FullRow] = Deferred("incidenttui.deferred_changes", _insert_changes)


def forget_rolled_back(session: Session) -> None:
    """After a rollback to a savepoint: the session forgets the objects it held (the ones
    written before the savepoint are flushed already) and that it held the feed lock (a
    lock taken after a savepoint goes with its rollback)."""
    session.expunge_all()
    session.info.pop(_LOCKED, None)


def read_changes(session: Session, cursor: int, limit: int) -> tuple[list[Change], bool]:
    """Up to ``limit`` changes after ``cursor``, and whether more are ready."""
    rows = session.exec(select(Change).where(col(Change.seq) > cursor)
                        .order_by(col(Change.seq)).limit(limit + 1)).all()
    return list(rows[:limit]), len(rows) > limit


def latest_seq(session: Session) -> int:
    value = session.exec(select(Change.seq).order_by(col(Change.seq).desc()).limit(1)).first()
    return int(value or 0)


class ChangeNotifier:
    """Wakes long-polling readers in this process when a write commits.

    Writers run in worker threads; readers wait on the event loop. Other replicas' writes are
    picked up by the readers' periodic re-check.
    """

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None
        self.closed = False

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._event = asyncio.Event()

    def notify(self) -> None:
        """Wake every waiter; safe to call from any thread."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed since the check
            loop.call_soon_threadsafe(self._wake)

    def close(self) -> None:
        """The server is shutting down: release every waiter now, and wait no more."""
        self.closed = True
        self.notify()

    def _wake(self) -> None:
        if self._event is not None:
            self._event.set()
            self._event = asyncio.Event()

    async def wait(self, timeout: float) -> None:
        """Return after the next notification or ``timeout`` seconds, whichever is first."""
        if self.closed:
            return
        if self._event is None:
            self.bind(asyncio.get_running_loop())
        assert self._event is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout)
