"""Fixtures for the local store's tests: a fresh store file, and one holding a directory
(teams, users, services) and a server-confirmed incident, as a first sync leaves it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hostile import change_page, incident_snapshot

from incidenttui.store import Store

TEAMS = [("service-desk", 1), ("platform", 2), ("network", 2), ("security", 3)]
SERVICES = [("checkout", "service-desk"), ("payments", "platform"), ("search", None)]
USERS = ["rita", "ray"]


def directory_entities() -> list[tuple[str, dict[str, Any]]]:
    teams = [("team", {"id": t, "name": t.title(), "level": lvl, "description": ""})
             for t, lvl in TEAMS]
    services = [("service", {"id": s, "name": s.title(), "team_id": team, "tier": 2,
                             "description": ""}) for s, team in SERVICES]
    users = [("user", {"id": u, "display_name": u.title(), "role": "responder",
                       "team_id": "service-desk", "email": None, "active": True})
             for u in USERS]
    return teams + services + users


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "stores" / "store.db"


@pytest.fixture
def store(store_path: Path) -> Iterator[Store]:
    s = Store(store_path)
    yield s
    s.close()


@pytest.fixture
def synced(store: Store) -> tuple[Store, dict[str, Any]]:
    """A store with the directory, the user ``rita`` and one incident at version 3."""
    store.set_meta("user", "rita")
    snapshot = incident_snapshot(version=3, number=1042, ref="INC-1042")
    store.apply_changes(change_page([*directory_entities(), ("incident", snapshot)])["changes"],
                        cursor=20)
    return store, snapshot
