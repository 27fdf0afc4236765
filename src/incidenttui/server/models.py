"""The server's tables. Schema changes need an Alembic migration (server/migrations)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlmodel import Field, SQLModel

from incidenttui.sqltypes import UTCDateTime, utcnow


def _time(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class Team(SQLModel, table=True):
    """A team incidents are assigned to; ``level`` is its functional escalation tier."""

    __tablename__ = "teams"

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    level: int = 1
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class User(SQLModel, table=True):
    """A person (or integration) that calls the API with a bearer token."""

    __tablename__ = "users"

    id: str = Field(primary_key=True, max_length=64)
    display_name: str = Field(max_length=200)
    role: str = Field(max_length=20)
    team_id: str | None = Field(default=None, max_length=64)
    email: str | None = Field(default=None, max_length=320)
    token_hash: str | None = Field(default=None, max_length=64, unique=True, index=True)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(),
                                                                          nullable=False))


class Service(SQLModel, table=True):
    """A business service incidents affect, owned by a team."""

    __tablename__ = "services"

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    team_id: str | None = Field(default=None, max_length=64)
    tier: int = 2
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    #: its escalation policy (server/organisation.py), if it has one
    policy_id: str | None = Field(default=None, max_length=64)
    #: shown on the public status page (domain/statuspage.py)
    public: bool = Field(default=False, sa_column=Column(
        Boolean, nullable=False, default=False, server_default=false()))
    #: the state the status page shows for it (a ComponentState value)
    component_state: str = Field(default="operational", sa_column=Column(
        String(20), nullable=False, default="operational", server_default="operational"))


class Incident(SQLModel, table=True):
    """One incident. ``id`` is chosen by the client; ``number`` is given by the server, in
    its ``series``: ``INC`` for most, ``SEC`` for one restricted when it was logged (so the
    INC numbers everyone sees have no gaps from incidents they may not see)."""

    __tablename__ = "incidents"
    __table_args__ = (
        Index("ix_incidents_status_priority", "status", "priority"),
        UniqueConstraint("series", "number", name="uq_incidents_series_number"),
        # By number alone: the list's newest-first order, and a write batch's up-front
        # locks (which ask for INC-7 and SEC-7 alike); (series, number) does not serve them.
        Index("ix_incidents_number", "number"),
    )

    id: str = Field(primary_key=True, max_length=36)
    number: int = Field(sa_column=Column(Integer, nullable=False))
    series: str = Field(default="INC", sa_column=Column(
        String(8), nullable=False, default="INC", server_default="INC"))
    title: str = Field(sa_column=Column(Text, nullable=False))
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    service: str = Field(max_length=64, index=True)
    category: str = Field(max_length=32)
    impact: int
    urgency: int
    priority: int = Field(index=True)
    status: str = Field(max_length=20, index=True)
    team: str | None = Field(default=None, max_length=64, index=True)
    assignee: str | None = Field(default=None, max_length=64, index=True)
    escalation_level: int = 1
    management_engaged: bool = False
    major: bool = False
    reporter: str | None = Field(default=None, max_length=64)
    created_at: datetime = _time(nullable=False, index=True)
    updated_at: datetime = _time(nullable=False)
    detected_at: datetime | None = _time()
    started_at: datetime | None = _time()
    acknowledged_at: datetime | None = _time()
    resolved_at: datetime | None = _time()
    closed_at: datetime | None = _time()
    on_hold_since: datetime | None = _time()
    hold_seconds: float = 0.0
    reopen_count: int = 0
    resolution_code: str | None = Field(default=None, max_length=32)
    resolution_note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    links: list[dict[str, str]] = Field(default_factory=list,
                                        sa_column=Column(JSON, nullable=False))
    version: int = 1
    field_versions: dict[str, int] = Field(default_factory=dict,
                                           sa_column=Column(JSON, nullable=False))
    #: Marked restricted (security incidents are restricted whatever it says).
    restricted: bool = Field(default=False, sa_column=Column(
        Boolean, nullable=False, default=False, server_default=false()))


class TimelineEvent(SQLModel, table=True):
    """An append-only event on an incident's timeline."""

    __tablename__ = "timeline_events"
    __table_args__ = (Index("ix_timeline_incident_at", "incident_id", "at"),)

    id: str = Field(primary_key=True, max_length=36)
    incident_id: str = Field(max_length=36)
    at: datetime = _time(nullable=False)
    kind: str = Field(max_length=20)
    actor: str | None = Field(default=None, max_length=64)
    text: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Change(SQLModel, table=True):
    """One entry of the change feed: a snapshot of an entity after a committed write.

    ``seq`` is assigned under a database-wide lock held until commit, so a reader that sees
    ``seq`` N also sees every change below N (see server/changes.py).
    """

    __tablename__ = "changes"

    seq: int | None = Field(default=None, sa_column=Column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True))
    at: datetime = _time(nullable=False)
    entity: str = Field(max_length=20)
    entity_id: str = Field(max_length=64)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    #: The incident the row is about (incident and event rows, ``forget`` entries).
    incident_id: str | None = Field(default=None, max_length=36)
    #: A row of a restricted incident: only callers who can see it get it.
    restricted: bool = Field(default=False, sa_column=Column(
        Boolean, nullable=False, default=False, server_default=false()))
    #: The one user the row is for (``forget`` entries, re-sent snapshots); None: everyone.
    audience: str | None = Field(default=None, max_length=64)


