"""The API's prefix and paths, for the server's routes and the client's requests alike."""

from __future__ import annotations

#: Every API route lives under this prefix (the version is part of the contract).
API = "/api/v1"

ME = f"{API}/me"
CHANGES = f"{API}/changes"
INCIDENTS = f"{API}/incidents"
TEAMS = f"{API}/teams"
USERS = f"{API}/users"
SERVICES = f"{API}/services"
ONCALL = f"{API}/oncall"
EVENTS_V2 = f"{API}/events"
INTEGRATIONS = f"{API}/integrations"
ALERTMANAGER = f"{INTEGRATIONS}/alertmanager"
MAINTENANCE = f"{API}/maintenance"
STATUS_SUBSCRIBERS = f"{API}/status/subscribers"

#: The public status page (no token; outside the API prefix: people and feed readers use it).
STATUS_PAGE = "/status"
STATUS_JSON = "/status.json"
STATUS_ATOM = "/status/feed.atom"

#: Suffixes of one incident's path (see :func:`incident`).
MEMBERS = "/members"
RESTRICT = "/restrict"
UNRESTRICT = "/unrestrict"
BREACH_NOTIFICATION = "/breach-notification"
#: A major incident: declare it, and append its roles, updates, action items, review fields.
DECLARE_MAJOR = "/declare-major"
MAJOR_EVENTS = "/major"
#: A public update on the status page (and the component states it sets).
PUBLIC_UPDATE = "/public-update"


def service_state(service: str) -> str:
    """The path that sets a service's status page state."""
    return f"{SERVICES}/{service}/state"


def maintenance_end(window: str) -> str:
    """The path that ends a maintenance window now."""
    return f"{MAINTENANCE}/{window}/end"


def incident(key: str, suffix: str = "") -> str:
    """The path of one incident (``key`` is its UUID or number), with an optional suffix."""
    return f"{INCIDENTS}/{key}{suffix}"
