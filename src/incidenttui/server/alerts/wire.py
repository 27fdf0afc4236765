"""Wire formats: the bodies Alertmanager (webhook, payload version 4) and PagerDuty Events API
v2 senders post, the answers they get, the integration admin bodies, and the mapping of each
alert onto an :class:`AlertIn`.

Mapping: an Alertmanager alert's title is its ``summary`` annotation, else its alert name;
its labels ``severity``, ``impact``, ``urgency`` (1–3), ``category`` (a known category) and
``service`` (a known service) override the integration's defaults; ``startsAt`` (Events v2:
``payload.timestamp``) is the incident's start, so the time to detect is known.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from incidenttui.api.schemas import Level, Slug, no_nul, not_blank
from incidenttui.domain import Category, Status
from incidenttui.server.alerts.jobs import AlertIn

# -- request bodies and answers -----------------------------------------------------------


Severity = Literal["critical", "error", "warning", "info"]
Short = Annotated[str, StringConstraints(max_length=1024)]


class AlertmanagerAlert(BaseModel):
    """One alert of an Alertmanager notification."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    status: Literal["firing", "resolved"]
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: datetime | None = Field(None, alias="startsAt")
    ends_at: datetime | None = Field(None, alias="endsAt")
    generator_url: str = Field("", alias="generatorURL", max_length=8192)
    fingerprint: str | None = Field(None, min_length=1, max_length=256,
                                    description="Alertmanager's alert identity; computed from "
                                                "the labels when absent")


class AlertmanagerWebhook(BaseModel):
    """Alertmanager's webhook notification, payload version 4."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    version: Literal["4"]
    group_key: str = Field(alias="groupKey", min_length=1, max_length=100_000)
    truncated_alerts: int = Field(0, alias="truncatedAlerts", ge=0)
    status: Literal["firing", "resolved"]
    receiver: str = Field("", max_length=1024)
    group_labels: dict[str, str] = Field(default_factory=dict, alias="groupLabels")
    common_labels: dict[str, str] = Field(default_factory=dict, alias="commonLabels")
    common_annotations: dict[str, str] = Field(default_factory=dict, alias="commonAnnotations")
    external_url: str = Field("", alias="externalURL", max_length=8192)
    alerts: list[AlertmanagerAlert] = Field(max_length=10_000)


class IncidentRef(BaseModel):
    id: str
    ref: str = Field(description="The incident's number, e.g. INC-1042")
    status: Status
    created: bool = Field(description="True when this request opened the incident")


class AlertmanagerResult(BaseModel):
    """What one notification did."""

    status: Literal["success"] = "success"
    alerts: int = Field(description="Alerts in the notification")
    created: int = Field(description="Incidents opened")
    joined: int = Field(description="New alerts attached to an open incident")
    repeats: int = Field(description="Alerts seen again (their count went up)")
    resolved: int = Field(description="Alerts recorded as resolved")
    ignored: int = Field(description="Resolved alerts with no open incident")
    held: int = Field(0, description="Alerts held back by a maintenance window: recorded, "
                                     "no incident opened, nobody paged")
    auto_resolved: int = Field(description="Incidents resolved because every alert recovered")
    truncated_alerts: int = Field(0, description="Alerts Alertmanager left out (max_alerts)")
    incidents: list[IncidentRef]


def _routing_key(value: str) -> str:
    if len(value) != 32:
        raise ValueError("Length of 'routing_key' is incorrect (should be 32 characters)")
    return value


def _utc(value: datetime | None) -> datetime | None:
    # PagerDuty reads a timestamp without an offset as UTC; so do we.
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


class EventLink(BaseModel):
    model_config = ConfigDict(extra="allow")

    href: Annotated[str, StringConstraints(min_length=1, max_length=8192)]
    text: Short | None = None


class EventImage(BaseModel):
    model_config = ConfigDict(extra="allow")

    src: Annotated[str, StringConstraints(min_length=1, max_length=8192)]
    href: Annotated[str, StringConstraints(max_length=8192)] | None = None
    alt: Short | None = None


class EventPayload(BaseModel):
    """What happened (trigger events only)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    summary: Annotated[str, StringConstraints(min_length=1, max_length=1024),
                       AfterValidator(not_blank)]
    source: Annotated[str, StringConstraints(min_length=1, max_length=1024),
                      AfterValidator(not_blank)]
    severity: Severity
    timestamp: Annotated[datetime | None, AfterValidator(_utc)] = None
    component: Short | None = None
    group: Short | None = None
    class_: Short | None = Field(None, alias="class")
    custom_details: Any = None


class EventsV2Event(BaseModel):
    """A PagerDuty Events API v2 event (``POST /v2/enqueue`` body)."""

    model_config = ConfigDict(extra="allow")

    routing_key: Annotated[str, AfterValidator(_routing_key)] = Field(
        description="The integration key (32 characters)")
    event_action: Literal["trigger", "acknowledge", "resolve"]
    dedup_key: Annotated[str, StringConstraints(max_length=255)] | None = Field(
        None, description="Identifies the alert; generated for a trigger without one")
    payload: EventPayload | None = None
    images: list[EventImage] = Field(default_factory=list, max_length=100)
    links: list[EventLink] = Field(default_factory=list, max_length=100)
    client: Short | None = None
    client_url: Annotated[str, StringConstraints(max_length=8192)] | None = None

    @field_validator("dedup_key")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value if value else None

    @model_validator(mode="after")
    def _action_needs(self) -> EventsV2Event:
        if self.event_action == "trigger" and self.payload is None:
            raise ValueError("'payload' is required for trigger events")
        if self.event_action != "trigger" and not self.dedup_key:
            raise ValueError(f"'dedup_key' is required for {self.event_action} events")
        return self


