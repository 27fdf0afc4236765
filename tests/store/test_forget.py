"""Forget on lost access: a ``forget`` entry of the change feed removes every local trace
of the incident, atomically with its page, and leaves one notice for the user."""

from __future__ import annotations

from typing import Any

import pytest
from hostile import change_page, event_json, incident_snapshot

from incidenttui.store import AddNote, IncidentFilter, Store, UpdateFields


def forget(incident_id: str) -> tuple[str, dict[str, Any]]:
    return ("forget", {"id": incident_id, "incident_id": incident_id})


def fts_rows(store: Store) -> int:
    with store._read_engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT count(*) FROM incident_fts").scalar() or 0)


def test_forget_removes_incident_timeline_search_outbox_and_conflicts(
        synced: tuple[Store, dict[str, Any]]) -> None:
    store, snap = synced
    other = incident_snapshot(number=1043, ref="INC-1043", title="Search lag")
    store.apply_changes(change_page([("incident", other),
                                     ("event", event_json(snap["id"], "secret plan")),
                                     ("event", event_json(other["id"], "kept"))],
                                    start=20)["changes"], 23)
    store.execute(AddNote(snap["id"], text="queued"))
    store.execute(UpdateFields(snap["id"], {"title": "renamed"}))
    store.reject(store.outbox()[1].key, "refused")  # one conflict for it
    assert store.conflict_count() == 1 and store.pending_count() == 1
    assert store.query_ids(IncidentFilter(text="secret"))

    store.apply_changes(change_page([forget(snap["id"])], start=23)["changes"], 24)

    assert store.get(snap["id"]) is None and store.timeline(snap["id"]) == []
    assert store.pending_count() == 0 and store.conflict_count() == 0
    assert store.query_ids(IncidentFilter(text="secret")) == []
    assert fts_rows(store) == 1 and store.cursor == "24"
    assert [e.text for e in store.timeline(other["id"])] == ["kept"]
    assert store.take_forgotten() == [{"id": snap["id"], "number": 1042, "series": "INC",
                                       "dropped": 1}]
    assert store.take_forgotten() == []  # told once
    assert store.integrity_check() == "ok"


def test_the_last_word_of_a_page_wins(store: Store) -> None:
    gone = incident_snapshot(number=1, ref="INC-1")
    back = incident_snapshot(number=2, ref="INC-2")
    page = change_page([("incident", gone), ("event", event_json(gone["id"], "x")),
                        forget(gone["id"]), forget(back["id"]), ("incident", back)])
    store.apply_changes(page["changes"], page["cursor"])
    assert store.get(gone["id"]) is None and store.timeline(gone["id"]) == []
    assert store.get(back["id"]) is not None
    # gone was never held before this page: nothing to tell
    assert store.take_forgotten() == []


def test_forgetting_what_is_not_held_changes_nothing(synced: tuple[Store, Any]) -> None:
    store, snap = synced
    store.apply_changes(change_page([forget("3e1c4c52-5b43-4b8e-9a51-5a0a3c1e2f00")],
                                    start=20)["changes"], 21)
    assert store.get(snap["id"]) is not None and store.take_forgotten() == []


def test_a_malformed_forget_applies_nothing(synced: tuple[Store, Any]) -> None:
    store, snap = synced
    page = change_page([forget(snap["id"])], start=20)
    page["changes"][0]["data"] = {"incident_id": 42}
    page["changes"][0]["id"] = ""
    with pytest.raises(ValueError, match="names no incident"):
        store.apply_changes(page["changes"], 21)
    assert store.get(snap["id"]) is not None and store.cursor == "20"
