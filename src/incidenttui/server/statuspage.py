"""The public status page's data: what the public may see, read from the database, and the
cache that keeps the page up when the database is slow.

:func:`snapshot` is the only code that reads incidents for the public, and it reads through
the domain's rules (domain/statuspage.py): public services only; of incidents, only those
that are not restricted and have public updates, and of those only each update's public
wording and time, under an opaque id (never the number, title, notes, names or any other
field). Everything the page, the JSON and the Atom feed show comes from this snapshot.

:class:`StatusCache` renders the snapshot at most once per :data:`FRESH_SECONDS` (sooner
after a status page write in this process: those routes bump its generation), one render at
a time in a worker thread, awaited with a deadline; when the database is slow or failing it
serves the last rendered page.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from incidenttui.domain import Status
from incidenttui.domain.enums import EventKind
from incidenttui.domain.permissions import is_restricted
from incidenttui.domain.statuspage import (
    HISTORY_DAYS,
    ComponentState,
    Span,
    component_state,
    history,
    is_public_update,
    state_for_priority,
    worst,
)
from incidenttui.server import maintenance
from incidenttui.server.db import Database
from incidenttui.server.models import Incident, MaintenanceWindow, Service, TimelineEvent
from incidenttui.sqltypes import utcnow

log = logging.getLogger("incidenttui.server.statuspage")

#: A rendered page is served this long without asking the database again.
FRESH_SECONDS = 10.0
#: How long a render may take before the last rendered page is served instead.
RENDER_DEADLINE = 2.0
#: Public updates in the Atom feed and per incident on the page.
FEED_ENTRIES = 50


def public_id(incident_id: str) -> str:
    """The id the public sees for an incident: stable, and says nothing (not its number,
    which would tell how many incidents there were)."""
    return hashlib.sha256(f"incidenttui-status:{incident_id}".encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Snapshot:
    """Everything the public may see at ``at``, as plain JSON-ready data."""

    at: datetime
    data: dict[str, Any]


def snapshot(session: Session, now: datetime | None = None, *, title: str = "Service status"
             ) -> Snapshot:
    """What the status page shows now (read in ``session``)."""
    now = now or utcnow()
    services = list(session.exec(select(Service).where(col(Service.public))
                                 .order_by(col(Service.tier), col(Service.name))))
    names = {s.id: s.name for s in services}
    windows = maintenance.listed(session, now)
    active = [maintenance.domain_window(w) for w in windows if w.starts_at <= now]
    since = now - timedelta(days=HISTORY_DAYS)
    updates = _public_updates(session, since)
    incidents = {i.id: i for i in session.exec(select(Incident).where(
        col(Incident.id).in_(sorted({e.incident_id for e in updates}))))}
    # never a restricted incident, whatever its updates say
    updates = [e for e in updates if e.incident_id in incidents
               and not is_restricted(incidents[e.incident_id].category,
                                     incidents[e.incident_id].restricted)]
    by_incident: dict[str, list[TimelineEvent]] = {}
    for event in updates:
        by_incident.setdefault(event.incident_id, []).append(event)

    def affected(incident: Incident, events: list[TimelineEvent]) -> dict[str, str]:
        """Public component → the state its latest update gave it (else by priority)."""
        states: dict[str, str] = {}
        for event in sorted(events, key=lambda e: e.at):
            for name, state in (event.data.get("components") or {}).items():
                if name in names:
                    states[name] = component_state(state).value
        if incident.service in names and incident.service not in states:
            states[incident.service] = state_for_priority(incident.priority).value
        return states

    open_items, spans = [], []
    for incident_id, events in by_incident.items():
        incident = incidents[incident_id]
        states = affected(incident, events)
        end = incident.resolved_at or (now if Status(incident.status).is_open else
                                       incident.updated_at)
        for name, state in states.items():
            spans.append(Span(name, incident.created_at, end, ComponentState(state)))
        if not Status(incident.status).is_open:
            continue
        newest = sorted(events, key=lambda e: e.at, reverse=True)[:FEED_ENTRIES]
        open_items.append({
            "id": public_id(incident_id),
            "components": [{"id": n, "name": names[n], "state": s} for n, s in states.items()],
            "since": newest[-1].at.isoformat(),
            "updates": [_update(e) for e in newest]})
    open_items.sort(key=lambda item: item["updates"][0]["at"], reverse=True)
    live = {c["id"]: ComponentState(c["state"]) for item in open_items
            for c in item["components"]}
    components = []
    for svc in services:
        states = [component_state(svc.component_state)]
        if svc.id in live:
            states.append(live[svc.id])
        if any(w.covers(svc.id, now) for w in active):
            states.append(ComponentState.MAINTENANCE)
        components.append({"id": svc.id, "name": svc.name, "state": worst(states).value})
    past = list(session.exec(select(MaintenanceWindow).where(
        col(MaintenanceWindow.ends_at) >= since)))
    bars = history(spans, [maintenance.domain_window(w) for w in past], list(names),
                   now.date())
    for component in components:
        component["history"] = [s.value for s in bars[component["id"]]]
    feed = sorted(updates, key=lambda e: e.at, reverse=True)[:FEED_ENTRIES]
    data = {
        "title": title, "updated_at": now.isoformat(),
        "overall": worst(ComponentState(c["state"]) for c in components).value,
        "components": components, "incidents": open_items,
        "maintenance": [_window(w, names, now) for w in windows
                        if any(s in names for s in w.services)],
        "history_days": HISTORY_DAYS,
        "history_start": (now.date() - timedelta(days=HISTORY_DAYS - 1)).isoformat(),
        "feed": [{"incident": public_id(e.incident_id), **_update(e),
                  "components": [names[n] for n in (e.data.get("components") or {})
                                 if n in names]} for e in feed],
    }
    return Snapshot(now, data)


def _public_updates(session: Session, since: datetime) -> list[TimelineEvent]:
    events = session.exec(select(TimelineEvent).where(
        col(TimelineEvent.kind) == EventKind.STATUS_UPDATE.value,
        col(TimelineEvent.at) >= since))
    return [e for e in events if is_public_update(e.kind, e.data)]


def _update(event: TimelineEvent) -> dict[str, Any]:
    """A public update as the public sees it: its id, time and public wording only."""
    return {"id": event.id, "at": event.at.isoformat(),
            "text": str(event.data["public_text"]).strip()}


def _window(row: MaintenanceWindow, names: dict[str, str], now: datetime) -> dict[str, Any]:
    shown = [s for s in row.services if s in names]
    return {"id": row.id, "components": [names[s] for s in shown],
            "starts_at": row.starts_at.isoformat(),
            "ends_at": (min(row.ends_at, row.ended_at) if row.ended_at else row.ends_at
                        ).isoformat(),
            "reason": row.reason, "active": row.starts_at <= now}


# -- the cache ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    """One rendering of the snapshot in each format, with its ETag."""

    generation: int
    made: float  # time.monotonic()
    at: datetime
    bodies: dict[str, bytes]
    etags: dict[str, str]


class StatusCache:
    """The last rendered status page; rendered again when stale, one render at a time."""

    def __init__(self, db: Database, render: Callable[[Snapshot], dict[str, bytes]],
                 fresh: float = FRESH_SECONDS, deadline: float = RENDER_DEADLINE) -> None:
        self.db, self.render = db, render
        self.fresh, self.deadline = fresh, deadline
        self.generation = 0  # bumped by the status page's writes in this process
        self.last: Rendered | None = None
        self._lock = threading.Lock()
        #: The render in progress: every request waits on this one (a slow database never
        #: ties up a thread per request).
        self._pending: asyncio.Future[Rendered] | None = None

    def changed(self) -> None:
        self.generation += 1

    def _build(self, generation: int) -> Rendered:
        with self._lock:  # one render at a time; the others wait for it, or time out
            last = self.last
            if last is not None and last.generation == generation and \
                    time.monotonic() - last.made < self.fresh:
                return last
            with self.db.read() as session:
                shot = snapshot(session)
            bodies = self.render(shot)
            rendered = Rendered(generation, time.monotonic(), shot.at, bodies, {
                kind: '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
                for kind, body in bodies.items()})
            self.last = rendered
            return rendered

    async def get(self) -> tuple[Rendered | None, bool]:
        """The current rendering and whether it is stale (served because a new one could
        not be made in time); ``(None, True)`` when none could ever be made."""
        generation, last = self.generation, self.last
        if last is not None and last.generation == generation and \
                time.monotonic() - last.made < self.fresh:
            return last, False
        pending = self._pending
        if pending is None or pending.done():
            pending = self._pending = asyncio.ensure_future(
                asyncio.to_thread(self._build, generation))
            # its failure is reported below to whoever waits; never "never retrieved"
            pending.add_done_callback(lambda f: f.cancelled() or f.exception())
        try:
            return await asyncio.wait_for(asyncio.shield(pending), self.deadline), False
        except Exception as exc:  # slow or failing database: the last page will do
            log.warning("status page not rendered (%s); serving the last one",
                        type(exc).__name__ if isinstance(exc, TimeoutError) else exc)
            return self.last, True