class EventsAccepted(BaseModel):
    status: Literal["success"] = "success"
    message: str = "Event processed"
    dedup_key: str


class EventsError(BaseModel):
    status: str = Field(description="'invalid event', or 'error' when the server cannot "
                                    "take events right now")
    message: str
    errors: list[str] = Field(default_factory=list)


class SeverityTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    impact: Level
    urgency: Level


class IntegrationCreate(BaseModel):
    """A new integration; its key is in the answer, and only there."""

    model_config = ConfigDict(extra="forbid")

    service: Slug
    kind: Literal["alertmanager", "events"]
    name: Annotated[str, StringConstraints(min_length=1, max_length=200),
                    AfterValidator(no_nul), AfterValidator(not_blank)] | None = None
    auto_resolve: bool = Field(True, description="Resolve the incident when every alert "
                                                 "has recovered")
    category: Category = Category.AVAILABILITY
    severity_map: dict[Severity, SeverityTarget] = Field(
        default_factory=dict, description="Overrides of the default severity → impact/urgency "
                                          "mapping (critical 1/1, error 2/1, warning 2/2, "
                                          "info 3/3)")


class IntegrationOut(BaseModel):
    id: str
    name: str
    service: str
    kind: str
    auto_resolve: bool
    category: str
    severity_map: dict[str, SeverityTarget] = Field(
        description="The effective mapping, defaults included")
    created_by: str | None
    created_at: datetime
    revoked_at: datetime | None
    active: bool


class IntegrationCreated(IntegrationOut):
    key: str = Field(description="The integration key, shown only in this answer")
    endpoint: str = Field(description="Where the integration sends its alerts")


# -- from wire format to alerts -----------------------------------------------------------


def _labels_fingerprint(labels: Mapping[str, str]) -> str:
    text = "\x1f".join(f"{k}\x1e{v}" for k, v in sorted(labels.items()))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _alertmanager_description(labels: Mapping[str, str], annotations: Mapping[str, str],
                              generator_url: str, external_url: str) -> str:
    lines = [annotations["description"]] if annotations.get("description") else []
    if not annotations.get("summary") and annotations.get("message"):
        lines.append(annotations["message"])
    lines.append("Labels: " + ", ".join(f"{k}={v}" for k, v in sorted(labels.items())))
    for key in ("runbook_url", "dashboard_url"):
        if annotations.get(key):
            lines.append(f"{key.replace('_', ' ').capitalize()}: {annotations[key]}")
    if generator_url:
        lines.append(f"Source: {generator_url}")
    if external_url:
        lines.append(f"Alertmanager: {external_url}")
    return "\n\n".join(lines)


def from_alertmanager(body: AlertmanagerWebhook) -> list[AlertIn]:
    """The alerts of one Alertmanager notification."""
    result = []
    for alert in body.alerts:
        labels = {**body.common_labels, **alert.labels}
        annotations = {**body.common_annotations, **alert.annotations}
        name = labels.get("alertname", "")
        summary = annotations.get("summary") or annotations.get("title") or name
        source = labels.get("instance") or labels.get("job") or ""
        details: dict[str, Any] = {"labels": labels, "annotations": annotations}
        if alert.generator_url:
            details["generator_url"] = alert.generator_url
        result.append(AlertIn(
            action="trigger" if alert.status == "firing" else "resolve",
            key=alert.fingerprint or _labels_fingerprint(labels), group_key=body.group_key,
            summary=summary or "Alertmanager alert", severity=labels.get("severity"),
            source=source, description=functools.partial(
                _alertmanager_description, labels, annotations, alert.generator_url,
                body.external_url), starts_at=alert.starts_at,
            ends_at=alert.ends_at, labels=labels, details=details))
    return result


def from_event(event: EventsV2Event) -> AlertIn:
    """The alert of one Events v2 event (its ``dedup_key`` is set for triggers by then)."""
    key = event.dedup_key or ""
    payload = event.payload
    if event.event_action != "trigger" or payload is None:
        return AlertIn(action=event.event_action, key=key, group_key=key)
    details: dict[str, Any] = {"source_host": payload.source}
    for name, value in (("component", payload.component), ("group", payload.group),
                        ("class", payload.class_), ("custom_details", payload.custom_details),
                        ("client", event.client), ("client_url", event.client_url)):
        if value is not None:
            details[name] = value
    if event.links:
        details["links"] = [link.model_dump(exclude_none=True) for link in event.links]
    if event.images:
        details["images"] = [image.model_dump(exclude_none=True) for image in event.images]
    return AlertIn(action="trigger", key=key, group_key=key, summary=payload.summary,
                          severity=payload.severity, source=payload.source,
                          description=functools.partial(_event_description, event, details),
                          starts_at=payload.timestamp, details=details)


def _event_description(event: EventsV2Event, details: Mapping[str, Any]) -> str:
    payload = event.payload
    assert payload is not None
    lines = [payload.summary, f"Source: {payload.source}"]
    lines += [f"{name.capitalize()}: {details[name]}" for name in ("component", "group", "class")
              if name in details]
    if payload.custom_details is not None:
        lines.append("Details:\n" + json.dumps(payload.custom_details, indent=2,
                                               ensure_ascii=False, default=str))
    lines += [f"Link: {link.text + ' ' if link.text else ''}{link.href}" for link in event.links]
    if event.client:
        lines.append(f"Sent by: {event.client}" + (f" ({event.client_url})"
                                                    if event.client_url else ""))
    return "\n".join(lines)
