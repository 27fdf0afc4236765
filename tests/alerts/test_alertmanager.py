"""The real Prometheus Alertmanager (Debian's ``prometheus-alertmanager``) sends its webhooks to
a real server on loopback: alerts posted to Alertmanager's API become, join and resolve
incidents. On SQLite and PostgreSQL (the ``server`` fixture's parameters)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alertkit import (
    API,
    Alertmanager,
    alert_events,
    client,
    create_integration,
    incidents_of,
    iso,
    parse,
    start_alertmanager,
    timeline,
    wait_for,
)
from apihelpers import move, read_feed


@pytest.fixture(scope="module")
def pd_service(server: Any) -> str:
    """The service of the Events integration that Alertmanager's PagerDuty notifier uses
    (Events v2 carries no labels, so its incidents go to the integration's service)."""
    return server.add_service()


@pytest.fixture(scope="module")
def am(server: Any, alertmanager_bin: str, pd_service: str) -> Iterator[Alertmanager]:
    url = f"{server.base_url}{API}/integrations/alertmanager"
    auto = create_integration(server, "alertmanager", name="alertmanager (auto-resolve)")
    manual = create_integration(server, "alertmanager", auto_resolve=False,
                                name="alertmanager (manual resolve)")
    events = create_integration(server, "events", service=pd_service,
                                name="alertmanager's pagerduty notifier")
    running = start_alertmanager(alertmanager_bin, {"auto": (url, auto["key"]),
                                                    "manual": (url, manual["key"])},
                                 pagerduty=(f"{server.base_url}{API}/events", events["key"]))
    yield running
    running.stop()


def now() -> datetime:
    return datetime.now(UTC)


def alert(name: str, service: str, *, instance: str = "web-1", severity: str = "critical",
          ends_in: timedelta | None = timedelta(hours=1), starts_at: datetime | None = None,
          **labels: str) -> dict[str, Any]:
    """An alert as Prometheus posts it to Alertmanager's API."""
    body: dict[str, Any] = {
        "labels": {"alertname": name, "service": service, "instance": instance,
                   "severity": severity, **labels},
        "annotations": {"summary": f"{name} on {instance}",
                        "description": f"{name}: more than 5% of requests fail"},
        "generatorURL": f"http://prometheus.example/graph?g0.expr={name}",
    }
    if starts_at is not None:
        body["startsAt"] = iso(starts_at)
    if ends_in is not None:
        body["endsAt"] = iso(now() + ends_in)
    return body


def resolved(body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "endsAt": iso(now() - timedelta(seconds=1))}


def one_incident(server: Any, service: str) -> dict[str, Any]:
    incidents = wait_for(lambda: incidents_of(server, service), what="an incident")
    assert len(incidents) == 1, incidents
    return incidents[0]


def test_a_firing_alert_opens_an_incident_from_its_labels(server, am):
    service = server.add_service(team="platform")
    started = (now() - timedelta(minutes=7)).replace(microsecond=250_000)
    am.post([alert("CheckoutErrors", service, starts_at=started, category="performance")])
    incident = one_incident(server, service)
    assert incident["title"] == "CheckoutErrors on web-1"
    assert incident["category"] == "performance"
    assert (incident["impact"], incident["urgency"], incident["priority"]) == (1, 1, 1)
    assert incident["status"] == "new"
    assert incident["team"] == "platform"  # the service's team
    assert incident["reporter"] == "incidenttui"
    assert parse(incident["started_at"]) == started  # startsAt: time to detect is known
    assert parse(incident["detected_at"]) >= started
    assert "CheckoutErrors: more than 5% of requests fail" in incident["description"]
    events = timeline(server, incident["id"])
    assert [e["kind"] for e in events[:2]] == ["created", "alert"]
    alert_event = events[1]
    assert alert_event["actor"] == "incidenttui"
    assert alert_event["data"]["source"] == "alertmanager"
    assert alert_event["data"]["status"] == "firing"
    assert alert_event["data"]["labels"]["alertname"] == "CheckoutErrors"
    assert alert_event["text"].startswith("Alertmanager alert firing")


def test_the_same_fingerprint_joins_and_repeats_raise_one_count(server, am, tmp_path: Path):
    service = server.add_service()
    body = alert("PaymentTimeouts", service, severity="warning")
    am.post([body])
    incident = one_incident(server, service)
    assert incident["priority"] == 3  # warning -> impact 2, urgency 2
    for _ in range(3):  # Prometheus re-sends firing alerts on every evaluation
        am.post([body])
    # Alertmanager re-notifies unchanged groups every repeat_interval (0.3 s here).
    event = wait_for(lambda: next((e for e in alert_events(server, incident["id"])
                                   if e["data"]["count"] >= 3), None), what="count >= 3")
    assert len(incidents_of(server, service)) == 1
    assert len(alert_events(server, incident["id"])) == 1  # one line, however many repeats
    assert "firing ×" in event["text"]
    assert parse(event["data"]["last_seen"]) > parse(event["data"]["first_seen"])

    # The app sees the same: the change feed carries the event's newer snapshots under one id,
    # and the client's store keeps the latest.
    from incidenttui.store import Store

    changes, cursor = read_feed(client(server), 0)
    snapshots = [c for c in changes if c["entity"] == "event" and c["id"] == event["id"]]
    counts = [c["data"]["data"]["count"] for c in snapshots]
    assert counts == sorted(counts) and counts[-1] >= 3 and len(snapshots) >= 3
    store = Store(tmp_path / "store.db")
    try:
        store.apply_changes(changes, cursor)
        local = store.get(incident["id"])
        assert local is not None and local.status == "new"
        alerts = [e for e in store.timeline(incident["id"]) if e.kind == "alert"]
        assert len(alerts) == 1 and alerts[0].data["count"] == counts[-1]
    finally:
        store.close()


def test_alerts_of_one_group_join_one_incident_and_groups_stay_apart(server, am):
    service = server.add_service()
    am.post([alert("SearchLag", service, instance="search-1")])
    incident = one_incident(server, service)
    am.post([alert("SearchLag", service, instance="search-2")])  # same groupKey
    wait_for(lambda: len(alert_events(server, incident["id"])) == 2, what="two alerts")
    am.post([alert("SearchDown", service, instance="search-1")])  # another group
    incidents = wait_for(lambda: (lambda found: found if len(found) == 2 else None)(
        incidents_of(server, service)), what="a second incident")
    assert incidents[0]["id"] == incident["id"]
    assert incidents[1]["title"] == "SearchDown on search-1"
    keys = {e["data"]["labels"]["instance"] for e in alert_events(server, incident["id"])}
    assert keys == {"search-1", "search-2"}


def test_when_every_alert_recovers_the_incident_resolves_by_itself(server, am):
    service = server.add_service()
    first, second = (alert("StorefrontDown", service, instance=i) for i in ("sf-1", "sf-2"))
    am.post([first, second])
    incident = one_incident(server, service)
    wait_for(lambda: len(alert_events(server, incident["id"])) == 2, what="two alerts")

    am.post([resolved(first)])  # one of two recovers: the incident stays open
    wait_for(lambda: any(e["data"]["status"] == "resolved"
                         for e in alert_events(server, incident["id"])), what="one resolved")
    assert one_incident(server, service)["status"] == "new"

    am.post([resolved(second)])
    done = wait_for(lambda: next((i for i in incidents_of(server, service)
                                  if i["status"] == "resolved"), None), what="auto-resolve")
    assert done["resolution_code"] == "other"
    assert done["resolution_note"].startswith("Resolved automatically")
    moves = [(e["actor"], e["data"]["from"], e["data"]["to"])
             for e in timeline(server, incident["id"]) if e["kind"] == "status"]
    # The lifecycle needs an acknowledgement before resolve: the system user makes both.
    assert moves == [("incidenttui", "new", "acknowledged"),
                     ("incidenttui", "acknowledged", "resolved")]
    assert {e["data"]["status"] for e in alert_events(server, incident["id"])} == {"resolved"}

    # A trigger after the resolve opens a new incident.
    am.post([alert("StorefrontDown", service, instance="sf-1")])
    incidents = wait_for(lambda: (lambda found: found if len(found) == 2 else None)(
        incidents_of(server, service)), what="a new incident")
    assert incidents[1]["status"] == "new" and incidents[1]["id"] != incident["id"]


def test_an_acknowledged_incident_is_resolved_without_a_second_acknowledgement(server, am):
    service = server.add_service()
    body = alert("QueueBacklog", service)
    am.post([body])
    incident = one_incident(server, service)
    rita = client(server, "responder")
    move(rita, incident["id"], "acknowledge")
    move(rita, incident["id"], "start")
    am.post([resolved(body)])
    wait_for(lambda: one_incident(server, service)["status"] == "resolved", what="resolve")
    moves = [(e["actor"], e["data"]["to"]) for e in timeline(server, incident["id"])
             if e["kind"] == "status"]
    assert moves == [("rita", "acknowledged"), ("rita", "in_progress"),
                     ("incidenttui", "resolved")]


def test_a_manual_integration_waits_for_a_responder(server, am):
    service = server.add_service()
    body = alert("DiskFull", service, rule="manual", severity="info")
    am.post([body])
    incident = one_incident(server, service)
    assert incident["priority"] == 5  # info -> 3/3
    am.post([resolved(body)])
    note = wait_for(lambda: next((e for e in timeline(server, incident["id"])
                                  if e["kind"] == "alert" and e["data"].get("all_resolved")),
                                 None), what="the all-recovered note")
    assert "responder" in note["text"]
    assert one_incident(server, service)["status"] == "new"
    # Firing again joins the same, still open incident.
    am.post([alert("DiskFull", service, rule="manual", severity="info")])
    wait_for(lambda: alert_events(server, incident["id"])[0]["data"]["status"] == "firing",
             what="firing again")
    assert len(incidents_of(server, service)) == 1


def test_an_alert_prometheus_stops_sending_resolves_after_resolve_timeout(server, am):
    service = server.add_service()
    am.post([alert("NightlyJobLate", service, ends_in=None)])  # endsAt = now + 1 s
    incident = one_incident(server, service)
    wait_for(lambda: one_incident(server, service)["status"] == "resolved", timeout=20,
             what="resolve after resolve_timeout")
    assert alert_events(server, incident["id"])[0]["data"]["status"] == "resolved"


def test_alertmanagers_own_pagerduty_notifier_speaks_our_events_api(server, am, pd_service):
    """Alertmanager's pagerduty_configs, its url pointed at /api/v1/events: a real Events v2
    client, triggering and then resolving by its own dedup_key."""
    service = pd_service
    body = alert("WarehouseSyncStuck", "checkout", via="pagerduty")
    am.post([body])
    incident = one_incident(server, service)
    assert incident["title"].startswith("[FIRING:1] WarehouseSyncStuck")
    [event] = alert_events(server, incident["id"])
    assert event["data"]["source"] == "events" and len(event["data"]["key"]) == 64
    am.post([resolved(body)])
    wait_for(lambda: one_incident(server, service)["status"] == "resolved",
             what="resolve by Alertmanager's PagerDuty notifier")
