"""The idempotent write path: every write runs in one database transaction together with its
``Idempotency-Key`` record and its change-feed entries, so a retried request never applies
twice and the feed never shows a write that did not commit.

A refused write (a :class:`~incidenttui.domain.Refused`, a missing incident, a conflict)
rolls back and its answer is recorded like a success, so a repeat with the same key gets the
same answer. The key's record is written last, in the write's own transaction: a concurrent
request with the same key fails on its unique key, rolls back and replays the first answer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy import bindparam, insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from incidenttui.api.errors import REFUSAL_STATUS, ConflictOut, FieldConflictOut
from incidenttui.domain import Refused
from incidenttui.server import service
from incidenttui.server.errors import ApiError, error_body
from incidenttui.server.models import IdempotencyRecord, Incident, User
from incidenttui.sqltypes import utcnow

#: An answer: a model, or the JSON a model dumps to (``Writer.snapshot``).
Answer = BaseModel | dict[str, Any]
#: An operation inside the write: given the transaction's writer, its status and answer.
Op = Callable[[service.Writer], tuple[int, Answer]]


class _Refused(Exception):
    """Ends a write's transaction (rolled back) with the answer to record for its key."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status)
        self.status, self.body = status, body


def write(request: Request, user: User, key: str | None, payload: Any, op: Op) -> Response:
    """Run ``op`` once per ``Idempotency-Key`` (``key``) and answer as it did the first time."""
    fingerprint = hashlib.sha256(json.dumps(
        [request.method, request.url.path, _json(payload)],
        sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    state = request.app.state
    for attempt in range(3):
        try:
            return _write_once(state, user, key, fingerprint, op)
        except IntegrityError:
            # Another request with the same key (or the same new id) committed first: the
            # next attempt replays its answer (or, for a new id, is refused).
            if attempt == 2:
                raise ApiError(503, "A concurrent request made the same change; retry.",
                               headers={"Retry-After": "1"}) from None
    raise AssertionError("unreachable")


def on_incident(key: str, fn: Callable[[service.Writer, Incident], Answer],
                status: int = 200) -> Op:
    """An operation on the incident ``key``, locked for the rest of the transaction."""
    def op(writer: service.Writer) -> tuple[int, Answer]:
        incident = service.find_incident(writer.session, key, for_update=True)
        return status, fn(writer, incident)
    return op


_RECORDED = select(IdempotencyRecord.fingerprint, IdempotencyRecord.status_code,  # type: ignore[call-overload]
                   IdempotencyRecord.body).where(
    col(IdempotencyRecord.user_id) == bindparam("user_id"),
    col(IdempotencyRecord.key) == bindparam("key"))
_RECORD = insert(IdempotencyRecord.__table__)  # type: ignore[attr-defined]


def _write_once(state: Any, user: User, key: str | None, fingerprint: str, op: Op
                ) -> Response:
    """One attempt: the key's recorded answer, or ``op`` and its answer recorded with it in
    one transaction. A refused ``op`` rolls back and only its answer is recorded."""
    try:
        with state.db.write() as session:
            if key:
                recorded = session.connection().execute(  # Core: no ORM execute path
                    _RECORDED, {"user_id": user.id, "key": key}).first()
                if recorded is not None:
                    return _replay(*recorded, fingerprint)
            try:
                status, answer = op(writer := service.Writer(session, user))
                body = _json(answer)
                if key:  # before the feed's lock (PostgreSQL): it is held until commit
                    _record(session, user, key, fingerprint, status, body)
                writer.finish()
            except Exception as exc:  # failure() raises again what is not a refusal
                raise _Refused(*failure(exc)) from exc
    except _Refused as refused:
        status, body = refused.status, refused.body
        if key:
            with state.db.write() as session:
                _record(session, user, key, fingerprint, status, body)
    state.notifier.notify()
    return JSONResponse(body, status)


def _json(value: Any) -> Any:
    """``jsonable_encoder(value)`` for the answers of the routes, in one pass."""
    if isinstance(value, dict):  # already JSON: a snapshot
        return value
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    return jsonable_encoder(value)


def _record(session: Session, user: User, key: str, fingerprint: str, status: int,
            body: Any) -> None:
    """Keep the answer for ``key``; an IntegrityError if a concurrent request kept one."""
    session.connection().execute(_RECORD, {
        "user_id": user.id, "key": key, "fingerprint": fingerprint, "status_code": status,
        "body": json.dumps(body), "created_at": utcnow()})


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
            fingerprint: str) -> Response:
    if recorded_fingerprint != fingerprint:
        raise ApiError(422, "This Idempotency-Key was already used for a different request.",
                       "Idempotency-Key")
    if not status_code:  # written by an older server while its request was in flight
        raise ApiError(503, "A request with this Idempotency-Key is still in progress.",
                       headers={"Retry-After": "1"})
    return JSONResponse(json.loads(body), status_code,
                        headers={"Idempotent-Replayed": "true"})
