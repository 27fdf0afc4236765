"""Which matrix operation each endpoint needs (domain/permissions.py), as data.

The routes check the caller against :data:`ENDPOINTS` (one dependency can read it by the
route's method and path template); a test keeps it equal to the app's routes, so a new
endpoint cannot ship without a rule. Endpoints on one incident (:data:`ON_INCIDENT`) are
decided with that incident's visibility and the caller's membership
(:func:`~incidenttui.domain.permissions.decide`); list endpoints check the operation on a
normal incident and then leave out every row the caller cannot see
(:func:`~incidenttui.domain.permissions.can_see`).
"""

from __future__ import annotations

from incidenttui.api import paths
from incidenttui.domain.enums import Action
from incidenttui.domain.permissions import Operation

_INCIDENT = paths.incident("{key}")

#: (method, path template) → the operation the caller needs; None: no token needed.
ENDPOINTS: dict[tuple[str, str], Operation | None] = {
    ("GET", "/healthz"): None,
    ("GET", "/metrics"): None,
    ("GET", paths.ME): Operation.READ_SELF,
    ("GET", paths.INCIDENTS): Operation.READ,
    ("POST", paths.INCIDENTS): Operation.CREATE,
    ("GET", _INCIDENT): Operation.READ,
    ("PATCH", _INCIDENT): Operation.CHANGE_FIELDS,
    ("GET", paths.incident("{key}", "/timeline")): Operation.READ,
    **{("POST", paths.incident("{key}", f"/{a.value}")): Operation.MOVE for a in Action},
    ("POST", paths.incident("{key}", "/escalate")): Operation.ESCALATE,
    ("POST", paths.incident("{key}", "/notes")): Operation.NOTE,
    ("POST", paths.incident("{key}", "/links")): Operation.LINK,
    ("POST", paths.incident("{key}", "/policy-level")): Operation.ESCALATE,
    ("POST", paths.incident("{key}", paths.MEMBERS)): Operation.MANAGE_MEMBERS,
    ("DELETE", paths.incident("{key}", f"{paths.MEMBERS}/{{user}}")): Operation.MANAGE_MEMBERS,
    ("POST", paths.incident("{key}", paths.RESTRICT)): Operation.RESTRICT,
    ("POST", paths.incident("{key}", paths.UNRESTRICT)): Operation.UNRESTRICT,
    ("POST", paths.incident("{key}", paths.BREACH_NOTIFICATION)):
        Operation.RECORD_BREACH_NOTIFICATION,
    ("POST", paths.incident("{key}", paths.DECLARE_MAJOR)): Operation.COMMAND,
    ("POST", paths.incident("{key}", paths.MAJOR_EVENTS)): Operation.COMMAND,
    ("GET", paths.TEAMS): Operation.READ_DIRECTORY,
    ("GET", paths.USERS): Operation.READ_DIRECTORY,
    ("GET", paths.SERVICES): Operation.READ_DIRECTORY,
    ("GET", paths.ONCALL): Operation.READ_DIRECTORY,
    ("GET", paths.CHANGES): Operation.READ,
    # authenticated by an integration's key, which acts with the integration role
    ("POST", paths.ALERTMANAGER): Operation.INGEST_ALERTS,
    ("POST", paths.EVENTS_V2): Operation.INGEST_ALERTS,
    ("GET", paths.INTEGRATIONS): Operation.MANAGE_INTEGRATIONS,
    ("POST", paths.INTEGRATIONS): Operation.MANAGE_INTEGRATIONS,
    ("POST", f"{paths.INTEGRATIONS}/{{integration_id}}/revoke"): Operation.MANAGE_INTEGRATIONS,
    # the public status page: no token, and nothing private on it (server/statuspage.py)
    ("GET", paths.STATUS_PAGE): None,
    ("GET", paths.STATUS_JSON): None,
    ("GET", paths.STATUS_ATOM): None,
    ("POST", paths.incident("{key}", paths.PUBLIC_UPDATE)): Operation.PUBLISH_STATUS,
    ("PUT", paths.service_state("{service_id}")): Operation.SET_COMPONENT_STATE,
    ("GET", paths.MAINTENANCE): Operation.READ_DIRECTORY,
    ("POST", paths.MAINTENANCE): Operation.MANAGE_MAINTENANCE,
    ("POST", paths.maintenance_end("{window_id}")): Operation.MANAGE_MAINTENANCE,
    ("GET", paths.STATUS_SUBSCRIBERS): Operation.MANAGE_STATUS_SUBSCRIBERS,
    ("POST", paths.STATUS_SUBSCRIBERS): Operation.MANAGE_STATUS_SUBSCRIBERS,
    ("DELETE", f"{paths.STATUS_SUBSCRIBERS}/{{subscriber_id}}"):
        Operation.MANAGE_STATUS_SUBSCRIBERS,
}

#: Endpoints about one incident, named by ``{key}``: a caller who cannot see it gets 404.
ON_INCIDENT: frozenset[tuple[str, str]] = frozenset(
    endpoint for endpoint in ENDPOINTS if "{key}" in endpoint[1])

#: Endpoints that list incidents or their changes: each row is filtered by ``can_see``.
FILTERED: frozenset[tuple[str, str]] = frozenset({
    ("GET", paths.INCIDENTS), ("GET", paths.CHANGES)})

#: Endpoints whose caller is an integration key, not a user token.
INTEGRATION_KEYED: frozenset[tuple[str, str]] = frozenset({
    ("POST", paths.ALERTMANAGER), ("POST", paths.EVENTS_V2)})


def operation_for(method: str, path: str) -> Operation | None:
    """The operation a request to ``path`` (a route's template) needs; KeyError when the
    endpoint has no rule (a bug: every endpoint must have one)."""
    return ENDPOINTS[method.upper(), path]
