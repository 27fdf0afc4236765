"""The idempotent write path: every write runs in one database transaction together with its
``Idempotency-Key`` record and its change-feed entries, so a retried request never applies
twice and the feed never shows a write that did not commit.

A refused write (a :class:`~incidenttui.domain.Refused`, a missing incident, a conflict)
rolls back to a savepoint and its answer is recorded like a success, so a repeat with the
same key gets the same answer.
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
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from incidenttui.api.errors import REFUSAL_STATUS, ConflictOut, FieldConflictOut
from incidenttui.domain import Refused
from incidenttui.server import service
from incidenttui.server.errors import ApiError, error_body
from incidenttui.server.models import IdempotencyRecord, Incident, User
from incidenttui.sqltypes import utcnow

#: An operation inside the write: given the transaction's writer, its status and answer.
Op = Callable[[service.Writer], tuple[int, BaseModel]]


def write(request: Request, user: User, key: str | None, payload: Any, op: Op) -> Response:
    """Run ``op`` once per ``Idempotency-Key`` (``key``) and answer as it did the first time."""
    fingerprint = hashlib.sha256(json.dumps(
        [request.method, request.url.path, jsonable_encoder(payload)],
        sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    state = request.app.state
    for attempt in range(3):
        try:
            return _write_once(state, user, key, fingerprint, op)
        except IntegrityError:
            # Another request with the same key (or the same new id) committed first.
            if attempt == 2:
                raise ApiError(503, "A concurrent request made the same change; retry.",
                               headers={"Retry-After": "1"}) from None
    raise AssertionError("unreachable")


def on_incident(key: str, fn: Callable[[service.Writer, Incident], BaseModel],
                status: int = 200) -> Op:
    """An operation on the incident ``key``, locked for the rest of the transaction."""
    def op(writer: service.Writer) -> tuple[int, BaseModel]:
        incident = service.find_incident(writer.session, key, for_update=True)
        return status, fn(writer, incident)
    return op


def _write_once(state: Any, user: User, key: str | None, fingerprint: str, op: Op
                ) -> Response:
    with state.db.write() as session:
        record = None
        if key:
            record = session.get(IdempotencyRecord, (user.id, key))
            if record is not None:
                return _replay(record, fingerprint)
            record = IdempotencyRecord(user_id=user.id, key=key, fingerprint=fingerprint,
                                       created_at=utcnow())
            session.add(record)
            session.flush()
        writer = service.Writer(session, user)
        status, body = _apply(session, writer, op)
        if record is not None:
            record.status_code = status
            record.body = json.dumps(body)
            session.add(record)
    state.notifier.notify()
    return JSONResponse(body, status)


def _apply(session: Session, writer: service.Writer, op: Op) -> tuple[int, Any]:
    """Run ``op`` in a savepoint: a refused op leaves nothing but its answer behind."""
    savepoint = session.begin_nested()
    try:
        status, model = op(writer)
        writer.finish()
    except Exception as exc:
        savepoint.rollback()
        return failure(exc)
    savepoint.commit()
    return status, jsonable_encoder(model)


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


def _replay(record: IdempotencyRecord, fingerprint: str) -> Response:
    if record.fingerprint != fingerprint:
        raise ApiError(422, "This Idempotency-Key was already used for a different request.",
                       "Idempotency-Key")
    if not record.status_code:  # written by a request still in flight elsewhere
        raise ApiError(503, "A request with this Idempotency-Key is still in progress.",
                       headers={"Retry-After": "1"})
    return JSONResponse(json.loads(record.body), record.status_code,
                        headers={"Idempotent-Replayed": "true"})
