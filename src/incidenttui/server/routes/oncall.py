"""Who is on call: each schedule's shift now (or at a given moment) and the next one."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlmodel import col, select

from incidenttui.api.paths import ONCALL
from incidenttui.api.schemas import SLUG_PATTERN, OnCallOut, ShiftOut
from incidenttui.domain import Refused
from incidenttui.domain.oncall import Schedule, Shift, roster
from incidenttui.domain.organisation import parse_item
from incidenttui.server.deps import Allowed, AuthRoute, database
from incidenttui.server.errors import ERRORS, ApiError
from incidenttui.server.organisation import ScheduleRow
from incidenttui.sqltypes import utcnow

log = logging.getLogger("incidenttui.server.oncall")
router = APIRouter(route_class=AuthRoute, tags=["on-call"], responses=ERRORS)


@router.get(ONCALL, response_model=list[OnCallOut])
def who_is_on_call(
    request: Request,
    caller: Allowed,
    team: Annotated[str | None, Query(max_length=64, pattern=SLUG_PATTERN)] = None,
    at: Annotated[datetime | None, Query(description="ISO 8601 with offset; default now")]
    = None,
) -> list[OnCallOut]:
    """Each on-call schedule (of ``team``) with who is on call at ``at`` and who comes next."""
    if at is not None and at.tzinfo is None:
        raise ApiError(422, "at: give the time zone offset (…+01:00 or Z).", "at")
    with database(request).read() as session:
        rows = list(session.exec(select(ScheduleRow).order_by(col(ScheduleRow.id))))
    schedules: list[Schedule] = []
    for row in rows:
        try:
            schedules.append(parse_item("schedules", row.data, f"schedule {row.id}"))
        except Refused as refused:  # stored by an older or newer server: say so, go on
            log.error("on-call schedule %s cannot be read: %s", row.id, refused.reason)
    return [OnCallOut(schedule=s.id, name=s.name, team=s.team, time_zone=s.time_zone,
                      now=_shift(now), next=_shift(following))
            for s, now, following in roster(schedules, at or utcnow(), team)]


def _shift(shift: Shift) -> ShiftOut:
    return ShiftOut(user=shift.user, start=shift.start, end=shift.end, source=shift.source)
