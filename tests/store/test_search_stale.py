"""The search index during a first pull (store/search.py): an empty store fills it once,
with the page that catches up; until then it is marked stale and text filters match row by
row with the same answers; a pull cut short leaves the mark and the next start fills it;
a layout-8 store upgrades to layout 9 as it is."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hostile import change_page, event_json, incident_snapshot

from incidenttui.store import AddNote, CreateIncident, IncidentFilter, Store
from incidenttui.store.layout import SCHEMA_VERSION
from incidenttui.store.reader import QueueReader
from incidenttui.store.search import SEARCH_STALE_KEY, incident_matches

TITLES = [
    ("Checkout returns 502", "Payment step fails for Visa", "checkout"),
    ("Search index lag", "Indexer is 30 minutes behind; eu-west only", "search"),
    ("Storefront DDoS", "SYN flood from botnet_42", "storefront"),
    ("Leaked API key", "Key for payments found on a paste site", "payments"),
    ("Paiement refusé à Zürich", "Carte bancaire déclinée (café)", "payments"),
    ("決済 失敗", "カード 決済 エラー", "payments"),
    ("Slow product pages", "p99 latency 4s [b]bold[/b] \x1b[2J", "storefront"),
    ("Checkout latency", "Slow card tokenisation, payment-provider timeouts", "checkout"),
]
QUERIES = ["checkout", "check", "c", "pa", "pay", "payment", "payments", "PAYMENT", "visa",
           "eu-west", "west", "botnet_42", "botnet", "42", "zurich", "Zürich", "refuse",
           "paie", "cafe", "決済", "カード", "INC-1003", "inc 1003", "1003", "100", "SEC-7",
           "shard", "cloudflare attack", "limits", "bold", "2J", "slow card", "card slow",
           "nothing", "", "   ", '"', "*", "NEAR(a b)", "'; DROP", "_", "é"]


def pages(count: int = len(TITLES)) -> list[dict[str, Any]]:
    """The feed from the start in pages of two changes: incidents, notes and a status."""
    snaps = [incident_snapshot(number=1001 + n, ref=f"INC-{1001 + n}", title=title,
                               description=description, service=service)
             for n, (title, description, service) in enumerate(TITLES[:count])]
    snaps.append(incident_snapshot(number=7, series="SEC", ref="SEC-7", category="security",
                                   title="Card data exfiltrated"))
    entities: list[tuple[str, dict[str, Any]]] = [("incident", s) for s in snaps]
    entities += [("event", event_json(snaps[1]["id"], "rebuilt the shard on es-7")),
                 ("event", event_json(snaps[2]["id"], "Cloudflare under attack mode")),
                 ("event", event_json(snaps[2]["id"], "rate limits raised", kind="status"))]
    out, cursor = [], 0
    for start in range(0, len(entities), 2):
        chunk = entities[start:start + 2]
        page = change_page(chunk, start=cursor, more=start + 2 < len(entities))
        cursor = page["cursor"]
        out.append(page)
    return out


def pull(store: Store, feed: list[dict[str, Any]]) -> list[bool]:
    """Apply ``feed`` as the sync engine does; whether the index was stale after each page."""
    stale = []
    for page in feed:
        store.apply_changes(page["changes"], page["cursor"], caught_up=not page["more"],
                            first_pull=True)
        stale.append(store.search_stale())
    return stale


def fts_rows(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT count(*) FROM incident_fts").fetchone()[0])


def answers(store: Store, text: str) -> tuple[Any, ...]:
    """Every way the app and the CLI ask for a text filter, in the queue's sort orders."""
    reader = QueueReader(store.path)
    try:
        found = []
        for sort in ("priority", "newest"):
            flt = IncidentFilter(text=text, sort=sort)
            found += [store.query_ids(flt), store.count(flt), reader.query_ids(flt),
                      reader.first(flt, 3), reader.first(IncidentFilter(text=text,
                                                                        open_only=True), 50)]
        return tuple(map(str, found))
    finally:
        reader.close()


def test_a_first_pull_fills_the_index_once_at_its_end(store: Store, store_path: Path) -> None:
    feed = pages()
    assert pull(store, feed) == [True] * (len(feed) - 1) + [False]
    held = store.count()
    assert held == len(TITLES) + 1 and fts_rows(store_path) == held
    assert [store.get(i).number for i in store.query_ids(IncidentFilter(text="shard"))] == [1002]
    assert len(store.query_ids(IncidentFilter(text="payment"))) == 5
    # An incremental pull (the store holds incidents) keeps the index row by row: no mark.
    later = incident_snapshot(number=1100, ref="INC-1100", title="Refund queue stuck")
    page = change_page([("incident", later)], start=store.cursor, more=True)
    store.apply_changes(page["changes"], page["cursor"], first_pull=True)
    assert not store.search_stale()
    assert store.query_ids(IncidentFilter(text="refund")) == [later["id"]]


