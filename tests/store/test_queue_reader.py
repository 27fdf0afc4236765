"""The queue's first screenful (``QueueReader.first``) is exactly the head of the whole list
(``query_ids``) for every filter, sort and search, whichever way it is found: walking the
sort index for a common word, collecting the matches of a rare one, or the plain index read
without text. Also: a store of layout 1 is read before it is upgraded, and upgraded in place.
"""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
from hostile import change_page, incident_snapshot, iso

import incidenttui.store.reader as reader_module
from incidenttui.store import AddNote, IncidentFilter, QueueReader, Store
from incidenttui.store.layout import SCHEMA_VERSION
from incidenttui.store.reader import SORTS

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
WORDS = {
    # word: share of incidents whose title holds it
    "checkout": 0.7, "payment": 0.3, "paypal": 0.1, "latency": 0.05, "zebra": 0.005,
}
STATUSES = ["new", "acknowledged", "in_progress", "on_hold", "resolved", "closed"]


def _snapshots(n: int) -> list[dict[str, object]]:
    rng = random.Random(7)
    out = []
    for k in range(n):
        words = [w for w, share in WORDS.items() if rng.random() < share] or ["misc"]
        status = rng.choice(STATUSES)
        created = NOW - dt.timedelta(minutes=rng.randrange(0, 50_000))
        out.append(incident_snapshot(
            number=2000 + k, title=" ".join(words) + f" café {k}", service=rng.choice(
                ["checkout", "payments", "search"]), status=status,
            priority=rng.randint(1, 5), team=rng.choice(["platform", "security", None]),
            created_at=iso(created), updated_at=iso(created + dt.timedelta(minutes=5)),
            # Ties on purpose: the sort's last term (id) must decide them the same way.
            sla_due_at=None if status in ("resolved", "closed") or k % 7 == 0
            else iso(NOW + dt.timedelta(hours=rng.randrange(1, 6)))))
    return out


@pytest.fixture(scope="module")
def big_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("queue") / "store.db"
    store = Store(path)
    page = change_page([("incident", s) for s in _snapshots(1200)])
    store.apply_changes(page["changes"], cursor=page["cursor"])
    store.close()
    return path


FILTERS = [IncidentFilter(), IncidentFilter(open_only=True),
           IncidentFilter(open_only=True, team="platform"), IncidentFilter(priorities=(1, 2)),
           IncidentFilter(statuses=("resolved", "closed"))]
TEXTS = ["", "c", "ch", "che", "check", "checkout", "pay", "payment", "payp", "paypal",
         "latency", "zebra", "zeb", "checkout payment", "payment zebra", "cafe", "CAFÉ",
         "INC-2042", "2042", "nothing", "checkout_x", "ünïcödé"]


