"""The idempotent write path: every write runs in one database transaction together with its
``Idempotency-Key`` record and its change-feed entries, so a retried request never applies
twice and the feed never shows a write that did not commit.

Writes go through one group commit per app (:func:`commits`): the writes that arrive while
one is being written share the next transaction and its commit (one fsync on SQLite, one
feed lock on PostgreSQL), each in a savepoint of its own, and each request waits for its
answer without holding a thread. Alone, a write is written at once.

A refused write (a :class:`~incidenttui.domain.Refused`, a missing incident, a conflict)
rolls back to its savepoint and its answer is recorded like a success, so a repeat with the
same key gets the same answer. A concurrent request with the same key (another process, or
a replica) fails on the key's unique index; its job is tried again alone and replays the
first answer.
"""

from __future__ import annotations

import hashlib
import json
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy import ARRAY, Engine, String, any_, bindparam, insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from incidenttui.api.errors import REFUSAL_STATUS, ConflictOut, FieldConflictOut
from incidenttui.domain import Refused
from incidenttui.server import audit, service
from incidenttui.server.changes import (
    defer_changes,
    forget_rolled_back,
    lock_feed,
    write_deferred_changes,
)
from incidenttui.server.errors import ApiError, error_body
from incidenttui.server.group_commit import GroupCommit
from incidenttui.server.models import IdempotencyRecord, Incident, User
from incidenttui.server.pipeline import (
    check_rows,
    is_postgres,
    listed,
    pipelined,
    queue_commit,
    send,
)
from incidenttui.sqltypes import utcnow

#: An answer: a model, or the JSON a model dumps to (``Writer.snapshot``).
Answer = BaseModel | dict[str, Any]
#: An operation inside the write: given the transaction's writer, its status and answer.
Op = Callable[[service.Writer], tuple[int, Answer]]


@dataclass(frozen=True, slots=True)
class Job:
    """One write request, queued for the app's group commit (:func:`commits`)."""

    user: User
    key: str | None
    fingerprint: str
    op: Op


#: What a job answers: status, JSON body, extra headers.
Outcome = tuple[int, Any, dict[str, str]]


