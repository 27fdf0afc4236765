"""De-duplication holds under concurrent requests and across server replicas, and group
commits keep each job whole: one bad job in a batch is refused alone."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
from alertkit import (
    PD_MINIMAL_TRIGGER,
    alert_events,
    create_integration,
    feed_end,
    incidents_of,
    pd_event,
)
from servers import ThreadedServer

from incidenttui.server import alerts
from incidenttui.server.alerts.dedup import Batch
from incidenttui.server.auth import hash_token

N = 24


def fire(base_urls: list[str], events: list[dict]) -> list[int]:
    """Post ``events`` at once from N threads, spread over ``base_urls``."""
    barrier = threading.Barrier(len(events))
    clients = [httpx.Client(base_url=base_urls[i % len(base_urls)], timeout=60, verify=False)
               for i in range(len(events))]

    def one(i: int) -> int:
        barrier.wait()
        return clients[i].post("/api/v1/events", json=events[i]).status_code

    try:
        with ThreadPoolExecutor(len(events)) as pool:
            return list(pool.map(one, range(len(events))))
    finally:
        for c in clients:
            c.close()


def test_simultaneous_triggers_of_one_new_key_open_one_incident(server):
    service = server.add_service()
    key = create_integration(server, "events", service=service)["key"]
    event = pd_event(PD_MINIMAL_TRIGGER, key, dedup_key="storm")
    assert fire([server.base_url], [event] * N) == [202] * N
    [incident] = incidents_of(server, service)
    [alert] = alert_events(server, incident["id"])
    assert alert["data"]["count"] == N


def test_two_replicas_racing_on_new_keys_still_open_one_incident_per_key(server):
    """A second server process on the same database: PostgreSQL's unique index on the active
    key settles the race, and the loser's retry joins the winner's incident."""
    service = server.add_service()
    key = create_integration(server, "events", service=service)["key"]
    replica = ThreadedServer(server.db_url).start()
    try:
        events = [pd_event(PD_MINIMAL_TRIGGER, key, dedup_key=f"race-{i % 3}")
                  for i in range(N)]
        assert fire([server.base_url, replica.base_url], events) == [202] * N
    finally:
        replica.stop()
    incidents = incidents_of(server, service)
    assert len(incidents) == 3
    counts = sorted(alert_events(server, i["id"])[0]["data"]["count"] for i in incidents)
    assert sum(counts) == N


def job(key: str, dedup_key: str, **labels: str) -> alerts.Job:
    alert = alerts.AlertIn(action="trigger", key=dedup_key, group_key=dedup_key,
                           summary=f"summary of {dedup_key}", severity="error",
                           labels=labels)
    return alerts.Job("events", hash_token(key), [alert])


def test_one_bad_job_in_a_group_commit_is_refused_alone(server):
    service = server.add_service()
    key = create_integration(server, "events", service=service)["key"]
    # A service id made outside the API that is not a valid id: its incident cannot be made.
    broken = server.add_service("bad service id")
    ingestor = alerts.Ingestor(server.database)
    good1, bad, good2 = job(key, "a"), job(key, "b", service=broken), job(key, "c")
    revoked = job(uuid.uuid4().hex, "d")
    tickets = ingestor.write_batch([good1, bad, good2, revoked])
    assert [t.outcome().status for t in tickets] == ["ok", "refused", "ok", "unauthorized"]
    assert all(t.done.is_set() for t in tickets)
    titles = sorted(i["title"] for i in incidents_of(server, service))
    assert titles == ["summary of a", "summary of c"]
    from sqlmodel import select

    from incidenttui.server.models import Incident

    with server.database.read() as session:
        assert session.exec(select(Incident).where(Incident.service == broken)).all() == []


def test_a_job_is_written_whole_or_not_at_all(server, monkeypatch):
    service = server.add_service()
    key = create_integration(server, "events", service=service)["key"]
    ingestor = alerts.Ingestor(server.database)

    def two() -> alerts.Job:
        return alerts.Job("events", hash_token(key), [
            alerts.AlertIn(action="trigger", key="x1", group_key="x1", summary="first"),
            alerts.AlertIn(action="trigger", key="x2", group_key="x2", summary="second")])

    original = Batch.add_record

    def fail_on_second(self, integration, alert, incident):  # type: ignore[no-untyped-def]
        if alert.key == "x2":
            raise RuntimeError("disk on fire")
        return original(self, integration, alert, incident)

    monkeypatch.setattr(Batch, "add_record", fail_on_second)
    before = feed_end(server)
    try:
        ingestor.submit(two())
    except RuntimeError:
        pass
    else:
        raise AssertionError("the job's error must reach its request")
    assert incidents_of(server, service) == [] and feed_end(server) == before
    monkeypatch.setattr(Batch, "add_record", original)
    assert ingestor.submit(two()).created == 2
