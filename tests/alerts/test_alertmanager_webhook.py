"""``POST /api/v1/integrations/alertmanager`` with hand-made version 4 payloads (the shape of
Alertmanager's webhook documentation): authentication, the answer, label overrides, and
refusals. The real Alertmanager drives the same endpoint in test_alertmanager.py."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest
from alertkit import API, alert_events, client, create_integration, feed_end, incidents_of

WEBHOOK = f"{API}/integrations/alertmanager"


def payload(service: str, *alerts: dict[str, Any], group: str | None = None,
            status: str = "firing") -> dict[str, Any]:
    """A version 4 webhook payload, as Alertmanager's documentation describes it."""
    group = group or f'{{}}:{{alertname="{uuid.uuid4().hex[:8]}"}}'
    return {
        "version": "4", "groupKey": group, "truncatedAlerts": 0, "status": status,
        "receiver": "incidenttui", "groupLabels": {"alertname": "HighErrorRate"},
        "commonLabels": {"alertname": "HighErrorRate", "service": service},
        "commonAnnotations": {}, "externalURL": "http://alertmanager.example:9093",
        "alerts": list(alerts)}


def am_alert(instance: str = "web-1", status: str = "firing", fingerprint: str | None = None,
             **labels: str) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": "HighErrorRate", "instance": instance, **labels},
        "annotations": {"summary": f"High error rate on {instance}"},
        "startsAt": "2026-11-25T09:12:00.000Z",
        "endsAt": ("0001-01-01T00:00:00Z" if status == "firing"
                   else "2026-11-25T09:40:00.000Z"),
        "generatorURL": "http://prometheus.example:9090/graph?g0.expr=errors",
        "fingerprint": fingerprint or f"{instance}-{uuid.uuid4().hex[:12]}"}


@pytest.fixture(scope="module")
def am_key(server) -> str:
    return create_integration(server, "alertmanager", name="webhook tests")["key"]


def post(server, key: str | None, body: Any, **kwargs: Any):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return client(server, None).post(WEBHOOK, json=body, headers=headers, **kwargs)


def test_a_notification_is_answered_with_what_it_did(server, am_key):
    service = server.add_service()
    body = payload(service, am_alert("web-1"), am_alert("web-2"))
    response = post(server, am_key, body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["status"], answer["alerts"], answer["created"], answer["joined"]) == (
        "success", 2, 1, 1)
    [incident] = incidents_of(server, service)
    assert answer["incidents"] == [{"id": incident["id"], "ref": f"INC-{incident['number']}",
                                    "status": "new", "created": True}]
    assert incident["started_at"].startswith("2026-11-25T09:12:00")
    again = post(server, am_key, body).json()
    assert (again["created"], again["repeats"]) == (0, 2)
    assert again["incidents"][0]["created"] is False
    body["alerts"] = [{**a, "status": "resolved", "endsAt": "2026-11-25T09:40:00.000Z"}
                      for a in body["alerts"]]
    done = post(server, am_key, body).json()
    assert (done["resolved"], done["auto_resolved"]) == (2, 1)
    assert done["incidents"][0]["status"] == "resolved"
    assert post(server, am_key, body).json()["ignored"] == 2  # resolved twice: no-op


def test_labels_override_service_category_impact_and_urgency(server, am_key):
    service = server.add_service()
    labels = {"service": service, "category": "security", "impact": "1", "urgency": "3",
              "severity": "info"}
    post(server, am_key, payload("checkout", am_alert(**labels)))
    [incident] = incidents_of(server, service, role="admin")
    assert (incident["category"], incident["impact"], incident["urgency"]) == ("security", 1, 3)
    assert incident["priority"] == 3
    # a security incident is restricted: a viewer does not see it
    assert incidents_of(server, service) == []


@pytest.mark.parametrize(("severity", "priority"), [
    ("critical", 1), ("page", 1), ("error", 2), ("high", 2), ("warning", 3), ("warn", 3),
    ("info", 5), ("none", 5), ("", 3), ("bananas", 3)])
def test_severity_labels_and_their_aliases(server, am_key, severity, priority):
    service = server.add_service()
    post(server, am_key, payload(service, am_alert(severity=severity, service=service)))
    assert incidents_of(server, service)[0]["priority"] == priority


