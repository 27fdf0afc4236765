"""The store's KPI scan, stale acknowledgements and similar incidents on real SQLite files."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from incidenttui.store import AddNote, CreateIncident, Store, Transition
from incidenttui.store.kpis import SCAN_SQL


def plan(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return " ".join(r[3] for r in conn.execute(
            f"EXPLAIN QUERY PLAN {SCAN_SQL}", {"low": "2000-01-01", "until": "2100-01-01"}))
    finally:
        conn.close()


def test_a_layout_3_store_gains_the_kpi_index_and_the_scan_uses_it(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    Store(path).close()
    assert "COVERING INDEX ix_kpi_scan" in plan(path)
    conn = sqlite3.connect(path)
    conn.execute("DROP INDEX ix_kpi_scan")
    conn.execute("PRAGMA user_version=3")
    conn.commit()
    conn.close()
    assert "ix_kpi_scan" not in plan(path)
    store = Store(path)  # upgraded in place
    store.close()
    assert "COVERING INDEX ix_kpi_scan" in plan(path)


def test_kpis_stale_and_similar_on_local_changes(tmp_path: Path) -> None:
    store = Store(tmp_path / "store.db")
    start = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    a = store.execute(CreateIncident.new(title="Disk full on db01", service="checkout",
                                         category="capacity", impact=2, urgency=2), now=start)
    b = store.execute(CreateIncident.new(title="Disk almost full on db02", service="checkout",
                                         category="capacity", impact=3, urgency=3),
                      now=start + timedelta(minutes=1))
    store.execute(Transition(a.id, action="acknowledge"), now=start + timedelta(minutes=5))
    store.execute(Transition(b.id, action="acknowledge"), now=start + timedelta(minutes=6))
    store.execute(AddNote(b.id, text="purging binlogs"), now=start + timedelta(hours=3))
    now = start + timedelta(hours=5)
    # a: untouched since its acknowledgement (4h55m); b: noted two hours ago.
    stale = store.stale(4, now)
    assert [(s.incident_id, s.owner, s.idle(now)) for s in stale] == [
        (a.id, store.get(a.id).assignee or store.get(a.id).team,
         timedelta(hours=4, minutes=55))]
    assert [s.incident_id for s in store.stale(1, now)] == [a.id, b.id]  # oldest first
    report = store.kpis(start - timedelta(days=1), now, now=now, by="priority")
    assert report.window["incidents"] == 2
    mtta = report.window["mtta"]  # both acknowledged five minutes after logging
    assert mtta["n"] == 2 and abs(mtta["median"] - 300) < 0.01
    assert list(report.groups) == ["P3", "P5"]
    assert report.backlog["4-24h"] == 2
    [similar] = store.similar(a.id)
    assert similar.id == b.id and similar.is_open
