"""The client's local tables (their own SQLModel registry, apart from the server's)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Integer, Text
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from incidenttui.sqltypes import UTCDateTime


class StoreModel(SQLModel, registry=registry()):
    """Base of the store's tables; its metadata is separate from the server's."""


def _time(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


def _json(default: Any) -> Any:
    return Field(default_factory=default, sa_column=Column(JSON, nullable=False))


class LocalIncident(StoreModel, table=True):
    """An incident as the responder sees it: the server's state plus their pending changes.

    ``base`` is the last state the server confirmed (None until the server has the incident);
    every other column is ``base`` with the pending outbox entries replayed on top.
    """

    __tablename__ = "incidents"
    __table_args__ = (
        # The queue's covering indexes, one per sort order, are made by the store's layout
        # steps (store.MIGRATIONS, from reader.INDEX_SQL): they need DESC and expressions.
        Index("ix_local_sla_due", "sla_due_at"),
    )

    id: str = Field(primary_key=True)
    number: int | None = Field(default=None, sa_column=Column(Integer, index=True))
    #: ``INC`` or ``SEC`` (domain/refs.py); None until the server has numbered it.
    series: str | None = None
    title: str = Field(sa_column=Column(Text, nullable=False))
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    service: str = Field(index=True)
    category: str
    impact: int
    urgency: int
    priority: int
    status: str = Field(index=True)
    is_open: bool = True
    team: str | None = Field(default=None, index=True)
    assignee: str | None = Field(default=None, index=True)
    escalation_level: int = 1
    management_engaged: bool = False
    major: bool = False
    reporter: str | None = None
    created_at: datetime = _time(nullable=False)
    updated_at: datetime = _time(nullable=False)
    detected_at: datetime | None = _time()
    started_at: datetime | None = _time()
    acknowledged_at: datetime | None = _time()
    resolved_at: datetime | None = _time()
    closed_at: datetime | None = _time()
    on_hold_since: datetime | None = _time()
    hold_seconds: float = 0.0
    reopen_count: int = 0
    resolution_code: str | None = None
    resolution_note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    links: list[dict[str, str]] = _json(list)
    version: int = 0
    field_versions: dict[str, int] = _json(dict)
    sla_due_at: datetime | None = _time()
    pending: int = 0
    base: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class LocalEvent(StoreModel, table=True):
    """A timeline event; ``pending`` ones were made here and wait for the server."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_local_events_incident", "incident_id", "at"),)

    id: str = Field(primary_key=True)
    incident_id: str
    at: datetime = _time(nullable=False)
    kind: str
    actor: str | None = None
    text: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    data: dict[str, Any] = _json(dict)
    pending: bool = False
    outbox_key: str | None = Field(default=None, index=True)


class LocalTeam(StoreModel, table=True):
    __tablename__ = "teams"

    id: str = Field(primary_key=True)
    name: str
    level: int = 1
    description: str = ""


class LocalUser(StoreModel, table=True):
    __tablename__ = "users"

    id: str = Field(primary_key=True)
    display_name: str
    role: str
    team_id: str | None = None
    email: str | None = None
    active: bool = True


class LocalService(StoreModel, table=True):
    __tablename__ = "services"

    id: str = Field(primary_key=True)
    name: str
    team_id: str | None = None
    tier: int = 2
    description: str = ""
    policy_id: str | None = None
    #: on the public status page, and the state it shows there
    public: bool = False
    component_state: str = "operational"


class LocalMaintenance(StoreModel, table=True):
    """A maintenance window as the server last sent it (or as planned here, ``pending``
    until the server has it): the queue shows it, and it pauses SLA clocks."""

    __tablename__ = "maintenance"

    id: str = Field(primary_key=True)
    services: list[str] = _json(list)
    starts_at: datetime = _time(nullable=False)
    ends_at: datetime = _time(nullable=False)
    reason: str = ""
    created_by: str | None = None
    ended_at: datetime | None = _time()
    pending: bool = False


class LocalOrgItem(StoreModel, table=True):
    """An on-call schedule or escalation policy as the server last sent it (its organisation
    document item, kept as sent: read with domain/organisation.py when needed)."""

    __tablename__ = "org_items"

    kind: str = Field(primary_key=True)  # "schedule" | "policy"
    id: str = Field(primary_key=True)
    data: dict[str, Any] = _json(dict)


class OutboxEntry(StoreModel, table=True):
    """One local change waiting for the server; it leaves only once the server answered."""

    __tablename__ = "outbox"

    seq: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True)
    incident_id: str = Field(index=True)
    kind: str
    payload: dict[str, Any] = _json(dict)
    base_version: int = 0
    created_at: datetime = _time(nullable=False)
    actor: str | None = None
    attempts: int = 0
    last_error: str | None = None


class ConflictRecord(StoreModel, table=True):
    """A change the server did not apply: a field conflict (``field`` set) or a refusal."""

    __tablename__ = "conflicts"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: str = Field(index=True)
    outbox_key: str
    kind: str
    field: str | None = None
    mine: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    theirs: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    their_version: int = 0
    reason: str = ""
    summary: str = ""
    created_at: datetime = _time(nullable=False)


class Meta(StoreModel, table=True):
    """Small named values: the sync cursor, the user, the last sync time."""

    __tablename__ = "meta"

    key: str = Field(primary_key=True)
    value: str
