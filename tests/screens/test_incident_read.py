"""Reading an incident for the detail and playbook screens: incident, timeline and
capabilities in one read; a failing store is reported in words and gives None."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from incidenttui.screens.incident_read import IncidentRead, read_incident


class FakeStore:
    def __init__(self, incidents: dict[str, Any], fail: Exception | None = None) -> None:
        self.incidents = incidents
        self.fail = fail
        self.timelines_read: list[str] = []

    def get(self, incident_id: str) -> Any:
        if self.fail is not None:
            raise self.fail
        return self.incidents.get(incident_id)

    def timeline(self, incident_id: str) -> list[str]:
        self.timelines_read.append(incident_id)
        return [f"event of {incident_id}"]

    def capabilities(self) -> str:
        return "caps"

    def sla_pauses(self, service: str) -> list[tuple[str, str]]:
        return [("start", "end")] if service == "erp" else []


class FakeApp:
    def __init__(self, store: FakeStore | None) -> None:
        self.store = store
        self.reported: list[tuple[str, str]] = []

    def report_error(self, what: str, exc: BaseException) -> None:
        self.reported.append((what, str(exc)))


def test_an_incident_comes_with_its_timeline_and_capabilities() -> None:
    one = SimpleNamespace(service="checkout")
    app = FakeApp(FakeStore({"i1": one}))
    assert read_incident(app, "i1", "Reading failed") == IncidentRead(
        one, ["event of i1"], "caps")
    assert app.reported == []


def test_an_incident_comes_with_its_services_maintenance_windows() -> None:
    one = SimpleNamespace(service="erp")
    read = read_incident(FakeApp(FakeStore({"i1": one})), "i1", "Reading failed")
    assert read is not None and read.sla_pauses == (("start", "end"),)


def test_a_gone_incident_reads_no_timeline() -> None:
    store = FakeStore({})
    app = FakeApp(store)
    assert read_incident(app, "gone", "Reading failed") == IncidentRead(None, [], "caps")
    assert store.timelines_read == []


def test_no_store_yet_is_no_read() -> None:
    app = FakeApp(None)
    assert read_incident(app, "i1", "Reading failed") is None
    assert app.reported == []


def test_a_failing_store_is_reported_in_words() -> None:
    app = FakeApp(FakeStore({}, fail=OSError("database is locked")))
    assert read_incident(app, "i1", "Reading the playbook failed") is None
    assert app.reported == [("Reading the playbook failed", "database is locked")]
