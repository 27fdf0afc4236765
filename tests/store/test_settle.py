"""Settling a conflict is a command through ``Store.execute``: keep mine applies and queues
the field change in one transaction; what cannot be settled is refused in words and leaves
the store as it was."""

from __future__ import annotations

from typing import Any

import pytest
from hostile import incident_snapshot

from incidenttui.domain import RefusalKind, Refused
from incidenttui.store import AddNote, SettleConflict, Store, Transition, UpdateFields


def field_conflict(store: Store, snap: dict[str, Any]) -> Any:
    """My title change met someone else's at version 4: one field conflict."""
    store.execute(UpdateFields(snap["id"], {"title": "mine"}))
    entry = store.outbox()[-1]
    theirs = incident_snapshot(**{**snap, "version": 4, "title": "theirs",
                                  "field_versions": {"title": 4}})
    store.record_conflict(entry.key, {"incident": theirs, "conflicts": [
        {"field": "title", "mine": "mine", "theirs": "theirs"}]})
    (conflict,) = store.conflicts()
    return conflict


def refusal(store: Store, snap: dict[str, Any]) -> Any:
    store.execute(Transition(snap["id"], action="acknowledge"))
    store.reject(store.outbox()[-1].key, "the incident was cancelled meanwhile")
    (conflict,) = store.conflicts()
    return conflict


def test_keep_mine_queues_my_value_over_their_version(synced: Any) -> None:
    store, snap = synced
    conflict = field_conflict(store, snap)
    assert store.get(snap["id"]).title == "theirs" and store.outbox() == []
    row = store.execute(SettleConflict(conflict.id, keep_mine=True))
    assert row is not None and row.title == "mine" and row.pending == 1
    (entry,) = store.outbox()
    assert (entry.kind, entry.payload["fields"], entry.base_version) == \
        ("patch", {"title": "mine"}, 4)
    assert entry.actor == "rita"
    assert store.conflicts() == []
    # The timeline shows the change, pending, tied to its outbox row (as any other change).
    pending = [e for e in store.timeline(snap["id"]) if e.pending]
    assert [(e.kind, e.outbox_key) for e in pending] == [("field", entry.key)]


def test_take_theirs_drops_mine_and_queues_nothing(synced: Any) -> None:
    store, snap = synced
    conflict = field_conflict(store, snap)
    row = store.execute(SettleConflict(conflict.id, keep_mine=False))
    assert row is not None and row.title == "theirs" and row.pending == 0
    assert store.conflicts() == [] and store.outbox() == []


def test_a_settled_conflict_is_refused_the_second_time(synced: Any) -> None:
    store, snap = synced
    conflict = field_conflict(store, snap)
    store.execute(SettleConflict(conflict.id))
    with pytest.raises(Refused, match="already settled") as refused:
        store.execute(SettleConflict(conflict.id, keep_mine=True))
    assert refused.value.kind == RefusalKind.NOT_FOUND
    assert store.outbox() == []


def test_a_refusal_cannot_be_kept_only_dismissed(synced: Any) -> None:
    store, snap = synced
    conflict = refusal(store, snap)
    with pytest.raises(Refused, match="cannot be kept"):
        store.execute(SettleConflict(conflict.id, keep_mine=True))
    assert [c.id for c in store.conflicts()] == [conflict.id] and store.outbox() == []
    store.execute(SettleConflict(conflict.id, keep_mine=False))
    assert store.conflicts() == [] and store.outbox() == []


def test_keep_mine_is_checked_by_the_rules_like_any_change(synced: Any) -> None:
    store, snap = synced
    conflict = field_conflict(store, snap)
    closed = incident_snapshot(**{**snap, "version": 6, "title": "theirs", "status": "closed",
                                  "field_versions": {"title": 4}})
    store.apply_changes([{"seq": 30, "entity": "incident", "id": snap["id"],
                          "data": closed}], cursor=30)
    store.execute(AddNote(snap["id"], text="closing remark"))
    before = [(e.key, e.kind) for e in store.outbox()]
    with pytest.raises(Refused, match="can no longer change"):
        store.execute(SettleConflict(conflict.id, keep_mine=True))
    # Nothing written: the conflict is still there to take theirs.
    assert [c.id for c in store.conflicts()] == [conflict.id]
    assert [(e.key, e.kind) for e in store.outbox()] == before


def test_the_reliability_models_trace_follows_a_settle_through_execute(tmp_path: Any) -> None:
    """The fault-schedule model's TracingStore sees a keep-mine re-queue by its origin."""
    from hostile import change_page
    from reliability_model import TracingStore

    store = TracingStore(tmp_path / "traced.db")
    try:
        snap = incident_snapshot(number=7, version=3)
        store.set_meta("user", "rita")
        store.apply_changes(change_page([("incident", snap)])["changes"], cursor=1)
        conflict = field_conflict(store, snap)
        store.execute(SettleConflict(conflict.id, keep_mine=True))
        (entry,) = store.outbox()
        queued = store.trace.queued[entry.key]
        assert (queued.origin, queued.parent) == ("keep_mine", conflict.outbox_key)
        assert store.trace.settled_conflicts == 1
        assert store.trace.conflict_rows[conflict.outbox_key] == 0
        with pytest.raises(Refused):  # refused: nothing traced
            store.execute(SettleConflict(conflict.id))
        assert store.trace.settled_conflicts == 1
    finally:
        store.close()