def test_an_unknown_service_label_falls_back_to_the_integration_service(server):
    service = server.add_service()
    key = create_integration(server, "alertmanager", service=service)["key"]
    post(server, key, payload("no-such-service", am_alert(category="no-such-category")))
    [incident] = incidents_of(server, service)
    assert incident["category"] == "availability"


def test_without_fingerprint_the_labels_identify_the_alert(server, am_key):
    service = server.add_service()
    alert = am_alert(service=service)
    del alert["fingerprint"]
    body = payload(service, alert)
    post(server, am_key, body)
    post(server, am_key, body)
    [incident] = incidents_of(server, service)
    [event] = alert_events(server, incident["id"])
    assert event["data"]["count"] == 2


def test_missing_or_wrong_credentials_are_refused(server, am_key):
    service = server.add_service()
    body = payload(service, am_alert())
    assert post(server, None, body).status_code == 401
    assert post(server, uuid.uuid4().hex, body).status_code == 401
    responder = post(server, server.tokens["admin"], body)  # a user token is not a key
    assert responder.status_code == 401
    events_key = create_integration(server, "events", service=service)["key"]
    wrong_kind = post(server, events_key, body)
    assert wrong_kind.status_code == 401 and "Events API" in wrong_kind.json()["detail"]
    assert wrong_kind.headers["www-authenticate"] == "Bearer"
    assert incidents_of(server, service) == []


BAD = [
    ("version", lambda b: b.update(version="3")),
    ("version", lambda b: b.pop("version")),
    ("groupKey", lambda b: b.update(groupKey="")),
    ("alerts", lambda b: b.pop("alerts")),
    ("alerts", lambda b: b.update(alerts={"status": "firing"})),
    ("alerts.0.status", lambda b: b["alerts"][0].update(status="pending")),
    ("alerts.0.labels.severity", lambda b: b["alerts"][0]["labels"].update(severity=3)),
    ("alerts.0.startsAt", lambda b: b["alerts"][0].update(startsAt="yesterday")),
    ("alerts.0.fingerprint", lambda b: b["alerts"][0].update(fingerprint="")),
    ("truncatedAlerts", lambda b: b.update(truncatedAlerts=-1)),
    ("status", lambda b: b.update(status="burning")),
]


@pytest.mark.parametrize(("field", "spoil"), BAD, ids=[f"{f}-{i}" for i, (f, _) in
                                                       enumerate(BAD)])
def test_bad_payloads_are_refused_naming_the_field(server, am_key, field, spoil):
    service = server.add_service()
    body = payload(service, am_alert(), am_alert("web-2"))
    spoil(body)
    before = feed_end(server)
    response = post(server, am_key, body)
    assert response.status_code == 422, response.text
    answer = response.json()
    assert answer["field"] == field and answer["detail"].startswith(f"{field}:"), answer
    assert incidents_of(server, service) == [] and feed_end(server) == before


@pytest.mark.parametrize("raw", [b"", b"{", b"[]", b"null", b"\xff"])
def test_bodies_that_are_not_json_objects(server, am_key, raw):
    response = client(server, None).post(
        WEBHOOK, content=raw, headers={"Authorization": f"Bearer {am_key}",
                                       "Content-Type": "application/json"})
    assert response.status_code in (400, 422), response.text
    assert response.json()["detail"]


def test_a_body_over_the_limit_is_refused_with_413(server, am_key):
    service = server.add_service()
    alerts = [copy.deepcopy(am_alert(f"web-{i}")) for i in range(3000)]
    for a in alerts:
        a["annotations"]["description"] = "x" * 200
    response = post(server, am_key, payload(service, *alerts))
    assert response.status_code == 413
    assert "524288" in response.json()["detail"]
    assert incidents_of(server, service) == []


def test_nul_and_control_characters_never_break_the_write(server, am_key):
    service = server.add_service()
    alert = am_alert(service=service)
    alert["annotations"] = {"summary": "bad\x00byte \x1b[31mred\x1b[0m",
                            "description": "\x00" * 10}
    alert["labels"]["weird\x00label"] = "v\x00"
    response = post(server, am_key, payload(service, alert))
    assert response.status_code == 200, response.text
    [incident] = incidents_of(server, service)
    assert incident["title"].startswith("bad\ufffdbyte")
