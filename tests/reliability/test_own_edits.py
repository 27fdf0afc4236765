"""A user's own queued edits never conflict with each other, whoever writes in between.

The fault schedules found this (a few times in every 40 schedules): ``Store.confirm`` used to move
later queued entries to the new version only when the server's answer was exactly
``base_version + 1`` and never after a note (its answer is an event), so a user's second
queued change to a field went out against a version older than their own first change and
came back as a conflict "changed by someone else" (mine = my second value, theirs = my
first). Fixed in the store (``_rebase_later``); these are the deterministic reproductions,
against a real server subprocess, kept as regression tests.

The last test is the case that fix left open (found by the fault schedules, about one
schedule in a hundred): a queued change that touched a field someone else changed *and* a
field the user changed themselves meanwhile kept its old base, so it conflicted on both. The
rebase now splits such a change; only the field someone else changed conflicts."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
from reliability_server import ServerProcess  # type: ignore[import-not-found]

from incidenttui.store import AddNote, CreateIncident, Store, UpdateFields
from incidenttui.sync.client import ApiClient
from incidenttui.sync.engine import SyncEngine


async def _sync(store: Store, server: ServerProcess, role: str) -> None:
    client = ApiClient(server.base_url, server.tokens[role], timeout=10, verify=False)
    try:
        await SyncEngine(store, client).sync_once()
    finally:
        await client.aclose()


def _server_title(server: ServerProcess, incident_id: str) -> str:
    headers = {"Authorization": f"Bearer {server.tokens['admin']}"}
    response = httpx.get(f"{server.base_url}/api/v1/incidents/{incident_id}", headers=headers,
                         timeout=30)
    response.raise_for_status()
    return str(response.json()["title"])


def test_a_users_own_queued_changes_never_conflict_after_a_note(
        reliability_server: ServerProcess, scratch: Path) -> None:
    store = Store(scratch / f"known-{uuid.uuid4().hex[:8]}.db")
    try:
        incident = store.execute(CreateIncident.new(title="disk full", service="checkout"))
        asyncio.run(_sync(store, reliability_server, "responder"))
        # Offline: a note, then the title changed twice.
        store.execute(AddNote(incident.id, text="looking"))
        store.execute(UpdateFields(incident.id, {"title": "disk full on db-1"}))
        store.execute(UpdateFields(incident.id, {"title": "disk full on db-2"}))
        asyncio.run(_sync(store, reliability_server, "responder"))
        assert [(c.field, c.mine, c.theirs) for c in store.conflicts()] == []
        assert _server_title(reliability_server, incident.id) == "disk full on db-2"
    finally:
        store.close()


def test_a_users_own_queued_changes_never_conflict_after_another_users_note(
        reliability_server: ServerProcess, scratch: Path) -> None:
    rita = Store(scratch / f"known-{uuid.uuid4().hex[:8]}.db")
    ray = Store(scratch / f"known-{uuid.uuid4().hex[:8]}.db")
    try:
        incident = rita.execute(CreateIncident.new(title="vpn down", service="checkout"))
        asyncio.run(_sync(rita, reliability_server, "responder"))
        asyncio.run(_sync(ray, reliability_server, "other"))
        # Ray, offline, reassigns twice; meanwhile Rita only adds a note.
        ray.execute(UpdateFields(incident.id, {"assignee": "cora"}))
        ray.execute(UpdateFields(incident.id, {"assignee": "adam"}))
        rita.execute(AddNote(incident.id, text="customers report it too"))
        asyncio.run(_sync(rita, reliability_server, "responder"))
        asyncio.run(_sync(ray, reliability_server, "other"))
        assert [(c.field, c.mine, c.theirs) for c in ray.conflicts()] == []
        local = ray.get(incident.id)
        assert local is not None and local.assignee == "adam"
    finally:
        rita.close()
        ray.close()


def test_only_the_field_someone_else_changed_conflicts(reliability_server: ServerProcess,
                                                      scratch: Path) -> None:
    rita = Store(scratch / f"known-{uuid.uuid4().hex[:8]}.db")
    ray = Store(scratch / f"known-{uuid.uuid4().hex[:8]}.db")
    try:
        incident = rita.execute(CreateIncident.new(title="db slow", service="checkout"))
        asyncio.run(_sync(rita, reliability_server, "responder"))
        asyncio.run(_sync(ray, reliability_server, "other"))
        # Rita, offline: assign to adam; then hand it to network and cora in one change.
        rita.execute(UpdateFields(incident.id, {"assignee": "adam"}))
        rita.execute(UpdateFields(incident.id, {"team": "network", "assignee": "cora"}))
        # Ray moves the team meanwhile.
        ray.execute(UpdateFields(incident.id, {"team": "platform"}))
        asyncio.run(_sync(ray, reliability_server, "other"))
        asyncio.run(_sync(rita, reliability_server, "responder"))
        # Only the team conflicts (Ray changed it); the assignee was Rita's own change.
        assert [(c.field, c.mine, c.theirs) for c in rita.conflicts()] == [
            ("team", "network", "platform")]
        local = rita.get(incident.id)
        assert local is not None and local.assignee == "cora"
    finally:
        rita.close()
        ray.close()