@pytest.fixture(params=[2_000, 50], ids=["sizes-as-set", "every-word-common"])
def rare(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    """Below RARE_MATCHES a word's matches are collected; this store is small, so the other
    ways are tried with a threshold lowered to its scale."""
    monkeypatch.setattr(reader_module, "RARE_MATCHES", request.param)
    return int(request.param)


@pytest.mark.parametrize("sort", list(SORTS))
def test_first_rows_are_the_head_of_the_whole_list(big_store: Path, sort: str,
                                                   rare: int) -> None:
    reader = QueueReader(big_store)
    try:
        for flt in FILTERS:
            for text in TEXTS:
                query = replace(flt, text=text, sort=sort)
                whole = reader.query_ids(query)
                for limit in (5, 40):
                    assert reader.first(query, limit) == whole[:limit], (query, limit)
    finally:
        reader.close()


def _statements(reader: QueueReader, query: IncidentFilter, limit: int) -> list[str]:
    seen: list[str] = []
    reader.first(IncidentFilter(), 1)  # connect
    assert reader._conn is not None
    reader._conn.set_trace_callback(seen.append)
    reader.first(query, limit)
    reader._conn.set_trace_callback(None)
    return seen


def test_a_common_word_walks_the_sort_index_and_a_rare_one_collects(
        big_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader_module, "RARE_MATCHES", 50)  # the store's scale (1,200)
    reader = QueueReader(big_store)
    try:
        common = _statements(reader, IncidentFilter(text="checkout"), 20)
        assert any("json_each" in s for s in common), common  # checked row by row
        # "zebra" is in 0.5 % of titles (the search index's own count says so): collected
        # and sorted.
        rare = _statements(reader, IncidentFilter(text="zebra"), 20)
        assert not any("json_each" in s for s in rare), rare
        # 10 %: the sample finds too few, so the matches are collected, then read in order.
        medium = _statements(reader, IncidentFilter(text="paypal"), 20)
        assert any("INDEXED BY ix_queue_priority" in s and "MATCH" in s for s in medium)
    finally:
        reader.close()


def test_a_counted_word_skips_the_sample_and_a_rare_prefix_is_collected(
        big_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader_module, "RARE_MATCHES", 50)  # the store's scale (1,200)
    reader = QueueReader(big_store)
    try:
        # "paypal" (10 %): the search index's count already says it is not common, so no
        # row-by-row check first (a spelled-out word costs more to check than a prefix).
        counted = _statements(reader, IncidentFilter(text="paypal"), 20)
        assert not any("json_each" in s for s in counted), counted
        assert any("INDEXED BY ix_queue_priority" in s and "MATCH" in s for s in counted)
        # "zeb" (a prefix: no count) in 0.5 %: the sample finds too few and a count that
        # stops after 51 says rare: collected and sorted, not a walk of the whole sort index.
        short = _statements(reader, IncidentFilter(text="zeb"), 20)
        assert any("LIMIT 51" in s for s in short), short
        assert not any("INDEXED BY" in s for s in short), short
        for text in ("paypal", "zeb"):
            query = IncidentFilter(text=text)
            assert reader.first(query, 20) == reader.query_ids(query)[:20]
    finally:
        reader.close()


def test_plans_read_the_sort_indexes_without_sorting(big_store: Path) -> None:
    conn = sqlite3.connect(big_store)
    try:
        for where in ("", "WHERE is_open = 1"):  # the "all" and "open" views
            for sort, order in SORTS.items():
                plan = " ".join(str(row[-1]) for row in conn.execute(
                    f"EXPLAIN QUERY PLAN SELECT id FROM incidents {where} "
                    f"ORDER BY {order} LIMIT 40"))
                assert "COVERING INDEX ix_queue_" in plan and "TEMP B-TREE" not in plan, \
                    (where, sort, plan)
    finally:
        conn.close()


def test_a_layout_1_store_is_read_at_once_and_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    store = Store(path)
    snaps = _snapshots(60)
    page = change_page([("incident", s) for s in snaps])
    store.apply_changes(page["changes"], cursor=page["cursor"])
    store.execute(AddNote(snaps[3]["id"], text="rollback of the flamingo release"))
    keys = [e.key for e in store.outbox()]
    store.close()
    # What layout 1 had: no queue indexes, a search index without prefixes.
    conn = sqlite3.connect(path)
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE name LIKE 'ix_queue_%'"
                                ).fetchall():
        conn.execute(f"DROP INDEX {name}")
    conn.execute("DROP TABLE incident_fts")
    conn.execute("CREATE VIRTUAL TABLE incident_fts USING fts5(ref, title, description, "
                 "service, notes, tokenize='unicode61')")
    conn.execute("PRAGMA user_version=1")
    conn.commit()
    conn.close()

    # The app reads the cache before the store (and its upgrade) loads: no index needed.
    reader = QueueReader(path)
    assert reader.first(IncidentFilter(sort="sla"), 10) == \
        reader.query_ids(IncidentFilter(sort="sla"))[:10]

    upgraded = Store(path)
    try:
        # The same reader (the running app's) takes the new indexes once they are there.
        assert reader.first(IncidentFilter(text="cafe"), 10) == \
            reader.query_ids(IncidentFilter(text="cafe"))[:10]
        assert reader._indexed
        reader.close()
        assert [e.key for e in upgraded.outbox()] == keys
        assert upgraded.integrity_check() == "ok"
        assert upgraded.query_ids(IncidentFilter(text="flamingo")) == [snaps[3]["id"]]
        with sqlite3.connect(path) as check:
            names = {r[0] for r in check.execute("SELECT name FROM sqlite_master")}
            fts = check.execute("SELECT sql FROM sqlite_master WHERE name = 'incident_fts'"
                                ).fetchone()[0]
            version = check.execute("PRAGMA user_version").fetchone()[0]
        assert {f"ix_queue_{s}" for s in SORTS} <= names
        assert "prefix='1 2 3'" in fts
        assert version == SCHEMA_VERSION
    finally:
        upgraded.close()


def test_interrupt_stops_a_whole_list_read_only(big_store: Path) -> None:
    reader = QueueReader(big_store)
    try:
        reader.query_ids(IncidentFilter(), 1)  # connect the whole-list connection
        assert reader._bulk is not None
        # Interrupt from "another thread" at the first step of the read.
        reader._bulk.set_progress_handler(lambda: reader.interrupt() or 0, 1)
        with pytest.raises(sqlite3.OperationalError, match="interrupt"):
            reader.query_ids(IncidentFilter(sort="newest"))
        reader._bulk.set_progress_handler(None, 1)
        # The screen's own connection is untouched, and the next read works.
        assert len(reader.first(IncidentFilter(), 10)) == 10
        assert len(reader.query_ids(IncidentFilter())) == 1200
    finally:
        reader.close()
