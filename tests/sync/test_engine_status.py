"""What the status line sees: syncing → online; offline with the reason when the server is
gone; exponential backoff with jitter, capped; an unreachable server is retried calmly (no
busy loop) with a clear message; a refused token says to log in again."""

from __future__ import annotations

import asyncio
import random
import time

import pytest
from apihelpers import get
from hostile import HostileServer, forward_to, refused_port, send_json

from incidenttui.store import AddNote, CreateIncident, Store
from incidenttui.sync.client import AuthFailed, Offline
from incidenttui.sync.engine import BACKOFF_BASE, BACKOFF_CAP, backoff_delay


async def test_syncing_then_online_with_counts(live, make_client):
    client = make_client(live.base_url, live.tokens["responder"])
    seen = []
    client.engine.on_status = seen.append
    incident = client.store.execute(CreateIncident.new(title="t", service="checkout"))
    client.store.execute(AddNote(incident.id, text="n"))
    await client.sync()
    states = [s.state for s in seen]
    assert states[0] == "syncing" and states[-1] == "online"
    assert set(states) == {"syncing", "online"}
    assert [s.pending for s in seen if s.state == "syncing"][-1] == 0
    final = seen[-1]
    assert (final.pending, final.conflicts, final.user, final.last_error) == (0, 0, "rita", None)
    assert final.server == live.base_url and final.last_sync_at is not None


async def test_offline_with_the_reason_when_the_server_is_not_there(make_client, tmp_path):
    port = refused_port()
    store = Store(tmp_path / "s.db")
    store.execute(CreateIncident.new(title="t", service="checkout"))
    client = make_client(f"http://127.0.0.1:{port}", "tok-secret-1234", store=store)
    await client.engine.refresh_counts()
    client.states.clear()
    with pytest.raises(Offline) as failure:
        await client.sync()
    status = client.engine.status
    assert status.state == "offline"
    assert status.last_error == str(failure.value)
    assert f"cannot connect to http://127.0.0.1:{port}" in status.last_error
    assert "tok-secret-1234" not in status.last_error
    assert status.pending == 1 and status.last_sync_at is None
    assert client.states[0] == "syncing" and client.states[-1] == "offline"
    assert store.pending_count() == 1 and store.integrity_check() == "ok"


def test_backoff_grows_is_jittered_and_capped():
    rng = random.Random(7)
    for failures in range(1, 40):
        ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (failures - 1))
        samples = [backoff_delay(failures, rng) for _ in range(200)]
        assert all(ceiling / 2 <= s <= ceiling for s in samples), failures
        assert len({round(s, 6) for s in samples}) > 150, "no jitter"
    # Grows: the lowest possible wait of the next failure is the highest of two before.
    assert backoff_delay(1, random.Random(0)) < 1.0
    assert min(backoff_delay(6, random.Random(s)) for s in range(50)) >= BACKOFF_CAP / 4
    assert max(backoff_delay(100, random.Random(s)) for s in range(50)) <= BACKOFF_CAP
    assert backoff_delay(0) <= BACKOFF_BASE


def test_backoff_stays_capped_after_a_very_long_outage():
    assert backoff_delay(1025) <= BACKOFF_CAP
    assert backoff_delay(10**6) <= BACKOFF_CAP


async def run_for(engine, seconds: float) -> None:
    task = asyncio.create_task(engine.run(long_poll=1))
    await asyncio.sleep(seconds)
    assert not task.done(), task.exception() if task.done() else None
    engine.stop()
    await asyncio.wait_for(task, 5)


async def test_an_unreachable_server_is_retried_with_backoff_not_in_a_busy_loop(
        make_client, tmp_path):
    store = Store(tmp_path / "s.db")
    store.set_meta("user", "rita")
    store.execute(CreateIncident.new(title="waiting", service="checkout"))
    client = make_client(f"http://127.0.0.1:{refused_port()}", "tok", store=store)
    started = time.monotonic()
    await run_for(client.engine, 2.5)
    attempts = store.outbox()[0].attempts
    # Backoff from 0.5 s doubling: attempts at ~0, ≥0.25, ≥0.75, ≥1.75 s, so at most 4 in
    # 2.5 s however the jitter falls (a busy loop would make hundreds); and it keeps trying.
    assert 2 <= attempts <= 4, attempts
    assert client.states.count("syncing") == attempts
    assert client.engine.status.state == "offline"
    assert "cannot connect" in client.engine.status.last_error
    assert time.monotonic() - started < 6
    assert store.pending_count() == 1


async def test_a_failing_server_is_not_hammered(make_client):
    with HostileServer(send_json({"detail": "overloaded"}, 503)) as hostile:
        client = make_client(hostile.base_url, "tok")
        await run_for(client.engine, 2.5)
        requests = len(hostile.requests)
    assert 2 <= requests <= 4, requests
    assert client.engine.status.state == "offline"
    assert "503" in client.engine.status.last_error


async def test_offline_then_online_again_when_the_server_returns(live, make_client, tmp_path,
                                                                eventually):
    """The app's engine rides out an outage: offline while the server fails (an incident is
    logged meanwhile), then online by itself when it answers again, the incident delivered
    once and numbered."""
    store = Store(tmp_path / "s.db")
    with HostileServer(send_json({"detail": "down for maintenance"}, 503)) as link:
        client = make_client(link.base_url, live.tokens["responder"], store=store)
        task = asyncio.create_task(client.engine.run(long_poll=1))
        try:
            await eventually(lambda: client.engine.status.last_error is not None)
            assert client.engine.status.state == "offline"
            assert "503" in client.engine.status.last_error
            made = store.execute(CreateIncident.new(title="Logged during the outage",
                                                    service="checkout"))
            client.engine.kick()
            link.behaviour = forward_to(live.base_url)  # the link is back
            await eventually(lambda: store.pending_count() == 0, 5)
            await eventually(lambda: client.engine.status.state == "online", 5)
        finally:
            client.engine.stop()
            await asyncio.wait_for(task, 5)
    assert client.engine.status.last_error is None
    assert client.engine.status.last_sync_at is not None
    local = store.get(made.id)
    with live.client() as http:
        remote = get(http, made.id)
        titles = [i["title"] for i in http.get("/api/v1/incidents", params={"limit": 500})
                  .json()["items"]]
    assert local.number == remote["number"] and titles.count("Logged during the outage") == 1


async def test_a_stop_during_a_long_pause_ends_the_engine_at_once(live, make_client,
                                                                  eventually):
    # A refused token pauses the engine for a minute; stop must not wait for it.
    client = make_client(live.base_url, "revoked-token")
    task = asyncio.create_task(client.engine.run(long_poll=1))
    await eventually(lambda: client.engine.status.state == "auth")
    await asyncio.sleep(0.1)
    assert not task.done()
    started = time.monotonic()
    client.engine.stop()
    await asyncio.wait_for(task, 5)
    assert time.monotonic() - started < 1


async def test_a_refused_token_asks_for_a_new_login(live, make_client):
    client = make_client(live.base_url, "not-a-valid-token-0000")
    with pytest.raises(AuthFailed) as failure:
        await client.sync()
    assert client.engine.status.state == "auth"
    assert "incidenttui login" in str(failure.value)
    assert "not-a-valid-token-0000" not in client.engine.status.last_error
