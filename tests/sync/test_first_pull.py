"""A first pull into an empty store against a real server: the search index is filled once,
with the page that catches up (store/search.py), and is searchable after; a pull whose link
goes in the middle fills it with what arrived, and the next pull goes on indexing as an
incremental one does."""

from __future__ import annotations

import gc
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from apihelpers import API, create
from hostile import HostileHandler, HostileServer, forward_to

from incidenttui.store import IncidentFilter, Store
from incidenttui.sync import engine as engine_module
from incidenttui.sync.client import Offline
from incidenttui.sync.engine import BULK_GC_THRESHOLD, fewer_collections


class Watched(Store):
    """A store that notes, after each write of the feed, whether the index was stale."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.stale_after: list[bool] = []
        self.gc_thresholds: list[int] = []

    def apply_changes(self, *args: Any, **kwargs: Any) -> int:
        applied = super().apply_changes(*args, **kwargs)
        self.stale_after.append(self.search_stale())
        self.gc_thresholds.append(gc.get_threshold()[0])
        return applied


def indexed(store: Store) -> int:
    with sqlite3.connect(store.path) as conn:
        return int(conn.execute("SELECT count(*) FROM incident_fts").fetchone()[0])


@pytest.fixture(autouse=True)
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages of three changes, written one by one: a handful of incidents make a long feed."""
    monkeypatch.setattr(engine_module, "PAGE_SIZE", 3)
    monkeypatch.setattr(engine_module, "BATCH_CHANGES", 1)


@pytest.fixture(scope="module")
def titled(live: Any) -> list[dict[str, Any]]:
    with live.client() as http:
        made = [create(http, title=f"Kafka consumer lag on partition {n}", service="payments")
                for n in range(6)]
        http.post(f"{API}/incidents/{made[0]['id']}/notes", json={"text": "rebalanced brokers"})
    return made


async def test_a_first_pull_fills_the_index_at_its_end(live, make_client, titled, tmp_path):
    store = Watched(tmp_path / "first.db")
    client = make_client(live.base_url, live.tokens["responder"], store=store)
    await client.sync()
    # Deferred while the feed was read, filled by the write that caught up.
    assert len(store.stale_after) > 3
    assert all(store.stale_after[:-1]) and store.stale_after[-1] is False
    # Python's collector ran rarely while the whole feed was read (fewer_collections).
    assert set(store.gc_thresholds) == {BULK_GC_THRESHOLD}
    assert gc.get_threshold()[0] < BULK_GC_THRESHOLD
    assert indexed(store) == store.count() >= len(titled)
    assert set(store.query_ids(IncidentFilter(text="kafka lag"))) >= {i["id"] for i in titled}
    assert store.query_ids(IncidentFilter(text="rebalanced")) == [titled[0]["id"]]
    # The next pull is incremental: the index follows each page, no mark.
    with live.client() as http:
        later = create(http, title="Zookeeper session expired", service="payments")
    store.stale_after.clear()
    store.gc_thresholds.clear()
    await client.sync()
    assert store.stale_after and not any(store.stale_after)
    assert max(store.gc_thresholds) < BULK_GC_THRESHOLD
    assert store.query_ids(IncidentFilter(text="zookeeper")) == [later["id"]]


def cut_after(base_url: str, pages: int) -> Any:
    """Relay to the real server until ``pages`` pages of the feed went through; then the
    link is gone (connections close without an answer)."""
    relay = forward_to(base_url)
    seen = {"pages": 0}

    def run(h: HostileHandler) -> None:
        if h.path.startswith(f"{API}/changes"):
            seen["pages"] += 1
            if seen["pages"] > pages:
                return
        relay(h)
    return run


async def test_a_pull_cut_in_the_middle_is_searchable_and_goes_on(live, make_client, titled,
                                                                    tmp_path):
    store = Watched(tmp_path / "cut.db")
    token = live.tokens["responder"]
    with live.client() as http:
        entries = len(http.get(f"{API}/changes", params={"cursor": 0, "limit": 1000}
                               ).json()["changes"])
    pages = -(-entries // 3)
    assert pages > 6  # the last four pages carry incidents
    with HostileServer(cut_after(live.base_url, pages - 4)) as flaky:
        client = make_client(flaky.base_url, token, store=store, timeout=2.0)
        with pytest.raises(Offline):
            await client.sync()
    assert store.stale_after and all(store.stale_after)  # cut before catching up
    # The failed pull filled the index with what arrived: searching offline is exact.
    assert not store.search_stale()
    held = store.count()
    assert held > 0 and indexed(store) == held
    # The link is back: the pull goes on from its cursor, indexing page by page.
    store.stale_after.clear()
    again = make_client(live.base_url, token, store=store)
    await again.sync()
    assert not any(store.stale_after)
    assert indexed(store) == store.count() > held
    assert set(store.query_ids(IncidentFilter(text="kafka"))) >= {i["id"] for i in titled}


def test_fewer_collections_nests_and_restores_the_thresholds() -> None:
    before = gc.get_threshold()
    with fewer_collections():
        with fewer_collections():  # a second engine in the same process
            assert gc.get_threshold() == (BULK_GC_THRESHOLD, *before[1:])
        assert gc.get_threshold()[0] == BULK_GC_THRESHOLD  # the other is still pulling
    assert gc.get_threshold() == before
    with pytest.raises(RuntimeError), fewer_collections():
        raise RuntimeError("a pull that fails")
    assert gc.get_threshold() == before
