"""The sync engine and the security contract: capabilities from /me, forget entries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hostile import HostileServer, change_page, me_json, routes, send_json

from incidenttui.domain.permissions import Operation, operations
from incidenttui.store import Store


def me_with(role: str, capabilities: list[str] | None = None,
            restricted: list[str] | None = None) -> dict[str, Any]:
    body = me_json()
    body["user"]["role"] = role
    if capabilities is not None:
        body["capabilities"] = capabilities
    if restricted is not None:
        body["restricted_capabilities"] = restricted
    return body


def server(me: dict[str, Any], page: dict[str, Any] | None = None) -> HostileServer:
    return HostileServer(routes({"/api/v1/me": send_json(me),
                                 "/api/v1/changes": send_json(page or change_page([]))},
                                send_json({"detail": "no"}, 404)))


async def test_the_engine_keeps_the_capabilities_from_me(make_client: Any,
                                                         tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    store.set_meta("user", "rita")  # known already: /me is still read once per engine
    with server(me_with("responder", ["read", "note"], [])) as hostile:
        client = make_client(hostile.base_url, "tok", store=store)
        await client.sync()
        caps = store.capabilities()
        assert (caps.role, caps.normal, caps.restricted) == (
            "responder", {Operation.READ, Operation.NOTE}, frozenset())
        await client.sync()
        assert sum(1 for r in hostile.requests if r[1] == "/api/v1/me") == 1


async def test_an_older_server_without_lists_gets_the_role_matrix(make_client: Any) -> None:
    with server(me_with("viewer")) as hostile:
        client = make_client(hostile.base_url, "tok")
        await client.sync()
        assert client.store.capabilities().normal == operations("viewer")
        assert client.store.user_id == "rita"


async def test_a_forget_entry_removes_the_local_copy_and_tells_once(make_client: Any,
                                                                  tmp_path: Path) -> None:
    from hostile import event_json, incident_snapshot

    from incidenttui.store import AddNote
    from incidenttui.sync.engine import SyncEngine

    store = Store(tmp_path / "f.db")
    store.set_meta("user", "rita")
    snap = incident_snapshot(number=1042, ref="INC-1042", category="security")
    first = change_page([("incident", snap), ("event", event_json(snap["id"], "ioc list"))])
    store.apply_changes(first["changes"], first["cursor"])
    store.execute(AddNote(snap["id"], text="unsent"))
    # The server refuses the queued note (no access any more), then the feed says forget.
    gone = change_page([("forget", {"id": snap["id"], "incident_id": snap["id"]})],
                       start=first["cursor"])
    table = {"/api/v1/me": send_json(me_with("responder")),
             "/api/v1/changes": send_json(gone),
             "/api/v1/incidents": send_json({"detail": "Incident not found"}, 404)}
    told: list[list[dict[str, Any]]] = []
    with HostileServer(routes(table, send_json({"detail": "no"}, 404))) as hostile:
        client = make_client(hostile.base_url, "tok", store=store)
        client.engine = SyncEngine(store, client.api, on_forget=told.append)
        await client.sync()
        await client.sync()  # the same page again: nothing more to tell
    assert store.get(snap["id"]) is None and store.timeline(snap["id"]) == []
    assert store.pending_count() == 0 and store.conflict_count() == 0
    assert told == [[{"id": snap["id"], "number": 1042, "series": "INC", "dropped": 0}]]
    assert store.cursor == str(gone["cursor"])  # an older server's integer, kept as text
