"""Request and response bodies of the HTTP API (they are the OpenAPI schema)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from incidenttui.domain import (
    Category,
    EscalationKind,
    EventKind,
    LinkKind,
    Role,
    Status,
)
from incidenttui.domain.refs import SLUG_MAX, SLUG_PATTERN


def no_nul(value: str) -> str:
    # PostgreSQL cannot store NUL in text; refuse it here with a clear message instead.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def _utc_in_range(value: datetime) -> datetime:
    # A time that is valid in its own zone can still fall outside years 1..9999 in UTC.
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range once converted to UTC") from None


UtcTime = Annotated[AwareDatetime, AfterValidator(_utc_in_range)]
Text = Annotated[str, StringConstraints(max_length=20_000), AfterValidator(no_nul)]
Line = Annotated[str, StringConstraints(min_length=1, max_length=300), AfterValidator(no_nul),
                 AfterValidator(not_blank)]
#: Team, service, user and integration ids (also the shape of query filters on them).
Slug = Annotated[str, StringConstraints(min_length=1, max_length=SLUG_MAX,
                                        pattern=SLUG_PATTERN)]
Level = Annotated[int, Field(ge=1, le=3)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IncidentCreate(Strict):
    """A new incident; ``id`` is chosen by the client so an offline create keeps it."""

    id: UUID
    title: Line
    description: Text = ""
    service: Slug
    category: Category
    impact: Level
    urgency: Level
    team: Slug | None = None
    assignee: Slug | None = None
    major: bool = False
    detected_at: UtcTime | None = None
    started_at: UtcTime | None = None
    #: Create it restricted (a security incident is restricted whatever this says).
    restricted: bool = False


class IncidentPatch(Strict):
    """Field changes made against ``base_version``; only the fields given are changed."""

    base_version: Annotated[int, Field(ge=0, le=2**53)]
    title: Line | None = None
    description: Text | None = None
    category: Category | None = None
    service: Slug | None = None
    impact: Level | None = None
    urgency: Level | None = None
    team: Slug | None = None
    assignee: Slug | None = None


class ActionBody(Strict):
    """A lifecycle move; resolve needs ``resolution_code`` and ``resolution_note``."""

    resolution_code: Annotated[str, StringConstraints(max_length=32),
                               AfterValidator(no_nul)] | None = None
    resolution_note: Text | None = None
    note: Text | None = None


class EscalateBody(Strict):
    kind: EscalationKind = EscalationKind.FUNCTIONAL
    to_team: Slug | None = None
    to_user: Slug | None = None
    reason: Annotated[str, StringConstraints(min_length=1, max_length=2000),
                      AfterValidator(no_nul), AfterValidator(not_blank)]


class PolicyLevelBody(Strict):
    """"Escalate to level N of the service's escalation policy now", by hand."""

    level: Annotated[int, Field(ge=1, le=10)]
    reason: Annotated[str, StringConstraints(min_length=1, max_length=2000),
                      AfterValidator(no_nul), AfterValidator(not_blank)]


class NoteBody(Strict):
    """A note; ``id`` (optional, client-chosen) makes the append idempotent by itself."""

    id: UUID | None = None
    text: Annotated[str, StringConstraints(min_length=1, max_length=20_000),
                    AfterValidator(no_nul), AfterValidator(not_blank)]
    #: Mark it as evidence (kept in the event's data; like every note, never edited or
    #: deleted).
    evidence: bool = False
    #: A quick entry's tag (domain/major.py QuickTag: decision, finding, mitigation, note).
    tag: Annotated[str, StringConstraints(max_length=20)] | None = None
    #: When it was written (an entry made offline keeps its time); at most now.
    at: UtcTime | None = None


class MajorEventBody(Strict):
    """A major incident's entry: a role change, a stakeholder update, an action item (or a
    change to one) or a review field; ``data`` as domain/major.py ``check_major_event``
    says. ``id`` (client-chosen) makes the append idempotent; ``at`` is when it was
    written (kept, at most now)."""

    id: UUID
    kind: Annotated[str, StringConstraints(min_length=1, max_length=20)]
    data: dict[str, Any] = Field(default_factory=dict)
    at: UtcTime | None = None


class BreachNotificationBody(Strict):
    """The personal-data breach was notified to the supervisory authority (GDPR Art. 33)."""

    authority: Line
    reference: Annotated[str, StringConstraints(max_length=200), AfterValidator(no_nul)] = ""


class MemberBody(Strict):
    """Someone to add to a restricted incident."""

    user: Slug


class MembersOut(BaseModel):
    """The people added to an incident (besides the roles that see every restricted one)."""

    incident_id: str
    members: list[str]


class LinkBody(Strict):
    kind: LinkKind
    target: Annotated[str, StringConstraints(min_length=1, max_length=40)]


class LinkOut(BaseModel):
    kind: LinkKind
    target: str


class IncidentOut(BaseModel):
    """An incident as the API returns it (and as the change feed carries it)."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    number: int
    #: INC, or SEC for an incident restricted when it was logged (domain/refs.py); older
    #: servers: absent (INC).
    series: str = Field(default="INC", max_length=8,
                        description="The number's series: INC, or SEC for an incident "
                                    "restricted when it was logged")
    ref: str = Field(description="The human number, e.g. INC-1042 or SEC-7")
    title: str
    description: str
    service: str
    category: str
    impact: int
    urgency: int
    priority: int
    status: Status
    team: str | None
    assignee: str | None
    escalation_level: int
    management_engaged: bool
    major: bool
    reporter: str | None
    created_at: datetime
    updated_at: datetime
    detected_at: datetime | None
    started_at: datetime | None
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    on_hold_since: datetime | None
    hold_seconds: float
    reopen_count: int
    resolution_code: str | None
    resolution_note: str | None
    links: list[LinkOut]
    version: int
    field_versions: dict[str, int]
    #: Marked restricted (a security-category incident is restricted whatever this says).
    restricted: bool = False


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    incident_id: str
    at: datetime
    kind: EventKind
    actor: str | None
    text: str
    data: dict[str, Any]


