"""Maintenance windows hold alerts back: during a window, Alertmanager and Events v2 alerts for
its services are recorded (the integration's log of held alerts), open no incident and page
no one; when the window ends (early by hand, or its end passes) the alerts still firing open
their incidents, and a recovered one opens none. SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from alertkit import API, client, create_integration, feed_end_cursor, incidents_of
from sqlmodel import col, func, select
from test_alertmanager_webhook import am_alert, payload

from incidenttui.server.maintenance import release_due
from incidenttui.server.models import HeldAlert
from incidenttui.server.notify import Notification

WEBHOOK = f"{API}/integrations/alertmanager"


def plan_window(server: Any, services: list[str], minutes: int = 60,
                start: datetime | None = None) -> dict[str, Any]:
    start = start or datetime.now(UTC) - timedelta(minutes=1)
    answer = client(server, "responder").post(f"{API}/maintenance", json={
        "id": str(uuid.uuid4()), "services": services, "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(minutes=minutes)).isoformat(),
        "reason": "Database upgrade"})
    assert answer.status_code == 201, answer.text
    return answer.json()


def event(key: str, dedup: str, action: str = "trigger") -> dict[str, Any]:
    return {"routing_key": key, "event_action": action, "dedup_key": dedup,
            "payload": {"summary": f"ERP sync lag ({dedup})", "source": "erp-1",
                        "severity": "critical"}}


def notifications(server: Any) -> int:
    with server.database.read() as session:
        return session.exec(select(func.count()).select_from(Notification)).one()


def held(server: Any, window_id: str) -> list[HeldAlert]:
    with server.database.read() as session:
        return list(session.exec(select(HeldAlert).where(col(HeldAlert.window_id) == window_id)))


def test_alerts_in_a_window_open_nothing_until_it_ends(server):
    service = server.add_service()
    am_key = create_integration(server, "alertmanager", service=service)["key"]
    ev_key = create_integration(server, "events", service=service)["key"]
    window = plan_window(server, [service])
    paged_before = notifications(server)

    body = payload(service, am_alert("erp-1"), am_alert("erp-2"))
    answer = client(server, None).post(WEBHOOK, json=body,
                                       headers={"Authorization": f"Bearer {am_key}"})
    assert answer.status_code == 200, answer.text
    assert (answer.json()["created"], answer.json()["held"]) == (0, 2)
    again = client(server, None).post(WEBHOOK, json=body,
                                      headers={"Authorization": f"Bearer {am_key}"})
    assert (again.json()["created"], again.json()["held"]) == (0, 2)
    for dedup in ("lag-a", "lag-b"):
        sent = client(server, None).post(f"{API}/events", json=event(ev_key, dedup))
        assert sent.status_code == 202, sent.text
    recovered = client(server, None).post(f"{API}/events",
                                          json=event(ev_key, "lag-a", "resolve"))
    assert recovered.status_code == 202, recovered.text

    assert incidents_of(server, service) == []  # nothing opened ...
    assert notifications(server) == paged_before  # ... and nobody paged
    log = {h.alert_key: h for h in held(server, window["id"])}
    assert set(log) == {body["alerts"][0]["fingerprint"], body["alerts"][1]["fingerprint"],
                        "lag-a", "lag-b"}
    assert log[body["alerts"][0]["fingerprint"]].count == 2
    assert (log["lag-a"].status, log["lag-b"].status) == ("resolved", "firing")
    listed = client(server, "viewer").get(f"{API}/maintenance").json()
    assert [w["held_alerts"] for w in listed if w["id"] == window["id"]] == [4]

    ended = client(server, "responder").post(f"{API}/maintenance/{window['id']}/end")
    assert ended.status_code == 200, ended.text
    opened = incidents_of(server, service)
    # the Alertmanager group opens one incident (its two alerts join it), lag-b its own;
    # lag-a recovered during the window and opens none
    assert len(opened) == 2, opened
    assert all(h.incident_id for h in held(server, window["id"]) if h.status == "firing")
    assert release_due(server.database) == 0  # released once

    after = client(server, None).post(f"{API}/events", json=event(ev_key, "lag-c"))
    assert after.status_code == 202
    assert len(incidents_of(server, service)) == 3  # after the window, alerts open incidents


def test_a_window_whose_end_passes_releases_its_alerts(server):
    service = server.add_service()
    ev_key = create_integration(server, "events", service=service)["key"]
    window = plan_window(server, [service], minutes=30)
    client(server, None).post(f"{API}/events", json=event(ev_key, "still-firing"))
    assert incidents_of(server, service) == []
    assert release_due(server.database, datetime.now(UTC) + timedelta(minutes=5)) == 0
    assert release_due(server.database, datetime.now(UTC) + timedelta(minutes=31)) == 1
    [incident] = incidents_of(server, service)
    assert "maintenance window" in client(server).get(
        f"{API}/incidents/{incident['id']}").json()["description"]
    assert [h.incident_id for h in held(server, window["id"])] == [incident["id"]]


def test_windows_travel_in_the_change_feed_and_refuse_bad_input(server):
    service = server.add_service()
    cursor = feed_end_cursor(server)
    window = plan_window(server, [service])
    page = client(server, "viewer").get(f"{API}/changes", params={"cursor": cursor}).json()
    entries = [c for c in page["changes"] if c["entity"] == "maintenance"]
    assert [e["data"]["id"] for e in entries] == [window["id"]]
    start = datetime.now(UTC)
    for body, words in (
            ({"services": [service], "starts_at": start.isoformat(),
              "ends_at": (start - timedelta(hours=1)).isoformat()}, "end after it starts"),
            ({"services": ["no-such-service"], "starts_at": start.isoformat(),
              "ends_at": (start + timedelta(hours=1)).isoformat()}, "Unknown service"),
            ({"services": [service], "starts_at": start.isoformat(),
              "ends_at": (start + timedelta(days=30)).isoformat()}, "at most")):
        answer = client(server, "responder").post(f"{API}/maintenance",
                                                  json={"id": str(uuid.uuid4()), **body})
        assert answer.status_code == 422, answer.text
        assert words in answer.json()["detail"]
    assert client(server, "viewer").post(f"{API}/maintenance/{window['id']}/end"
                                         ).status_code == 403
    missing = client(server, "responder").post(f"{API}/maintenance/{uuid.uuid4()}/end")
    assert missing.status_code == 404, missing.text