async def write(request: Request, user: User, key: str | None, payload: Any, op: Op
                ) -> Response:
    """Run ``op`` once per ``Idempotency-Key`` (``key``) and answer as it did the first time.

    The request waits for its job without holding a thread: the app's group commit writes
    it, with the writes that arrived meanwhile, in one transaction and one commit.
    """
    fingerprint = hashlib.sha256(json.dumps(
        # the path, as ``request.url.path`` gives it without building the URL
        [request.method, request.scope["path"], _json(payload)],
        sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    state = request.app.state
    try:
        status, body, headers = await commits(state).submit_async(
            Job(user, key, fingerprint, op))
    except IntegrityError:
        # Another request with the same key (or the same new id) committed first, every
        # time the job was tried again (each try replays its answer, or is refused).
        raise ApiError(503, "A concurrent request made the same change; retry.",
                       headers={"Retry-After": "1"}) from None
    state.notifier.notify()
    return JSONResponse(body, status, headers=headers or None)


def commits(state: Any) -> GroupCommit[Job, Outcome]:
    """The app's group commit for the write routes (made with the first write).

    No gather wait: a write arriving alone is written at once; writes arriving while one
    is written queue up and share the next transaction.
    """
    group = getattr(state, "writes", None)
    if group is None:
        group = state.writes = GroupCommit(state.db, _write_jobs, name="http-writes",
                                           gather=0)
    return group


def on_incident(key: str, fn: Callable[[service.Writer, Incident], Answer],
                status: int = 200) -> Op:
    """An operation on the incident ``key``, locked for the rest of the transaction."""
    def op(writer: service.Writer) -> tuple[int, Answer]:
        incident = service.find_incident(writer.session, key, for_update=True)
        return status, fn(writer, incident)
    op.incident = key  # type: ignore[attr-defined]  # locked up front with its batch
    return op


#: SQLite: the batch's users and keys as JSON lists (server/pipeline.py ``listed``); the
#: pairs are picked out of the rows.
_RECORDED = select(IdempotencyRecord.user_id, IdempotencyRecord.key,  # type: ignore[call-overload]
                   IdempotencyRecord.fingerprint, IdempotencyRecord.status_code,
                   IdempotencyRecord.body).where(
    col(IdempotencyRecord.user_id).in_(listed("users")),
    col(IdempotencyRecord.key).in_(listed("keys")))
#: PostgreSQL: array parameters (a statement the pipeline can send as it is); the pairs are
#: picked out of the rows.
_RECORDED_PG = select(IdempotencyRecord.user_id, IdempotencyRecord.key,  # type: ignore[call-overload]
                      IdempotencyRecord.fingerprint, IdempotencyRecord.status_code,
                      IdempotencyRecord.body).where(
    col(IdempotencyRecord.user_id) == any_(bindparam("users", type_=ARRAY(String))),
    col(IdempotencyRecord.key) == any_(bindparam("keys", type_=ARRAY(String))))
_RECORD = insert(IdempotencyRecord.__table__)  # type: ignore[attr-defined]


def _write_jobs(session: Session, jobs: list[Job]) -> list[Outcome]:
    """The jobs of one batch in one transaction: each its key's recorded answer, or its
    ``op`` with its answer recorded for its key.

    On PostgreSQL a batch costs three round trips whatever its size (server/pipeline.py):
    BEGIN with the batch's Idempotency-Keys and the lock of its incidents (one select
    each, in id order); the feed's lock and the audit log's head; then the key records,
    incident updates, timeline events, change-feed rows and audit entries, one statement
    each, sent together with the COMMIT. The jobs in between run on the rows read up front
    and write nothing until the end, unless one reads back what the batch wrote
    (``service.write_pending``). The feed lock is held for the last two round trips.

    A job that fails in a shared batch fails the batch: the group commit writes each job
    again alone, where a refused ``op`` rolls back to a savepoint and only its answer is
    recorded. An :class:`IntegrityError` (a concurrent request committed the same key or
    new id first) fails a lone job too; its next try replays the answer now recorded (or
    is refused).
    """
    conn = session.connection()  # Core: no ORM execute path
    alone = len(jobs) == 1
    keyed = sorted({(job.user.id, job.key) for job in jobs if job.key})
    # The incidents the jobs write on (:func:`on_incident`), locked together up front.
    locks = [key for job in jobs if (key := getattr(job.op, "incident", None))]
    with pipelined(conn, begin=True):
        if not keyed:
            found = None
        elif is_postgres(conn):
            found = send(conn, _RECORDED_PG, {"users": sorted({u for u, _ in keyed}),
                                              "keys": sorted({k for _, k in keyed})})
        else:
            found = send(conn, _RECORDED, {"users": json.dumps(sorted({u for u, _ in keyed})),
                                           "keys": json.dumps(sorted({k for _, k in keyed}))})
        hold = service.lock_incidents(session, locks) if locks else None
        if alone:
            conn.exec_driver_sql("SAVEPOINT job")  # plain SQL: the ORM's nesting costs more
        wanted = set(keyed)
        recorded: dict[tuple[str, str], tuple[str, int, str]] = {
            (user_id, key): (fingerprint, status, body)
            for user_id, key, fingerprint, status, body in (found.all() if found else ())
            if (user_id, key) in wanted}
        if hold is not None:
            hold()
    records: list[dict[str, Any]] = []
    feed = defer_changes(session)
    audited = audit.defer(session)
    updates, events = service.defer_rows(session)
    outcomes: list[Outcome] = []
    release = False
    for job in jobs:
        user, key = job.user, job.key
        if key and (user.id, key) in recorded:
            outcomes.append(_replay(*recorded[user.id, key], job.fingerprint))
            continue
        try:
            status, answer = job.op(writer := service.Writer(session, user))
            body = _json(answer)
            writer.finish()
        except Exception as exc:
            if not alone:
                raise
            conn.exec_driver_sql("ROLLBACK TO SAVEPOINT job")
            conn.exec_driver_sql("RELEASE SAVEPOINT job")
            for pending in (feed, audited, updates, events):
                pending.clear()
            forget_rolled_back(session)
            service.forget_held(session)
            if isinstance(exc, IntegrityError):
                raise
            status, body = failure(exc)  # raises again what is not a refusal
        else:
            release = alone
        if key:
            text = json.dumps(body)
            recorded[user.id, key] = (job.fingerprint, status, text)  # a repeat replays it
            records.append({"user_id": user.id, "key": key, "fingerprint": job.fingerprint,
                            "status_code": status, "body": text, "created_at": utcnow()})
        outcomes.append((status, body, {}))
    _finish(session, records, release=release)
    return outcomes


#: The audit log's head as this process's HTTP writes last committed it, by engine: the next
#: batch chains its entries from it without reading it first (one round trip fewer on
#: PostgreSQL). Only a guess: ``audit.append_many`` makes the database refuse entries
#: chained from a head that moved on (another writer appended, the database was restored),
#: the batch is written again, and the head is read under the lock until a commit of ours
#: sets it again.
_HEADS: weakref.WeakKeyDictionary[Engine, tuple[int, str]] = weakref.WeakKeyDictionary()


def _finish(session: Session, records: list[dict[str, Any]], *, release: bool) -> None:
    """The batch's statements at its end, with the COMMIT (server/pipeline.py
    :func:`queue_commit`): one round trip on PostgreSQL when the audit log's head is the one
    our last commit left (:data:`_HEADS`), else two: first the feed's lock with the head
    (needed to chain the entries).
    """
    conn = session.connection()
    entries = audit.take_deferred(session)
    head: tuple[int, str] | None = None
    postgres = is_postgres(conn)
    if entries and postgres:
        head = _HEADS.pop(conn.engine, None)  # back only once this batch commits
        if head is None:
            with pipelined(conn):
                lock_feed(session)
                rows = send(conn, audit.HEAD_QUERY, {}).all()
            if rows:
                head = (int(rows[0][0]), rows[0][1])
    committed, written = False, None
    with pipelined(conn):
        if release:
            conn.exec_driver_sql("RELEASE SAVEPOINT job")
        lock_feed(session)  # before the head is checked: appends are serialised by it
        if records:
            conn.execute(_RECORD, records)
        service.write_deferred_rows(session)
        write_deferred_changes(session)
        if head is not None:
            written = audit.append_many(session, entries, head)
        if not (entries and head is None):
            committed = queue_commit(session)  # the COMMIT in the same round trip
    check_rows(session)
    if entries and head is None:  # SQLite, or a log without its head row (it refuses)
        audit.append_many(session, entries)
    if committed and written is not None:
        _HEADS[conn.engine] = written


def _json(value: Any) -> Any:
    """``jsonable_encoder(value)`` for the answers of the routes, in one pass."""
    if isinstance(value, dict):  # already JSON: a snapshot
        return value
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    return jsonable_encoder(value)


def failure(exc: Exception) -> tuple[int, Any]:
    """The HTTP answer to a failed write: its status from the refusal's kind."""
    if isinstance(exc, Refused):
        return REFUSAL_STATUS[exc.kind], error_body(exc.reason, exc.field)
    if isinstance(exc, service.NotFound):
        return 404, error_body(str(exc))
    if isinstance(exc, service.Conflict):
        names = ", ".join(c.field for c in exc.conflicts)
        body = ConflictOut(
            detail=f"Changed by someone else since your version: {names}.",
            conflicts=[FieldConflictOut(field=c.field, mine=c.mine, theirs=c.theirs,
                                        their_version=c.their_version)
                       for c in exc.conflicts],
            incident=service.incident_out(exc.incident))
        return 409, jsonable_encoder(body)
    raise exc


def _replay(recorded_fingerprint: str, status_code: int, body: str,
            fingerprint: str) -> Outcome:
    if recorded_fingerprint != fingerprint:
        return 422, error_body("This Idempotency-Key was already used for a different "
                               "request.", "Idempotency-Key"), {}
    if not status_code:  # written by an older server while its request was in flight
        return 503, error_body("A request with this Idempotency-Key is still in progress."), \
            {"Retry-After": "1"}
    return status_code, json.loads(body), {"Idempotent-Replayed": "true"}