class IncidentDetail(IncidentOut):
    timeline: list[EventOut]


class IncidentPage(BaseModel):
    items: list[IncidentOut]
    total: int
    offset: int
    limit: int


class TeamOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    level: int
    description: str


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    display_name: str
    role: Role
    team_id: str | None
    email: str | None
    active: bool


class ServiceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    team_id: str | None
    tier: int
    description: str
    #: its escalation policy (a ``policy`` entity of the feed); older servers: absent
    policy_id: str | None = None
    #: on the public status page, and the state it shows there; older servers: absent
    public: bool = False
    component_state: str = "operational"


class ChangeOut(BaseModel):
    """One change of the feed. No global sequence number: the gaps between two rows' numbers
    would count the changes the caller may not see (older servers sent ``seq``; ignored)."""

    #: ``forget``: the user lost access to incident ``id``; the client drops its copy.
    #: ``schedule`` / ``policy``: an on-call schedule or escalation policy as its
    #: organisation-document item (``{"id": …, "removed": true}`` once removed).
    #: ``maintenance``: a maintenance window (api/status.py MaintenanceOut).
    entity: Literal["incident", "event", "team", "user", "service", "forget", "schedule",
                    "policy", "maintenance"]
    id: str
    data: dict[str, Any]


class ChangePage(BaseModel):
    # An older server's cursor is an integer: kept as its text, sent back the same.
    model_config = ConfigDict(coerce_numbers_to_str=True)

    changes: list[ChangeOut]
    cursor: str = Field(max_length=100, description=(
        "Pass this as ?cursor= to get what comes after. Opaque: a new token on every page, "
        "which says nothing of the feed's position"))
    more: bool = Field(description="True when another page is ready at once")


class Me(BaseModel):
    user: UserOut
    server_time: datetime
    #: Operation values the user may do on normal incidents (older servers: absent).
    capabilities: list[str] | None = None
    #: ... and on restricted incidents without membership (older servers: absent).
    restricted_capabilities: list[str] | None = None



class ShiftOut(BaseModel):
    """Who is on call (None: nobody) from ``start`` until ``end``, and why (a layer's name,
    or ``override``)."""

    user: str | None
    start: AwareDatetime
    end: AwareDatetime
    source: str | None


class OnCallOut(BaseModel):
    """One schedule's shift at the asked moment and the one after it."""

    schedule: str
    name: str
    team: str | None
    time_zone: str
    now: ShiftOut
    next: ShiftOut
