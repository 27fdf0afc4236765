"""Group commits: concurrent write jobs gathered into one transaction and one commit.

A request hands its job to a :class:`GroupCommit` and awaits it. One writer thread takes every
job queued while it wrote the last batch, writes them in one transaction (one fsync on SQLite,
one round of locks on PostgreSQL) and wakes the waiting requests with one hand-off per event
loop. Under load this turns N commits into one; alone, a job waits :data:`GATHER_SECONDS` for
company first.

If a batch fails, each of its jobs is written again alone, so one bad job cannot take the others
down with it, and a job is written whole or not at all. What a failed job answers is the write
path's choice (the ``answer`` and ``busy`` hooks); lost races and dropped connections
(:class:`IntegrityError`, :class:`OperationalError`) are retried a few times first; any other
error is raised to the job's caller.

Nothing in here knows what is written: the alert ingestion (:mod:`incidenttui.server.alerts`)
is one user, and any other write path whose requests may share a transaction can be another.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session

from incidenttui.server.db import Database

log = logging.getLogger("incidenttui.server.group_commit")

J = TypeVar("J")
R = TypeVar("R")

#: A batch holds at most this many jobs.
MAX_BATCH = 256
#: How often a job is tried alone before ``busy`` answers it.
ATTEMPTS = 3
#: The writer thread ends after this long without a job (a new job starts it again).
IDLE_SECONDS = 30.0
#: How long the writer waits for company when a job arrives alone (by default).
GATHER_SECONDS = 0.002
#: Errors worth another try: a lost race on a unique key, a dropped or busy connection.
RETRYABLE: tuple[type[Exception], ...] = (IntegrityError, OperationalError)


@dataclass(eq=False)
class Ticket(Generic[J, R]):
    """One queued job: its result or error once written, and who waits for it."""

    job: J
    result: R | None = None
    error: BaseException | None = None
    #: set once written, for a caller waiting in a thread (an awaiting one has ``waiter``)
    done: threading.Event | None = None
    #: the event loop and future of a caller awaiting the job (:meth:`GroupCommit.submit_async`)
    waiter: tuple[asyncio.AbstractEventLoop, asyncio.Future[None]] | None = None

    def outcome(self) -> R:
        """The result of a written job; re-raises the error of one that failed."""
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


class GroupCommit(Generic[J, R]):
    """Writes jobs in group commits with ``write(session, jobs) -> results`` (one result per
    job, in order, inside the transaction :meth:`Database.write` opens and commits).

    ``answer(exc)`` turns an error that is a job's answer (a refusal) into its result, or
    returns None; ``busy(exc)`` answers a job whose retryable error outlasted
    :data:`ATTEMPTS` (without it the error is raised to the caller); ``committed(results)``
    runs in the writer thread after each commit, with the results it wrote.

    The writer thread starts with the first job and ends after :data:`IDLE_SECONDS` without
    one, so there is nothing to start or stop with the app.
    """

    def __init__(self, db: Database, write: Callable[[Session, list[J]], Sequence[R]], *,
                 answer: Callable[[Exception], R | None] | None = None,
                 busy: Callable[[Exception], R] | None = None,
                 committed: Callable[[list[R]], None] | None = None,
                 name: str = "group-commit", max_batch: int = MAX_BATCH,
                 gather: float | None = None, attempts: int = ATTEMPTS) -> None:
        self.db = db
        self.write = write
        self.answer = answer or (lambda exc: None)
        self.busy = busy
        self.committed = committed or (lambda results: None)
        self.name = name
        self.max_batch = max_batch
        self.gather = GATHER_SECONDS if gather is None else gather
        self.attempts = attempts
        self._queue: queue.SimpleQueue[Ticket[J, R]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._writer: threading.Thread | None = None

    def submit(self, job: J) -> R:
        """Write ``job`` and return its result (blocking); re-raises its error."""
        ticket: Ticket[J, R] = Ticket(job, done=threading.Event())
        self._enqueue(ticket)
        ticket.done.wait()  # type: ignore[union-attr]
        return ticket.outcome()

    async def submit_async(self, job: J) -> R:
        """:meth:`submit` for the event loop: waits without holding a thread."""
        loop = asyncio.get_running_loop()
        ticket: Ticket[J, R] = Ticket(job, waiter=(loop, loop.create_future()))
        self._enqueue(ticket)
        await ticket.waiter[1]  # type: ignore[index]
        return ticket.outcome()

    def write_batch(self, jobs: list[J]) -> list[Ticket[J, R]]:
        """Write ``jobs`` now as one group commit, in the calling thread (tests use this to
        put known jobs in one batch)."""
        tickets: list[Ticket[J, R]] = [Ticket(job, done=threading.Event()) for job in jobs]
        self._write_batch(tickets)
        return tickets

    # -- the writer thread -----------------------------------------------------------------

    def _enqueue(self, ticket: Ticket[J, R]) -> None:
        self._queue.put(ticket)
        with self._lock:
            if self._writer is None:
                self._writer = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._writer.start()

    def _run(self) -> None:
        while True:
            try:
                batch = [self._queue.get(timeout=IDLE_SECONDS)]
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():
                        self._writer = None
                        return
                continue
            if self.gather and self._queue.empty():
                # Requests arriving together reach the queue one by one as the event loop
                # parses them: a moment's wait lets them share the batch and its commit.
                time.sleep(self.gather)
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._write_batch(batch)

    def _write_batch(self, batch: list[Ticket[J, R]]) -> None:
        """Write ``batch`` as one commit, or its jobs alone if that fails; wake every waiter."""
        written: list[R] = []
        try:
            try:
                written = list(self._commit([t.job for t in batch]))
                for ticket, result in zip(batch, written, strict=True):
                    ticket.result = result
            except Exception as exc:
                if len(batch) > 1:
                    log.info("%s: batch of %d failed (%s); writing its jobs one by one",
                             self.name, len(batch), type(exc).__name__)
                    for ticket in batch:
                        self._alone(ticket, written)
                else:
                    self._alone(batch[0], written, exc)
        except BaseException as exc:  # never leave a waiter hanging
            for ticket in batch:
                if ticket.result is None and ticket.error is None:
                    ticket.error = exc
        finally:
            if written:
                with contextlib.suppress(Exception):
                    self.committed(written)
            waiting: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
            for ticket in batch:
                if ticket.done is not None:
                    ticket.done.set()
                if ticket.waiter is not None:
                    waiting.setdefault(ticket.waiter[0], []).append(ticket.waiter[1])
            for loop, futures in waiting.items():
                with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                    loop.call_soon_threadsafe(_wake, futures)

    def _alone(self, ticket: Ticket[J, R], written: list[R],
               error: Exception | None = None) -> None:
        """Write one job in its own transaction, retrying lost races and connections."""
        tries = 0
        while True:
            if error is not None:
                answer = self.answer(error)
                if answer is not None:
                    ticket.result = answer
                    return
                if not isinstance(error, RETRYABLE):
                    log.error("%s: job failed", self.name, exc_info=error)
                    ticket.error = error  # a bug: the caller sees it and the log tells why
                    return
                if tries >= self.attempts:
                    log.warning("%s: job failed %d times: %s", self.name, tries, error)
                    if self.busy is None:
                        ticket.error = error
                    else:
                        ticket.result = self.busy(error)
                    return
                log.debug("%s: job retried after %s", self.name, type(error).__name__)
            tries += 1
            try:
                [ticket.result] = self._commit([ticket.job])
            except Exception as exc:
                error = exc
            else:
                written.append(ticket.result)
                return

    def _commit(self, jobs: list[J]) -> Sequence[R]:
        with self.db.write() as session:
            results = self.write(session, jobs)
            if len(results) != len(jobs):  # before the commit: nothing is written twice
                raise ValueError(f"{self.name}: {len(results)} results for {len(jobs)} jobs")
        return results


def _wake(futures: list[asyncio.Future[None]]) -> None:
    for future in futures:
        if not future.done():  # a caller cancelled meanwhile has its future cancelled
            future.set_result(None)
