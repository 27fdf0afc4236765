"""Alert ingestion: monitoring events de-duplicated into incidents.

Two sources speak here: Prometheus Alertmanager webhooks and PagerDuty Events API v2 events.
Both arrive as :class:`AlertIn` values and take the same path, the server's ordinary write
path (:class:`service.Writer`: create, the domain's lifecycle moves, timeline events, the
change feed), so the clients sync alert-made incidents like any other. The actor is the
``incidenttui`` system user (role responder, no token), created on first use.

=====================  ===================================================================
module                 holds
=====================  ===================================================================
``wire``               Alertmanager v4 and Events v2 bodies and answers, the integration
                       admin bodies, and their mapping onto :class:`AlertIn`
``jobs``               :class:`AlertIn`, :class:`Job` (one request's alerts), :class:`Outcome`
``integrations``       integration keys; create, revoke, list
``severity``           severity → impact and urgency, aliases, an integration's overrides
``dedup``              :class:`Batch`: one transaction's records, groups and incident moves
``ingest``             :class:`Ingestor`: batches written in group commits
                       (:mod:`incidenttui.server.group_commit`) as the system user
``text``               alert text made safe to store (NUL, lengths)
``routes``             the HTTP endpoints (:func:`add_routes`)
=====================  ===================================================================

Repeats
    Each alert key appears once on its incident's timeline: one ``alert`` event, whose id is
    the :class:`AlertRecord` id. A repeat raises ``count`` and ``last_seen`` on the record and
    on that event's ``data`` (its text shows "firing ×N"), and the event's new snapshot is put
    in the change feed again under the same id (:meth:`service.Writer.update_event`). We chose
    this over appending "repeat" summary events because the count on every client is then
    exact and current, the timeline stays one line per alert however long a storm lasts, and
    the clients already upsert events by id (the store's ``apply_changes``); the server owns
    alert events, so no client edit can conflict with the update. Within one group commit a
    key's repeats coalesce into one feed entry, so a storm costs one feed row per alert per
    batch, not per event. A repeat keeps the alert's latest summary, severity and details, but
    never changes the incident's fields: once an incident exists, its priority and title
    belong to the responders.

Resolution
    A resolved alert is recorded on its record and event. When no alert of an incident is still
    firing, the integration's rule decides: with ``auto_resolve`` the incident is resolved by
    the system user with resolution code ``other`` (the domain has no "auto resolved" code) and
    a resolution note saying why, which the timeline shows; the lifecycle forbids new →
    resolved, so a never-acknowledged incident is first acknowledged by the system user, and
    both moves appear on the timeline with that actor (acknowledged_at then reads as the
    recovery time, which KPIs can tell apart by the actor). Without ``auto_resolve`` an
    ``alert`` event says every alert recovered and the incident waits for a responder. An
    Events v2 ``acknowledge`` acknowledges a new incident and is a no-op otherwise.

Throughput
    ``benchmarks/alerts_throughput.py`` measures it: group commits (one fsync per batch), bulk
    look-ups and Core writes of alert records in :mod:`.dedup`, and the Events v2 body validated
    from its bytes in its route class (:class:`routes.ValidatedBodyRoute`).

Names load on first use, so the CLI's admin verbs do not import FastAPI.
"""

from __future__ import annotations

from incidenttui.lazy import exports

_MODULES = {
    "dedup": ("AUTO_RESOLUTION_CODE", "Batch", "key_hash"),
    "ingest": ("SYSTEM_USER", "Ingestor", "ensure_system_user"),
    "integrations": ("KINDS", "KIND_LABELS", "create_integration", "list_integrations",
                     "new_integration_key", "revoke_integration"),
    "jobs": ("AlertIn", "IncidentResult", "Job", "Outcome"),
    "routes": ("MAX_BODY_BYTES", "EventsRoute", "ValidatedBodyRoute", "add_routes", "router"),
    "severity": ("DEFAULT_SEVERITY", "DEFAULT_SEVERITY_MAP", "SEVERITIES", "normalise_severity",
                 "severity_targets"),
    "wire": ("AlertmanagerWebhook", "EventsV2Event", "from_alertmanager", "from_event"),
}
_lookup = exports(__name__, _MODULES)


def __getattr__(name: str) -> object:
    value = _lookup(name)
    globals()[name] = value  # found once: from then on a plain module attribute
    return value


__all__ = sorted(name for names in _MODULES.values() for name in names)
