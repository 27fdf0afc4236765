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

#: Suffixes of one incident's path (see :func:`incident`).
MEMBERS = "/members"
RESTRICT = "/restrict"
UNRESTRICT = "/unrestrict"
BREACH_NOTIFICATION = "/breach-notification"
#: A major incident: declare it, and append its roles, updates, action items, review fields.
DECLARE_MAJOR = "/declare-major"
MAJOR_EVENTS = "/major"


def incident(key: str, suffix: str = "") -> str:
    """The path of one incident (``key`` is its UUID or number), with an optional suffix."""
    return f"{INCIDENTS}/{key}{suffix}"
