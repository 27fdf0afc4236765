"""The queue's search and filters over the local store: number, title, description, service
and notes through the FTS index, combined with filters and sorts; the index follows every
change. Speed at 100,000 incidents is the benchmark's job; here we check the plan uses the
FTS index."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from typing import Any

import pytest
from hostile import change_page, event_json, incident_snapshot, iso
from sqlalchemy import Engine, event

from incidenttui.store import AddNote, CreateIncident, IncidentFilter, Store, UpdateFields
from incidenttui.store.reader import QueueReader

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)

# number, title, description, service, status, impact/urgency, team, assignee, age (minutes)
ROWS = [
    (1042, "Checkout returns 502", "Payment step fails for Visa", "checkout", "new", (1, 1),
     "service-desk", None, 10),
    (1043, "Search index lag", "Indexer is 30 minutes behind", "search", "in_progress", (2, 2),
     "platform", "ray", 50),
    (1044, "Storefront DDoS", "SYN flood from botnet", "storefront", "acknowledged", (1, 2),
     "security", "rita", 30),
    (1045, "Leaked API key", "Key for payments found on a paste site", "payments", "resolved",
     (1, 1), "security", "rita", 300),
    (1046, "Slow product pages", "p99 latency 4s", "storefront", "closed", (3, 3), "platform",
     None, 900),
    (1047, "Checkout latency", "Slow card tokenisation", "checkout", "on_hold", (2, 3),
     "payments-experts", "ray", 120),
]


def snapshot(row: tuple[Any, ...]) -> dict[str, Any]:
    number, title, desc, service, status, (impact, urgency), team, assignee, age = row
    created = NOW - dt.timedelta(minutes=age)
    matrix = {(1, 1): 1, (1, 2): 2, (2, 1): 2, (2, 2): 3, (1, 3): 3, (3, 1): 3, (2, 3): 4,
              (3, 2): 4, (3, 3): 5}
    acked = status != "new"
    resolved = status in ("resolved", "closed")
    return incident_snapshot(
        number=number, ref=f"INC-{number}", title=title, description=desc, service=service,
        status=status, impact=impact, urgency=urgency, priority=matrix[(impact, urgency)],
        team=team, assignee=assignee, created_at=iso(created),
        updated_at=iso(NOW - dt.timedelta(minutes=age // 2)),
        acknowledged_at=iso(created + dt.timedelta(minutes=1)) if acked else None,
        resolved_at=iso(created + dt.timedelta(minutes=5)) if resolved else None,
        resolution_code="fixed" if resolved else None,
        resolution_note="done" if resolved else None,
        closed_at=iso(created + dt.timedelta(minutes=6)) if status == "closed" else None,
        on_hold_since=iso(created + dt.timedelta(minutes=2)) if status == "on_hold" else None,
        version=2 if acked else 1)


@pytest.fixture
def queue(store: Store) -> tuple[Store, dict[int, str]]:
    snaps = [snapshot(r) for r in ROWS]
    ids = {s["number"]: s["id"] for s in snaps}
    notes = [("event", event_json(ids[1043], "rebuilt the shard on es-7")),
             ("event", event_json(ids[1044], "Cloudflare under attack mode enabled")),
             ("event", event_json(ids[1044], "rate limits raised", kind="status"))]
    page = change_page([*[("incident", s) for s in snaps], *notes])
    store.apply_changes(page["changes"], page["cursor"])
    store.set_meta("user", "rita")
    return store, ids


def refs(store: Store, flt: IncidentFilter) -> list[int | None]:
    found = [i.number for i in store.list(flt)]
    assert store.count(flt) == len(found)
    return found


def search(store: Store, text: str, **kw: Any) -> list[int | None]:
    return sorted(refs(store, IncidentFilter(text=text, **kw)), key=lambda n: n or 0)


@pytest.mark.parametrize("text, expected", [
    ("INC-1044", [1044]), ("inc-1044", [1044]), ("1044", [1044]),     # number
    ("checkout", [1042, 1047]), ("check", [1042, 1047]),              # title / service, prefix
    ("502", [1042]), ("ddos", [1044]), ("Leaked key", [1045]),        # title words, all needed
    ("visa", [1042]), ("tokenisation", [1047]), ("botnet", [1044]),   # description
    ("storefront", [1044, 1046]), ("payments", [1045]),               # service, description
    ("shard", [1043]), ("cloudflare attack", [1044]),                 # notes
    ("limits", []),                                                   # a status event, no note
    ("nothing-like-this", []), ("checkout ddos", []),
])
def test_search_by_number_title_description_service_and_notes(queue, text, expected):
    store, _ = queue
    assert search(store, text) == expected


@pytest.mark.parametrize("text", ['"', "*", "AND", "OR NOT", "NEAR(a b)", "a:b", "'; DROP",
                                  "^", "(", "-1044", "\x1b[2J", "", "   ", "é ü 決済"])
def test_any_user_input_is_a_safe_query(queue, text):
    store, _ = queue
    store.list(IncidentFilter(text=text))
    assert store.integrity_check() == "ok"


def test_search_with_filters(queue):
    store, _ = queue
    assert search(store, "storefront", open_only=True) == [1044]
    assert search(store, "checkout", statuses=("new",)) == [1042]
    assert search(store, "checkout", priorities=(4,)) == [1047]
    assert search(store, "check", team="payments-experts") == [1047]
    assert search(store, "storefront", assignee="rita") == [1044]
    assert search(store, "storefront", unassigned=True) == [1046]
    assert search(store, "s", statuses=("resolved", "closed")) == [1045, 1046]
    assert search(store, "", service="checkout") == [1042, 1047]
    # Breaching by a time: open incidents whose next SLA deadline comes before it. INC-1042
    # (P1, 10 minutes old, unacknowledged) must be acknowledged within 15 minutes; INC-1044
    # (P2, acknowledged, 30 minutes old) resolved within 8 hours; INC-1047 is on hold.
    assert search(store, "", breaching_before=NOW) == []
    assert search(store, "", breaching_before=NOW + dt.timedelta(minutes=6)) == [1042]
    assert search(store, "", breaching_before=NOW + dt.timedelta(hours=8)) == [1042, 1044]
    assert search(store, "checkout", breaching_before=NOW + dt.timedelta(days=30)) == [1042]


def test_sorts(queue):
    store, _ = queue
    # Open first, then priority, then newest.
    assert refs(store, IncidentFilter()) == [1042, 1044, 1043, 1047, 1045, 1046]
    assert refs(store, IncidentFilter(sort="newest")) == [1042, 1044, 1043, 1047, 1045, 1046]
    assert refs(store, IncidentFilter(sort="updated")) == [1042, 1044, 1043, 1047, 1045, 1046]
    # Nearest SLA deadline first among the open ones; INC-1047 is on hold and
    # acknowledged, so no clock runs for it.
    sla = refs(store, IncidentFilter(sort="sla"))
    assert sla[:4] == [1042, 1044, 1043, 1047] and set(sla[4:]) == {1045, 1046}
    assert refs(store, IncidentFilter(text="storefront", sort="newest")) == [1044, 1046]
    assert refs(store, IncidentFilter(sort="newest"), ) == [
        i.number for i in store.list(IncidentFilter(sort="newest"), limit=10)]
    assert [i.number for i in store.list(IncidentFilter(sort="newest"), limit=2)] == [
        1042, 1044]


def test_the_index_follows_local_and_server_changes(queue):
    store, ids = queue
    created = store.execute(CreateIncident.new(title="Refund queue stuck", service="payments",
                                               description="Webhook retries pile up"))
    assert [i.id for i in store.list(IncidentFilter(text="refund"))] == [created.id]
    assert [i.id for i in store.list(IncidentFilter(text="webhook"))] == [created.id]
    store.execute(AddNote(ids[1046], text="CDN purge fixed the latency"))
    assert search(store, "purge") == [1046]
    store.execute(UpdateFields(ids[1042], {"title": "Card payments fail"}))
    assert search(store, "502") == [] and search(store, "card payments") == [1042]
    # A server page renames 1043 and numbers the new incident.
    base = store.get(ids[1043]).base
    renamed = {**base, "title": "Search results stale", "version": base["version"] + 1}
    numbered = incident_snapshot(id=created.id, number=1050, ref="INC-1050",
                                 title="Refund queue stuck", service="payments")
    page = change_page([("incident", renamed), ("incident", numbered)], start=store.cursor)
    store.apply_changes(page["changes"], page["cursor"])
    assert search(store, "lag") == [] and search(store, "stale") == [1043]
    assert search(store, "INC-1050") == [1050] and search(store, "refund") == [1050]


def test_the_search_uses_the_fts_index(queue, store_path):
    store, _ = queue
    seen: list[tuple[str, Any]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        if "incident_fts" in statement and statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(Engine, "before_cursor_execute", capture)
    try:
        assert search(store, "checkout", open_only=True, priorities=(1, 4)) == [1042, 1047]
    finally:
        event.remove(Engine, "before_cursor_execute", capture)
    assert seen, "the search did not query the FTS table"
    with sqlite3.connect(store_path) as conn:
        for statement, parameters in seen:
            plan = " | ".join(r[-1] for r in conn.execute(f"EXPLAIN QUERY PLAN {statement}",
                                                         parameters))
            # The FTS table is searched with MATCH (":M"), not scanned; the incidents table
            # is reached by rowid or an index, never scanned whole.
            assert re.search(r"incident_fts VIRTUAL TABLE INDEX \d+:M", plan), plan
            assert "SCAN incidents" not in plan, plan


def test_a_sec_number_is_found_by_its_own_ref_only(queue):
    """An incident restricted when it was logged is numbered in the SEC series
    (domain/refs.py): named, searched and shown as SEC-7, never mistaken for INC-7."""
    store, _ids = queue
    secret = incident_snapshot(number=7, series="SEC", ref="SEC-7", category="security",
                               title="Card data exfiltrated")
    plain = incident_snapshot(number=7, ref="INC-7", title="Search results stale")
    page = change_page([("incident", secret), ("incident", plain)], start=store.cursor)
    store.apply_changes(page["changes"], page["cursor"])
    assert store.get("SEC-7").id == store.get("sec7").id == secret["id"]
    assert store.get("INC-7").id == store.get("7").id == plain["id"]
    assert [i.id for i in store.list(IncidentFilter(text="SEC-7"))] == [secret["id"]]
    reader = QueueReader(store.path)
    try:
        assert reader.rows([secret["id"]])[secret["id"]].ref == "SEC-7"
    finally:
        reader.close()
