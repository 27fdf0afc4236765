"""Fixtures for the sync tests: a real server on loopback, and clients (store + engine)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from servers import LiveServer, threaded_server

from incidenttui.store import Store
from incidenttui.sync.client import ApiClient
from incidenttui.sync.engine import SyncEngine


@pytest.fixture(scope="module")
def live(db_url: Callable[[str], str]) -> Iterator[LiveServer]:
    """One seeded SQLite server for the module (the API suite covers PostgreSQL)."""
    with threaded_server("sqlite", db_url("sqlite")) as server:
        yield server


@dataclass
class Client:
    """One responder's client: a store file, an HTTP client and the engine between them."""

    store: Store
    api: ApiClient
    engine: SyncEngine
    states: list[str]

    async def sync(self) -> Any:
        return await asyncio.wait_for(self.engine.sync_once(), 30)


@pytest.fixture
async def make_client(tmp_path: Path) -> AsyncIterator[Callable[..., Client]]:
    """``make_client(base_url, token, name=..., timeout=...)``: a fresh client."""
    made: list[Client] = []

    def make(base_url: str, token: str | None, name: str = "c", timeout: float = 5.0,
             verify: Any = True, store: Store | None = None) -> Client:
        store = store or Store(tmp_path / f"{name}-{len(made)}.db")
        api = ApiClient(base_url, token, timeout=timeout, verify=verify)
        states: list[str] = []
        engine = SyncEngine(store, api, on_status=lambda s: states.append(s.state))
        client = Client(store, api, engine, states)
        made.append(client)
        return client

    yield make
    for client in made:
        client.engine.stop()
        await client.api.aclose()
        client.store.close()


async def _eventually(check: Callable[[], Any], timeout: float = 5.0, step: float = 0.02
                     ) -> float:
    """Wait until ``check()`` is truthy (run in a thread: it may touch the store); return
    the seconds it took."""
    start = time.monotonic()
    while True:
        if await asyncio.to_thread(check):
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not true within {timeout}s")
        await asyncio.sleep(step)


@pytest.fixture
def eventually() -> Callable[..., Any]:
    """``await eventually(check, timeout)``: poll ``check`` until true; returns seconds."""
    return _eventually
