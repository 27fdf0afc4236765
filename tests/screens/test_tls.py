"""The app against a real server behind uvicorn's TLS: a certificate it does not trust is said
once, in words, and the app keeps working from its cache; with the team's CA bundle it syncs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from app_harness import (  # type: ignore[import-not-found]
    notification_texts,
    paste,
    screen_lines,
    wait_for,
    wait_online,
    wait_queue,
    wait_synced,
    wait_text,
)
from tls_server import TlsServer, team_ca  # type: ignore[import-not-found]

from incidenttui.tls import client_verify
from incidenttui.tui import make_app


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsServer]:
    certs = team_ca(tmp_path_factory.mktemp("tls"))
    server = TlsServer(tmp_path_factory.mktemp("tls-server"), certs).start()
    try:
        yield server
    finally:
        server.stop()


async def show_only(pilot: Any, tag: str, incident_id: str) -> None:
    await pilot.press("slash")
    await paste(pilot, tag)
    await pilot.press("enter")
    await wait_queue(pilot, lambda ids: ids == [incident_id])


def trust_notices(app: Any) -> list[str]:
    return [t for t in notification_texts(app) if t.startswith("Secure connection failed:")]


async def test_an_untrusted_server_is_said_once_and_the_cache_keeps_working(
        tls_server: TlsServer, tag: str, config_for: Any, tmp_path: Any) -> None:
    incident = tls_server.create(f"{tag} card payments declined")
    ref = f"INC-{incident['number']}"
    store = tmp_path / "stores" / "tls.db"
    bundle = client_verify(str(tls_server.certs.ca), None)

    # With the team CA: the incident reaches the local cache.
    app = make_app(config_for(tls_server, store_path=store, verify=bundle))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_online(pilot)
        await show_only(pilot, tag, incident["id"])
        assert trust_notices(app) == []

    # The default trust store does not know the team CA: refused, said, and the cache works.
    app = make_app(config_for(tls_server, store_path=store))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: trust_notices(app), timeout=20,
                       what="the untrusted certificate to be said")
        assert trust_notices(app) == [
            f"Secure connection failed: TLS certificate of {tls_server.url} is not trusted (unable "
            "to get local issuer certificate); if your team's own CA signed it, give its PEM "
            "file with --ca-bundle; working from the local cache meanwhile"]
        assert app.sync_status.state == "offline"
        assert "is not trusted" in (app.sync_status.last_error or "")
        await wait_for(pilot, lambda: screen_lines(app)[-2].startswith("OFFLINE · "),
                       what="OFFLINE on the status line")
        await show_only(pilot, tag, incident["id"])
        await pilot.press("a")
        await wait_text(pilot, f"{ref}+")
        await wait_for(pilot, lambda: "· 1 pending ·" in screen_lines(app)[-2],
                       what="1 pending on the status line")
        # Trying again fails the same way, and is not said again.
        await pilot.press("ctrl+r")
        await pilot.pause(1.5)
        assert len(trust_notices(app)) == 1
        assert app.sync_status.state == "offline"
        assert app.store.pending_count() == 1

    # With the bundle again: the acknowledgement made offline reaches the server.
    app = make_app(config_for(tls_server, store_path=store, verify=bundle))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_synced(pilot, timeout=30)
        assert trust_notices(app) == []
    answer = httpx.get(f"{tls_server.url}/api/v1/incidents/{incident['id']}",
                       headers={"Authorization": f"Bearer {tls_server.tokens['responder']}"},
                       verify=tls_server.certs.context(), timeout=30)
    assert answer.json()["status"] == "acknowledged"
