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
