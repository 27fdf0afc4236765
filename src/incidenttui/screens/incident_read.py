"""Reading one incident for a screen: the incident, its timeline and what the user may do.

Run in a worker thread (the store is never read on the event loop); a store that cannot be
read is said in words (:meth:`IncidentApp.report_error`), never raised into the screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class IncidentRead:
    """One read of an incident: None when it is no longer in the store (no events then)."""

    incident: Any
    events: list[Any]
    #: What the user may do (store.capabilities.Capabilities), read with the incident.
    capabilities: Any
    #: The maintenance windows of its service, as SLA pauses (domain/sla.py).
    sla_pauses: tuple[Any, ...] = ()


def read_incident(app: Any, incident_id: str, failure: str) -> IncidentRead | None:
    """Read ``incident_id`` from ``app.store`` (call from a worker thread). None when the
    store is not loaded yet, or when the read failed: then ``failure`` and the error are
    reported to the user."""
    store = app.store
    if store is None:
        return None
    try:
        incident = store.get(incident_id)
        events = store.timeline(incident_id) if incident is not None else []
        capabilities = store.capabilities()
        pauses = tuple(store.sla_pauses(incident.service)) if incident is not None else ()
    except Exception as exc:  # a locked or damaged store: say so, keep running
        app.report_error(failure, exc)
        return None
    return IncidentRead(incident, events, capabilities, pauses)
