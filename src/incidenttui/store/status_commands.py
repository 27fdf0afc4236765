"""Commands for the status page and maintenance windows: they take the one path every change
takes (:meth:`Store.execute` → store and outbox in one transaction → sync).

:class:`PostPublicUpdate` is about one incident: a ``status_update`` timeline event marked
public (the contract the commander's stakeholder updates share), optionally with component
states. The others are not about an incident (their outbox rows carry no incident id):
:class:`SetComponentState`, :class:`PlanMaintenance` and :class:`EndMaintenance`; the store
applies them to its services and windows (:meth:`Store.execute`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from incidenttui.api.paths import MAINTENANCE, PUBLIC_UPDATE, maintenance_end, service_state
from incidenttui.domain.effects import Effect
from incidenttui.domain.permissions import Operation
from incidenttui.domain.statuspage import (
    check_window,
    component_state,
    public_update_effect,
)
from incidenttui.store.commands import ApiRequest, Command, Context

#: The outbox's incident id of a change that is about no incident.
NO_INCIDENT = ""


@dataclass(frozen=True)
class PostPublicUpdate(Command):
    """Post a public update on an incident (its public wording, and component states)."""

    public_text: str = ""
    components: dict[str, str] = field(default_factory=dict)
    update_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    kind: ClassVar[str] = "public_update"
    operation: ClassVar[Operation] = Operation.PUBLISH_STATUS

    def effect(self, state: Mapping[str, Any] | None, ctx: Context) -> Effect:
        return public_update_effect(self._need(state), self.public_text, self.components,
                                    self.update_id)

    def request(self, base_version: int) -> ApiRequest:
        return ApiRequest("POST", self._path(PUBLIC_UPDATE), {
            "id": self.update_id, "public_text": self.public_text.strip(),
            "components": {name: component_state(state).value
                           for name, state in self.components.items()}})

    def what(self) -> str:
        return "post public updates"

    def describe(self) -> str:
        return "public update"


@dataclass(frozen=True)
class DirectoryCommand(Command):
    """A change about no incident (``incident_id`` is :data:`NO_INCIDENT`)."""

    incident_bound: ClassVar[bool] = False

    def effect(self, state: Mapping[str, Any] | None, ctx: Context) -> Effect:
        return Effect({}, [])

    def check(self, now: datetime) -> None:
        """:class:`~incidenttui.domain.Refused` when the domain's rules refuse it."""


@dataclass(frozen=True)
class SetComponentState(DirectoryCommand):
    """Set a service's state on the status page."""

    service: str = ""
    state: str = "operational"
    kind: ClassVar[str] = "component_state"
    operation: ClassVar[Operation] = Operation.SET_COMPONENT_STATE

    @classmethod
    def new(cls, service: str, state: str) -> SetComponentState:
        return cls(NO_INCIDENT, service=service, state=component_state(state).value)

    def check(self, now: datetime) -> None:
        component_state(self.state)

    def request(self, base_version: int) -> ApiRequest:
        return ApiRequest("PUT", service_state(self.service), {"state": self.state})

    def what(self) -> str:
        return "set component states"

    def describe(self) -> str:
        return f"set {self.service} to {self.state.replace('_', ' ')}"


@dataclass(frozen=True)
class PlanMaintenance(DirectoryCommand):
    """Plan a maintenance window (its id chosen here, so an offline plan keeps it)."""

    window_id: str = ""
    services: tuple[str, ...] = ()
    starts_at: str = ""  # ISO 8601 with offset (the outbox keeps JSON)
    ends_at: str = ""
    reason: str = ""
    kind: ClassVar[str] = "maintenance_create"
    operation: ClassVar[Operation] = Operation.MANAGE_MAINTENANCE

    @classmethod
    def new(cls, services: list[str], start: datetime, end: datetime,
            reason: str = "") -> PlanMaintenance:
        return cls(NO_INCIDENT, window_id=str(uuid.uuid4()), services=tuple(services),
                   starts_at=start.isoformat(), ends_at=end.isoformat(), reason=reason.strip())

    @property
    def start(self) -> datetime:
        return datetime.fromisoformat(self.starts_at)

    @property
    def end(self) -> datetime:
        return datetime.fromisoformat(self.ends_at)

    def check(self, now: datetime) -> None:
        check_window(list(self.services), self.start, self.end, self.reason, now)

    def payload(self) -> dict[str, Any]:
        data = super().payload()
        data["services"] = list(self.services)
        return data

    def request(self, base_version: int) -> ApiRequest:
        return ApiRequest("POST", MAINTENANCE, {
            "id": self.window_id, "services": list(self.services), "starts_at": self.starts_at,
            "ends_at": self.ends_at, "reason": self.reason})

    def what(self) -> str:
        return "plan maintenance windows"

    def describe(self) -> str:
        return f"plan maintenance of {', '.join(self.services)}"


@dataclass(frozen=True)
class EndMaintenance(DirectoryCommand):
    """End a maintenance window now."""

    window_id: str = ""
    kind: ClassVar[str] = "maintenance_end"
    operation: ClassVar[Operation] = Operation.MANAGE_MAINTENANCE

    @classmethod
    def new(cls, window_id: str) -> EndMaintenance:
        return cls(NO_INCIDENT, window_id=window_id)

    def request(self, base_version: int) -> ApiRequest:
        return ApiRequest("POST", maintenance_end(self.window_id), None)

    def what(self) -> str:
        return "end maintenance windows"

    def describe(self) -> str:
        return f"end maintenance window {self.window_id[:8]}"


STATUS_COMMANDS: tuple[type[Command], ...] = (
    PostPublicUpdate, SetComponentState, PlanMaintenance, EndMaintenance)
