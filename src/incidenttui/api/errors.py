"""The error bodies of the API: every refusal is JSON with a readable ``detail``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from incidenttui.api.schemas import IncidentOut
from incidenttui.domain.lifecycle import RefusalKind

#: The HTTP status each kind of refusal is answered with.
REFUSAL_STATUS: dict[RefusalKind, int] = {
    RefusalKind.INVALID: 422,
    RefusalKind.STATE: 409,
    RefusalKind.NOT_FOUND: 404,
    RefusalKind.FORBIDDEN: 403,
}


class ErrorOut(BaseModel):
    """Any refusal: a sentence for people, and the field at fault where there is one."""

    detail: str
    field: str | None = None


class FieldConflictOut(BaseModel):
    """One field someone else changed: what you asked, what they set, at which version."""

    field: str
    mine: Any
    theirs: Any
    their_version: int


class ConflictOut(BaseModel):
    """A 409 for field changes made against a stale version: each conflicting field."""

    detail: str
    conflicts: list[FieldConflictOut]
    incident: IncidentOut

