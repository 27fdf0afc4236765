"""Rows a write transaction appends at its end, in one statement, instead of one by one.

A :class:`Deferred` writes its rows at once, or, once :meth:`~Deferred.start` was called on
the session (a batch of writes, server/writes.py), collects them in ``session.info`` until
:meth:`~Deferred.finish`. The change feed and the audit log use it: each batch pays one
insert (and, on PostgreSQL, one round trip) for all its writes' rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from sqlmodel import Session

T = TypeVar("T")


class Deferred(Generic[T]):
    """Rows written by ``write(session, rows)``, now or at the transaction's end."""

    def __init__(self, key: str, write: Callable[[Session, list[T]], None]) -> None:
        self.key, self.write = key, write

    def add(self, session: Session, rows: Sequence[T]) -> None:
        """Write ``rows`` now, or collect them after :meth:`start`."""
        collected = session.info.get(self.key)
        if collected is not None:
            collected.extend(rows)
        elif rows:
            self.write(session, list(rows))

    def start(self, session: Session) -> list[T]:
        """Collect this transaction's rows from now on; returns the list they collect in
        (clear it to drop what a rolled-back part added)."""
        collected: list[T] = []
        session.info[self.key] = collected
        return collected

    def flush(self, session: Session) -> None:
        """Write what was collected so far, and go on collecting (before a read that must
        see it)."""
        collected = session.info.get(self.key)
        if collected:
            rows = list(collected)
            collected.clear()
            self.write(session, rows)

    def take(self, session: Session) -> list[T]:
        """Stop collecting and hand over what was collected, unwritten (the caller writes
        it its own way)."""
        return session.info.pop(self.key, None) or []

    def finish(self, session: Session) -> None:
        """Write what was collected since :meth:`start` (call last)."""
        collected = session.info.pop(self.key, None)
        if collected:
            self.write(session, collected)
