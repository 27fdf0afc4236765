"""What the alert ingestion works on: one alert as it arrived (:class:`AlertIn`, whatever its
wire format), one request's alerts (:class:`Job`) and what writing them did (:class:`Outcome`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from incidenttui.domain.refs import ref


@dataclass(frozen=True)
class AlertIn:
    """One alert occurrence, whatever format it came in.

    ``labels`` carries the overrides an Alertmanager alert may set (``severity``, ``service``,
    ``category``, ``impact``, ``urgency``); ``details`` is kept on the alert record and shown,
    shortened, on its timeline event.
    """

    action: str  # "trigger" | "acknowledge" | "resolve"
    key: str
    group_key: str
    summary: str = ""
    severity: str | None = None
    source: str = ""
    #: the new incident's description, or a function making it (only called for a new one)
    description: str | Callable[[], str] = ""
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Job:
    """One request's alerts, for the integration whose key hashes to ``key_hash``."""

    kind: str  # the integration kind the request came in as: "alertmanager" | "events"
    key_hash: str
    alerts: list[AlertIn]


@dataclass
class IncidentResult:
    """An incident a job touched, as the answer reports it."""

    id: str
    ref: str
    status: str
    created: bool = False


class _IncidentLike(Protocol):
    id: str
    number: int
    status: str
    series: str


@dataclass
class Outcome:
    """What a job did, or why it was refused."""

    status: str = "ok"  # ok | unauthorized | wrong_kind | refused | unavailable
    message: str = ""
    alerts: int = 0
    created: int = 0
    joined: int = 0
    repeats: int = 0
    resolved: int = 0
    acknowledged: int = 0
    ignored: int = 0
    auto_resolved: int = 0
    #: alerts held back by a maintenance window (server/maintenance.py)
    held: int = 0
    incidents: dict[str, IncidentResult] = field(default_factory=dict)

    def touch(self, incident: _IncidentLike, created: bool = False) -> None:
        result = self.incidents.get(incident.id)
        if result is None:
            result = self.incidents[incident.id] = IncidentResult(
                incident.id, ref(incident.number, incident.series), str(incident.status),
                created)
        result.status = str(incident.status)
