"""A store written by an older layout is upgraded in place: data, outbox and search intact."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from incidenttui.store import AddNote, CreateIncident, IncidentFilter, Store, StoreError


def test_upgrade_from_layout_0_keeps_data_outbox_and_rebuilds_search(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    store = Store(path)
    incident = store.execute(CreateIncident.new(title="Disk full on db01", service="checkout",
                                                impact=1, urgency=1))
    store.execute(AddNote(incident.id, text="purging binlogs"))
    keys = [e.key for e in store.outbox()]
    store.close()
    # Layout 0 had no search index.
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE incident_fts")
    conn.execute("PRAGMA user_version=0")
    conn.commit()
    conn.close()

    upgraded = Store(path)
    assert [e.key for e in upgraded.outbox()] == keys
    assert upgraded.get(incident.id).title == "Disk full on db01"
    assert upgraded.query_ids(IncidentFilter(text="disk")) == [incident.id]
    assert upgraded.query_ids(IncidentFilter(text="binlogs")) == [incident.id]
    assert upgraded.integrity_check() == "ok"


def test_a_store_from_a_newer_incidenttui_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version=99")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="newer incidenttui"):
        Store(path)
