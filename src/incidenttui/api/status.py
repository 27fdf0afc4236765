"""Wire bodies of the status page and maintenance windows (part of the OpenAPI schema)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from incidenttui.api.schemas import Slug, Strict, UtcTime, no_nul
from incidenttui.domain.statuspage import PUBLIC_TEXT_MAX, REASON_MAX, ComponentState

PublicText = Annotated[str, StringConstraints(min_length=1, max_length=PUBLIC_TEXT_MAX,
                                              strip_whitespace=True), AfterValidator(no_nul)]


class PublicUpdateBody(Strict):
    """A public update on an incident: its public wording and, optionally, the states of
    the components it affects (``{service: state}``)."""

    id: UUID | None = None
    public_text: PublicText
    components: Annotated[dict[Slug, ComponentState], Field(max_length=50)] = {}


class ComponentStateBody(Strict):
    """A service's state on the status page."""

    state: ComponentState


class MaintenanceCreate(Strict):
    """A maintenance window; ``id`` is chosen by the client so an offline create keeps it."""

    id: UUID
    services: Annotated[list[Slug], Field(min_length=1, max_length=50)]
    starts_at: UtcTime
    ends_at: UtcTime
    reason: Annotated[str, StringConstraints(max_length=REASON_MAX), AfterValidator(no_nul)] = ""


class MaintenanceOut(BaseModel):
    """A maintenance window as clients and the change feed see it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    services: list[str]
    starts_at: datetime
    ends_at: datetime
    reason: str
    created_by: str | None = None
    ended_at: datetime | None = None
    #: alerts held back during it (the integrations' log); clients that list windows show it
    held_alerts: int = 0


class SubscriberCreate(Strict):
    """A webhook to tell of every public update."""

    url: Annotated[str, StringConstraints(min_length=8, max_length=2000,
                                          pattern=r"^https?://\S+$")]


class SubscriberOut(BaseModel):
    """A subscriber; ``secret`` only in the answer that creates it (shown once)."""

    id: str
    url: str
    created_at: datetime
    secret: str | None = None