def test_a_one_page_feed_never_shows_the_mark(store: Store, store_path: Path) -> None:
    page = change_page([("incident", incident_snapshot(title="Disk full"))])
    store.apply_changes(page["changes"], page["cursor"], caught_up=True, first_pull=True)
    assert not store.search_stale() and fts_rows(store_path) == 1


def test_only_an_empty_store_defers_its_index(store: Store, store_path: Path) -> None:
    # Made offline, never synced: the store is not empty, so the index follows each page.
    mine = store.execute(CreateIncident.new(title="Printer on fire", service="checkout"))
    feed = pages()
    assert not any(pull(store, feed))
    assert store.query_ids(IncidentFilter(text="printer")) == [mine.id]
    assert fts_rows(store_path) == store.count()
    # Without first_pull (a caller that is not following the feed to its end), nothing is
    # deferred either.
    other = Store(store_path.with_name("other.db"))
    try:
        page = feed[0]
        other.apply_changes(page["changes"], page["cursor"])
        assert not other.search_stale()
    finally:
        other.close()


@pytest.mark.parametrize("text", QUERIES)
def test_filtering_while_stale_gives_the_index_answers(tmp_path: Path, text: str) -> None:
    """Same store content twice: one with its index, one stale (a pull cut short before
    its last page): every filter answers the same."""
    indexed, stale = Store(tmp_path / "indexed.db"), Store(tmp_path / "stale.db")
    try:
        feed = pages()
        for page in feed:
            indexed.apply_changes(page["changes"], page["cursor"])
        pull(stale, feed[:-1])
        last = feed[-1]
        stale.apply_changes(last["changes"], last["cursor"], first_pull=True)  # not caught up
        assert stale.search_stale() and fts_rows(stale.path) == 0
        assert answers(stale, text) == answers(indexed, text)
    finally:
        indexed.close()
        stale.close()


def test_local_changes_while_stale_are_found_then_and_after(store: Store) -> None:
    feed = pages()
    pull(store, feed[:3])
    assert store.search_stale()
    made = store.execute(CreateIncident.new(title="Refund queue stuck", service="payments"))
    some = store.query_ids(IncidentFilter(text="checkout"))[0]
    store.execute(AddNote(some, text="vendor paged via hotline"))
    for _ in range(2):
        assert store.query_ids(IncidentFilter(text="refund")) == [made.id]
        assert store.query_ids(IncidentFilter(text="hotline")) == [some]
        pull(store, feed[3:])  # the rest of the feed, then (second round) nothing
        assert not store.search_stale()


def test_a_pull_cut_short_is_filled_at_the_next_start(store_path: Path) -> None:
    feed = pages()
    store = Store(store_path)
    pull(store, feed[:2])
    store.close()  # killed here: the pages so far are committed with the mark
    with sqlite3.connect(store_path) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = ?",
                            (SEARCH_STALE_KEY,)).fetchone() is not None
        held = conn.execute("SELECT count(*) FROM incidents").fetchone()[0]
    assert held > 0 and fts_rows(store_path) == 0
    reopened = Store(store_path)
    try:
        assert not reopened.search_stale() and fts_rows(store_path) == held
        assert not reopened.fill_search_index()  # nothing left to do
        # The pull goes on where it stopped, indexing as an incremental pull does.
        assert not any(pull(reopened, feed[2:]))
        assert fts_rows(store_path) == reopened.count() == len(TITLES) + 1
    finally:
        reopened.close()


def test_a_layout_8_store_upgrades_as_it_is(store_path: Path) -> None:
    store = Store(store_path)
    pull(store, pages())
    made = store.execute(CreateIncident.new(title="Refund queue stuck", service="payments"))
    ids = store.query_ids(IncidentFilter(text="payment"))
    keys = [e.key for e in store.outbox()]
    store.close()
    with sqlite3.connect(store_path) as conn:
        conn.execute("PRAGMA user_version=8")
    upgraded = Store(store_path)
    try:
        with sqlite3.connect(store_path) as conn:
            assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 9
        assert not upgraded.search_stale()
        assert upgraded.query_ids(IncidentFilter(text="payment")) == ids
        assert upgraded.query_ids(IncidentFilter(text="refund")) == [made.id]
        assert [e.key for e in upgraded.outbox()] == keys
        assert upgraded.integrity_check() == "ok"
    finally:
        upgraded.close()


def test_the_row_matcher_reads_words_as_the_index_does() -> None:
    words = '["pay", "eu-west"]'
    assert incident_matches('["pay"]', "", "Payment fails") == 1
    assert incident_matches('["pay"]', "", "Repayment fails") == 0  # word starts only
    assert incident_matches('["eu-west"]', "", "eu west") == 1  # a phrase, as FTS5 reads it
    assert incident_matches('["eu-west"]', "", "west eu") == 0
    assert incident_matches(words, "", "payments", "eu-west-1") == 1
    assert incident_matches(words, "", "payments eu", "west") == 0  # a phrase: one column
    assert incident_matches('["zurich"]', None, "Zürich") == 1
