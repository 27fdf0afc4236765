"""Hostile servers: malformed JSON, wrong types, huge bodies, 5xx, a slow drip, a TLS
certificate that must not be trusted. Each gives a clear state and message (a SyncError,
status offline or error with last_error), no crash, and the store intact: integrity_check
ok, outbox, cursor, incidents and timeline unchanged."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hostile import (
    HostileServer,
    change_page,
    event_json,
    huge_chunked,
    huge_declared,
    huge_until_close,
    incident_snapshot,
    make_cert,
    routes,
    send_bytes,
    send_json,
    server_tls,
    slow_drip,
)

from incidenttui.store import AddNote, Store, UpdateFields
from incidenttui.sync.client import (
    MAX_BODY_BYTES,
    BadResponse,
    Offline,
    ServerTrouble,
    SyncError,
)

TOKEN = "hostile-test-token-5f3a9c"
CURSOR = 7


@pytest.fixture
def prepared(tmp_path: Path) -> Callable[[bool], tuple[Store, dict[str, Any]]]:
    """A store that has synced before (cursor 7, one incident, a note), optionally with two
    changes waiting in the outbox."""
    def make(pending: bool) -> tuple[Store, dict[str, Any]]:
        store = Store(tmp_path / "store.db")
        store.set_meta("user", "rita")
        snap = incident_snapshot(number=1042, ref="INC-1042", version=2)
        page = change_page([("incident", snap), ("event", event_json(snap["id"], "seen"))],
                           start=CURSOR - 2)
        store.apply_changes(page["changes"], page["cursor"])
        if pending:
            store.execute(UpdateFields(snap["id"], {"title": "renamed offline"}))
            store.execute(AddNote(snap["id"], text="queued note"))
        return store, snap
    return make


def state(store: Store, incident_id: str) -> tuple[Any, ...]:
    return ([(e.seq, e.key, e.kind, e.payload, e.base_version) for e in store.outbox()],
            store.cursor, [i.model_dump() for i in store.list()],
            [e.model_dump() for e in store.timeline(incident_id)], store.conflicts(),
            [t.model_dump() for t in store.teams()])


def page(*entities: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return change_page(list(entities), start=CURSOR)


SNAP = incident_snapshot  # short alias for the tables below

# name -> (behaviour, exception, status state, message fragment, modes)
CASES: dict[str, tuple[Any, type[SyncError], str, str, tuple[str, ...]]] = {
    "malformed json": (send_bytes(b'{"changes": [{"seq": 8,'), BadResponse, "error",
                       "not JSON", ("push", "pull")),
    "html (a captive portal)": (send_bytes(b"<html><body>Log in to Wi-Fi</body></html>",
                                           content_type="text/html"),
                                BadResponse, "error", "not JSON", ("push", "pull")),
    "not utf-8": (send_bytes(b"\xff\xfe\x00{"), BadResponse, "error", "not JSON",
                  ("pull",)),
    "a page of the wrong shape": (send_json({"changes": "none", "cursor": "x", "more": 1}),
                                  BadResponse, "error", "wrong shape", ("pull",)),
    "a list instead of a page": (send_json([1, 2, 3]), BadResponse, "error", "wrong shape",
                                 ("pull",)),
    "wrong types in an incident": (
        send_json(page(("incident", SNAP(status=5, impact="high")))), BadResponse, "error",
        "malformed change", ("pull",)),
    "a good change then a bad one": (
        send_json(page(("incident", SNAP(number=2001)),
                       ("incident", SNAP(number=2002, version="two")))),
        BadResponse, "error", "malformed change", ("pull",)),
    "wrong types in an event": (
        send_json(page(("event", {**event_json("x", "t"), "kind": "explode", "data": []}))),
        BadResponse, "error", "malformed change", ("pull",)),
    "wrong types in the directory": (
        send_json(page(("team", {"id": "t", "name": ["x"], "level": "high"}))),
        BadResponse, "error", "malformed change", ("pull",)),
    "the feed going backwards": (send_json({"changes": [], "cursor": 3, "more": False}),
                                 BadResponse, "error", "went backwards", ("pull",)),
    "a confirmation of the wrong shape": (
        send_json({"id": "x", "version": "two", "status": 7}), BadResponse, "error",
        "malformed", ("push",)),
    "a list as confirmation": (send_json([{"ok": True}]), BadResponse, "error",
                               "confirmed a change with a list", ("push",)),
    "a malformed conflict": (send_json({"detail": "x", "conflicts": [{"field": "title"}],
                                        "incident": {"id": 1}}, 409),
                             BadResponse, "error", "conflict answer", ("push",)),
    "a redirect": (lambda h: h.answer(302, b"", headers={"Location": "http://example.org/"}),
                   BadResponse, "error", "302", ("push", "pull")),
    "500": (send_json({"detail": "boom"}, 500), ServerTrouble, "offline", "answered 500",
            ("push", "pull")),
    "502 from a proxy, in HTML": (send_bytes(b"<h1>Bad Gateway</h1>", 502, "text/html"),
                                  ServerTrouble, "offline", "answered 502", ("push", "pull")),
    "429": (send_json({"detail": "slow down"}, 429), ServerTrouble, "offline",
            "answered 429", ("pull",)),
    "a huge declared body": (huge_declared(MAX_BODY_BYTES * 2), BadResponse, "error",
                             "refusing more than", ("push", "pull")),
    "a huge chunked body": (huge_chunked(MAX_BODY_BYTES + (4 << 20)), BadResponse, "error",
                            "exceeds", ("pull",)),
    "a huge body ended by closing": (huge_until_close(MAX_BODY_BYTES + (4 << 20)),
                                     BadResponse, "error", "exceeds", ("push",)),
    "a slow drip of the body": (slow_drip(0.05), Offline, "offline", "did not answer within",
                                ("pull",)),
    "a slow drip of the headers": (slow_drip(0.05, in_headers=True), Offline, "offline",
                                   "did not answer within", ("push",)),
}

PARAMS = [pytest.param(name, mode, id=f"{name}-{mode}")
          for name, case in CASES.items() for mode in case[4]]


async def check(store: Store, snap: dict[str, Any], client: Any, exc: type[SyncError],
                wanted_state: str, fragment: str, limit: float = 10) -> SyncError:
    before = state(store, snap["id"])
    started = time.monotonic()
    with pytest.raises(exc) as failure:
        await asyncio.wait_for(client.engine.sync_once(), limit)
    assert time.monotonic() - started < limit
    message = str(failure.value)
    assert fragment.lower() in message.lower(), message
    assert TOKEN not in message
    status = client.engine.status
    assert status.state == wanted_state
    assert status.last_error == message
    assert state(store, snap["id"]) == before
    assert store.integrity_check() == "ok"
    return failure.value


@pytest.mark.parametrize("name, mode", PARAMS)
async def test_a_hostile_server_leaves_a_clear_error_and_the_store_intact(
        prepared, make_client, name, mode):
    behaviour, exc, wanted_state, fragment, _ = CASES[name]
    store, snap = prepared(mode == "push")
    # A drip is cut by the whole-exchange deadline (twice the timeout): keep it short there,
    # and generous elsewhere (the huge bodies must be refused for their size, not time).
    timeout = 0.5 if "drip" in name else 5.0
    with HostileServer(behaviour) as hostile:
        client = make_client(hostile.base_url, TOKEN, timeout=timeout, store=store)
        await check(store, snap, client, exc, wanted_state, fragment)
        method = hostile.requests[0][0]
    assert method == ("PATCH" if mode == "push" else "GET")


HOSTILE_VALUES = {
    "an incident number beyond 64 bits": {"number": 10**20},
    "a version beyond 64 bits": {"version": 10**20},
    "a creation time in year 9999": {"created_at": "9999-12-31T23:59:59Z", "priority": 1},
    "an endless hold": {"hold_seconds": 1e308},
}


@pytest.mark.parametrize("name", list(HOSTILE_VALUES))
async def test_out_of_range_values_are_a_bad_response(prepared, make_client, name):
    store, snap = prepared(False)
    body = page(("incident", incident_snapshot(**{"number": 3001, **HOSTILE_VALUES[name]})))
    with HostileServer(send_json(body)) as hostile:
        client = make_client(hostile.base_url, TOKEN, timeout=1.0, store=store)
        await check(store, snap, client, BadResponse, "error", "malformed change")


async def test_a_2xx_that_is_not_a_confirmation_keeps_the_change(prepared, make_client):
    store, snap = prepared(True)
    with HostileServer(send_json({"ok": True})) as hostile:
        client = make_client(hostile.base_url, TOKEN, timeout=1.0, store=store)
        await check(store, snap, client, BadResponse, "error", "")


async def test_the_engine_keeps_running_against_a_hostile_server(prepared, make_client):
    """engine.run() (what the app starts) neither crashes nor spins on garbage."""
    store, snap = prepared(True)
    before = state(store, snap["id"])
    table = {"/api/v1/changes": send_bytes(b"[[[", 200)}
    with HostileServer(routes(table, send_json({"detail": "nope"}, 500))) as hostile:
        client = make_client(hostile.base_url, TOKEN, timeout=1.0, store=store)
        task = asyncio.create_task(client.engine.run(long_poll=1))
        await asyncio.sleep(1.5)
        assert not task.done(), task
        client.engine.stop()
        await asyncio.wait_for(task, 5)
        assert 2 <= len(hostile.requests) <= 5
    assert client.engine.status.state == "offline"
    assert "answered 500" in client.engine.status.last_error
    assert state(store, snap["id"]) == before and store.integrity_check() == "ok"


# -- TLS --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    pytest.importorskip("cryptography")
    directory = tmp_path_factory.mktemp("certs")
    _, _, ca_cert, ca_key = make_cert(directory, hostnames=["Test CA"], is_ca=True, name="ca")
    self_signed = make_cert(directory, hostnames=["127.0.0.1", "localhost"], name="self")
    wrong_host = make_cert(directory, hostnames=["incidents.example.org"],
                           ca=(ca_cert, ca_key), name="wrong")
    right_host = make_cert(directory, hostnames=["127.0.0.1"], ca=(ca_cert, ca_key),
                           name="right")
    return {"ca": directory / "ca.crt", "self": self_signed, "wrong": wrong_host,
            "right": right_host}


@pytest.mark.parametrize("which, fragment", [
    ("self", "self-signed certificate"),
    ("wrong", "mismatch"),
])
async def test_a_wrong_tls_certificate_is_refused_with_a_clear_message(
        certs, prepared, make_client, which, fragment):
    store, snap = prepared(True)
    cert, key = certs[which][:2]
    trust = ssl.create_default_context(cafile=str(certs["ca"]))
    with HostileServer(send_json(page()), tls=server_tls(cert, key)) as hostile:
        client = make_client(hostile.base_url, TOKEN, timeout=2.0, store=store,
                             verify=trust if which == "wrong" else True)
        error = await check(store, snap, client, Offline, "offline", "TLS certificate")
    assert fragment in str(error), str(error)
    assert f"TLS certificate of {hostile.base_url} is not trusted" in str(error)


async def test_the_same_tls_server_with_a_trusted_certificate_works(certs, prepared,
                                                                    make_client):
    """The control: with a certificate the client trusts, the same server is reached."""
    store, _ = prepared(False)
    cert, key = certs["right"][:2]
    trust = ssl.create_default_context(cafile=str(certs["ca"]))
    with HostileServer(send_json(page()), tls=server_tls(cert, key)) as hostile:
        client = make_client(hostile.base_url, TOKEN, timeout=2.0, store=store, verify=trust)
        result = await client.engine.sync_once()
    assert result.pulled == 0 and client.engine.status.state == "online"
