"""Maintenance windows in the local store: the change feed's ``maintenance`` entries are
kept, and the SLA deadline of the open incidents on their services moves by the time the
window covers (the queue's "breaching" and SLA order read it); ending a window moves it
back. A status page change about no incident is queued with no incident and confirmed."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pytest
from hostile import incident_snapshot, iso

from incidenttui.domain import Refused
from incidenttui.store import Store
from incidenttui.store.status_commands import NO_INCIDENT, EndMaintenance, SetComponentState

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def window(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "id": "w1", "services": ["erp-sync"], "starts_at": iso(NOW - dt.timedelta(minutes=10)),
        "ends_at": iso(NOW + dt.timedelta(minutes=50)), "reason": "WMS upgrade",
        "created_by": "priya", "ended_at": None}
    data.update(changes)
    return data


def change(seq: int, entity: str, data: dict[str, object]) -> dict[str, object]:
    return {"seq": seq, "entity": entity, "id": str(data["id"]), "data": data}


@pytest.fixture
def store(tmp_path: Path):
    store = Store(tmp_path / "store.db")
    yield store
    store.close()


def test_a_window_moves_the_sla_deadline_of_its_services_incidents(store: Store):
    erp = incident_snapshot(service="erp-sync", created_at=iso(NOW - dt.timedelta(minutes=20)),
                            id=str(uuid.uuid4()))
    other = incident_snapshot(service="checkout", number=1002, id=str(uuid.uuid4()),
                              created_at=erp["created_at"])
    store.apply_changes([change(1, "incident", erp), change(2, "incident", other)], 2)
    before = store.get(erp["id"]).sla_due_at
    assert before == NOW - dt.timedelta(minutes=20) + dt.timedelta(hours=24)  # P5 response
    store.apply_changes([change(3, "maintenance", window())], 3)
    assert [w.id for w in store.maintenance(NOW)] == ["w1"]
    assert store.get(erp["id"]).sla_due_at == before + dt.timedelta(hours=1)
    assert store.get(other["id"]).sla_due_at == before  # not its service
    assert store.sla_pauses("erp-sync") == [(NOW - dt.timedelta(minutes=10),
                                             NOW + dt.timedelta(minutes=50))]
    store.apply_changes([change(4, "maintenance", window(ended_at=iso(NOW)))], 4)
    assert store.get(erp["id"]).sla_due_at == before + dt.timedelta(minutes=10)
    assert store.maintenance(NOW + dt.timedelta(seconds=1)) == []
    assert [w.id for w in store.maintenance(NOW, include_past=True)] == ["w1"]


def test_changes_about_no_incident_are_queued_and_checked_offline(store: Store):
    with pytest.raises(Refused, match="Unknown service"):
        store.execute(SetComponentState.new("checkout", "degraded"))
    store.apply_changes([change(1, "service", {
        "id": "checkout", "name": "Checkout", "team_id": None, "tier": 1, "description": "",
        "public": True, "component_state": "operational"}), change(2, "maintenance", window())],
        2)
    assert store.execute(SetComponentState.new("checkout", "major outage")) is None
    assert store.execute(EndMaintenance.new("w1"), now=NOW) is None
    entries = store.outbox()
    assert [(e.incident_id, e.kind) for e in entries] == [
        (NO_INCIDENT, "component_state"), (NO_INCIDENT, "maintenance_end")]
    assert [s.component_state for s in store.services()] == ["major_outage"]
    assert store.maintenance(NOW + dt.timedelta(seconds=1)) == []
    with pytest.raises(Refused, match="over already"):
        store.execute(EndMaintenance.new("w1"), now=NOW + dt.timedelta(seconds=1))
    store.confirm(entries[0].key, {"id": "checkout"})  # the feed brings the result
    assert [e.kind for e in store.outbox()] == ["maintenance_end"]
