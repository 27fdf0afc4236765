"""An incident's escalation policy by hand: "escalate to level N now"."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from incidenttui.api.paths import incident
from incidenttui.api.schemas import IncidentOut, PolicyLevelBody
from incidenttui.domain import EventKind, RefusalKind, Refused, Status
from incidenttui.domain.effects import Effect, EventDraft
from incidenttui.domain.permissions import Operation
from incidenttui.server import escalation, service
from incidenttui.server.deps import Allowed, AuthRoute, IdemKey, Key
from incidenttui.server.errors import WRITE_ERRORS
from incidenttui.server.routes.incidents import write_on
from incidenttui.server.writes import Answer

router = APIRouter(route_class=AuthRoute, tags=["actions"], responses=WRITE_ERRORS)


@router.post(incident("{key}", "/policy-level"), response_model=IncidentOut)
async def escalate_to_level(request: Request, caller: Allowed, key: Key,
                            body: PolicyLevelBody, idempotency_key: IdemKey = None
                            ) -> Response:
    """Move the incident to level ``level`` of its service's escalation policy now; that
    level's clock starts, and the timeline says who did it and why."""
    def op(writer: service.Writer, found: service.AnyIncident) -> Answer:
        if not Status(found.status).is_open:
            raise Refused(f"The incident is {Status(found.status).label}; only open incidents "
                          "can be escalated.", "status", RefusalKind.STATE)
        policy, left = escalation.jump(writer.session, found.id, body.level, writer.now)
        targets = ", ".join(str(t) for t in policy.level(body.level).targets)
        text = (f"Moved by hand from level {left} to level {body.level} of policy "
                f"{policy.name} ({targets}): {body.reason}")
        writer.effect(found, Effect({}, [EventDraft(EventKind.ESCALATION, text, {
            "policy": policy.id, "step": "jump", "level": left, "to_level": body.level})]))
        return writer.snapshot(found)
    return await write_on(request, caller, key, idempotency_key, body, Operation.ESCALATE,
                          "incident.policy_level", op)