class IdempotencyRecord(SQLModel, table=True):
    """The first answer to a write made with an ``Idempotency-Key``, replayed on repeats."""

    __tablename__ = "idempotency_keys"

    user_id: str = Field(primary_key=True, max_length=64)
    key: str = Field(primary_key=True, max_length=200)
    fingerprint: str = Field(max_length=64)
    status_code: int = 0
    body: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    created_at: datetime = _time(nullable=False, index=True)


class Counter(SQLModel, table=True):
    """Named counters, e.g. the next incident number."""

    __tablename__ = "counters"

    name: str = Field(primary_key=True, max_length=32)
    value: int = Field(sa_column=Column(BigInteger, nullable=False))


class ServerSecret(SQLModel, table=True):
    """A secret every replica shares, made once (migration 0009): the key of the change
    feed's cursor tokens (server/cursors.py) and the last integer cursor still accepted."""

    __tablename__ = "server_secrets"

    name: str = Field(primary_key=True, max_length=64)
    value: str = Field(sa_column=Column(Text, nullable=False))


# -- alert ingestion (server/alerts.py) ---------------------------------------------------


class Integration(SQLModel, table=True):
    """A monitoring integration for one service: an Alertmanager webhook or an Events API v2
    source. Its key is shown once; only the SHA-256 hash is kept."""

    __tablename__ = "integrations"

    id: str = Field(primary_key=True, max_length=36)
    name: str = Field(max_length=200)
    service: str = Field(max_length=64)
    kind: str = Field(max_length=20)
    key_hash: str = Field(max_length=64, unique=True, index=True)
    auto_resolve: bool = True
    category: str = Field(default="availability", max_length=32)
    severity_map: dict[str, Any] = Field(default_factory=dict,
                                         sa_column=Column(JSON, nullable=False))
    created_by: str | None = Field(default=None, max_length=64)
    created_at: datetime = _time(nullable=False)
    revoked_at: datetime | None = _time()


