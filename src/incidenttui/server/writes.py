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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy import bindparam, insert, tuple_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from incidenttui.api.errors import REFUSAL_STATUS, ConflictOut, FieldConflictOut
from incidenttui.domain import Refused
from incidenttui.server import audit, service
from incidenttui.server.changes import (
    defer_changes,
    forget_rolled_back,
    write_deferred_changes,
)
from incidenttui.server.errors import ApiError, error_body
from incidenttui.server.group_commit import GroupCommit
from incidenttui.server.models import IdempotencyRecord, Incident, User
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
        [request.method, request.url.path, _json(payload)],
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
    return op


_RECORDED = select(IdempotencyRecord.user_id, IdempotencyRecord.key,  # type: ignore[call-overload]
                   IdempotencyRecord.fingerprint, IdempotencyRecord.status_code,
                   IdempotencyRecord.body).where(
    tuple_(col(IdempotencyRecord.user_id), col(IdempotencyRecord.key)).in_(
        bindparam("pairs", expanding=True)))
_RECORD = insert(IdempotencyRecord.__table__)  # type: ignore[attr-defined]


def _write_jobs(session: Session, jobs: list[Job]) -> list[Outcome]:
    """The jobs of one batch in one transaction: each its key's recorded answer, or its
    ``op`` with its answer recorded for its key.

    The batch's keys are looked up in one select, and its key records, change-feed rows and
    audit entries are written in one insert each at the end (one round trip each on
    PostgreSQL, and the feed lock held only for those last inserts). A job that fails in a
    shared batch fails the batch: the group commit writes each job again alone, where a
    refused ``op`` rolls back to a savepoint and only its answer is recorded. An
    :class:`IntegrityError` (a concurrent request committed the same key or new id first)
    fails a lone job too; its next try replays the answer now recorded (or is refused).
    """
    conn = session.connection()  # Core: no ORM execute path
    alone = len(jobs) == 1
    keyed = {(job.user.id, job.key) for job in jobs if job.key}
    recorded: dict[tuple[str, str], tuple[str, int, str]] = {
        (user_id, key): (fingerprint, status, body)
        for user_id, key, fingerprint, status, body in conn.execute(
            _RECORDED, {"pairs": sorted(keyed)})} if keyed else {}
    records: list[dict[str, Any]] = []
    feed = defer_changes(session)
    audited = audit.defer(session)
    outcomes: list[Outcome] = []
    for job in jobs:
        user, key = job.user, job.key
        if key and (user.id, key) in recorded:
            outcomes.append(_replay(*recorded[user.id, key], job.fingerprint))
            continue
        if alone:
            conn.exec_driver_sql("SAVEPOINT job")  # plain SQL: the ORM's nesting costs more
        try:
            status, answer = job.op(writer := service.Writer(session, user))
            body = _json(answer)
            writer.finish()
        except Exception as exc:
            if not alone:
                raise
            conn.exec_driver_sql("ROLLBACK TO SAVEPOINT job")
            conn.exec_driver_sql("RELEASE SAVEPOINT job")
            feed.clear()
            audited.clear()
            forget_rolled_back(session)
            if isinstance(exc, IntegrityError):
                raise
            status, body = failure(exc)  # raises again what is not a refusal
        else:
            if alone:
                conn.exec_driver_sql("RELEASE SAVEPOINT job")
        if key:
            text = json.dumps(body)
            recorded[user.id, key] = (job.fingerprint, status, text)  # a repeat replays it
            records.append({"user_id": user.id, "key": key, "fingerprint": job.fingerprint,
                            "status_code": status, "body": text, "created_at": utcnow()})
        outcomes.append((status, body, {}))
    if records:  # before the feed's lock (PostgreSQL): it is held until commit
        conn.execute(_RECORD, records)
    write_deferred_changes(session)
    audit.write_deferred(session)
    return outcomes


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