class AlertGroup(SQLModel, table=True):
    """The incident that one alert group feeds: an Alertmanager ``groupKey`` or an Events v2
    ``dedup_key``. ``active`` is True while the incident takes new alerts and NULL after, so
    the unique index allows one active row per group and any number of closed ones."""

    __tablename__ = "alert_groups"
    __table_args__ = (UniqueConstraint("key_hash", "active", name="uq_alert_groups_key_active"),)

    id: str = Field(primary_key=True, max_length=36)
    integration_id: str = Field(max_length=36)
    key_hash: str = Field(max_length=64)
    group_key: str = Field(sa_column=Column(Text, nullable=False))
    incident_id: str = Field(max_length=36, index=True)
    active: bool | None = True
    created_at: datetime = _time(nullable=False)
    closed_at: datetime | None = _time()


class AlertRecord(SQLModel, table=True):
    """One alert (a ``fingerprint`` or a ``dedup_key``) on one incident, with how often it
    fired. ``id`` is also the id of its ``alert`` timeline event. ``active`` works as on
    :class:`AlertGroup`."""

    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("key_hash", "active", name="uq_alerts_key_active"),
                      Index("ix_alerts_incident_status", "incident_id", "status"))

    id: str = Field(primary_key=True, max_length=36)
    integration_id: str = Field(max_length=36)
    incident_id: str = Field(max_length=36)
    key_hash: str = Field(max_length=64)
    alert_key: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(max_length=10)
    severity: str = Field(max_length=20)
    summary: str = Field(sa_column=Column(Text, nullable=False))
    count: int = 1
    first_seen: datetime = _time(nullable=False)
    last_seen: datetime = _time(nullable=False)
    starts_at: datetime | None = _time()
    ends_at: datetime | None = _time()
    resolved_at: datetime | None = _time()
    active: bool | None = True
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


# -- status page and maintenance (server/statuspage.py, server/maintenance.py) -------------


class MaintenanceWindow(SQLModel, table=True):
    """Planned work on ``services`` between ``starts_at`` and ``ends_at``: their alerts are
    held (:class:`HeldAlert`) and page no one; ``released_at``: the held alerts still firing
    at its end have opened their incidents."""

    __tablename__ = "maintenance_windows"

    id: str = Field(primary_key=True, max_length=36)
    services: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    starts_at: datetime = _time(nullable=False, index=True)
    ends_at: datetime = _time(nullable=False, index=True)
    reason: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    created_by: str | None = Field(default=None, max_length=64)
    created_at: datetime = _time(nullable=False)
    ended_at: datetime | None = _time()
    released_at: datetime | None = _time(index=True)


class HeldAlert(SQLModel, table=True):
    """An alert that arrived for a service in a maintenance window: the integration's log of
    what it held back. One row per integration and alert key and window; ``status`` firing
    or resolved; ``incident_id``: the incident it opened when the window ended."""

    __tablename__ = "held_alerts"
    __table_args__ = (UniqueConstraint("window_id", "key_hash", name="uq_held_alerts_key"),)

    id: str = Field(primary_key=True, max_length=36)
    window_id: str = Field(max_length=36, index=True)
    integration_id: str = Field(max_length=36, index=True)
    key_hash: str = Field(max_length=64)
    alert_key: str = Field(sa_column=Column(Text, nullable=False))
    group_key: str = Field(sa_column=Column(Text, nullable=False))
    service: str = Field(max_length=64)
    status: str = Field(max_length=10)
    severity: str | None = Field(default=None, max_length=20)
    summary: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    source: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    labels: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    count: int = 1
    first_seen: datetime = _time(nullable=False)
    last_seen: datetime = _time(nullable=False)
    starts_at: datetime | None = _time()
    incident_id: str | None = Field(default=None, max_length=36)


class StatusSubscriber(SQLModel, table=True):
    """A webhook told of every public update (HMAC-signed with its own secret, shown once
    when it subscribes; kept to sign, as a receiver needs the same secret)."""

    __tablename__ = "status_subscribers"

    id: str = Field(primary_key=True, max_length=36)
    url: str = Field(sa_column=Column(Text, nullable=False))
    secret: str = Field(max_length=128)
    created_by: str | None = Field(default=None, max_length=64)
    created_at: datetime = _time(nullable=False)
