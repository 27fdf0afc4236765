"""``POST /api/v1/events`` answers like PagerDuty's Events API v2, using the examples from
PagerDuty's documentation; de-duplication by ``dedup_key`` per routing key, acknowledge and
resolve, repeats counted, bad events refused with nothing written. SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from alertkit import (
    API,
    PD_ACCEPTED,
    PD_ACKNOWLEDGE_EXAMPLE,
    PD_INVALID_ROUTING_KEY,
    PD_MINIMAL_TRIGGER,
    PD_RESOLVE_EXAMPLE,
    PD_TRIGGER_EXAMPLE,
    alert_events,
    client,
    create_integration,
    feed_end,
    feed_end_cursor,
    incidents_of,
    parse,
    pd_event,
    timeline,
)
from apihelpers import read_feed

EVENTS = f"{API}/events"


@pytest.fixture
def http(server) -> httpx.Client:
    """No user token: the routing key authenticates."""
    return client(server, None)


def send(http: httpx.Client, event: dict[str, Any]) -> httpx.Response:
    return http.post(EVENTS, json=event)


def accepted(response: httpx.Response) -> str:
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "success" and body["message"] == "Event processed", body
    return body["dedup_key"]


@pytest.fixture
def service_key(server) -> tuple[str, str]:
    """A fresh service with its own auto-resolving Events integration: (service, key)."""
    service = server.add_service()
    return service, create_integration(server, "events", service=service)["key"]


# -- PagerDuty's documented examples ------------------------------------------------------


def test_the_documented_trigger_example_opens_an_incident(server, http, service_key):
    service, key = service_key
    response = send(http, pd_event(PD_TRIGGER_EXAMPLE, key))
    assert response.status_code == 202
    assert response.json() == PD_ACCEPTED  # the documented answer, word for word
    [incident] = incidents_of(server, service)
    assert incident["title"] == "Example alert on host1.example.com"
    assert (incident["impact"], incident["urgency"], incident["priority"]) == (3, 3, 5)  # info
    assert parse(incident["started_at"]).isoformat() == "2015-07-17T08:42:58.315000+00:00"
    assert "api-stats-prod-003" in incident["description"]
    assert "ping time" in incident["description"] and "Link text" in incident["description"]
    [event] = alert_events(server, incident["id"])
    assert event["data"]["source"] == "events"
    assert event["data"]["key"] == "samplekeyhere"
    assert event["data"]["custom_details"] == {"ping time": "1500ms", "load avg": 0.75}
    assert event["data"]["links"] == [{"href": "https://example.com/", "text": "Link text"}]
    assert event["data"]["component"] == "postgres" and event["data"]["class"] == "deploy"


def test_the_documented_acknowledge_and_resolve_examples(server, http, service_key):
    service, key = service_key
    accepted(send(http, pd_event(PD_TRIGGER_EXAMPLE, key)))
    response = send(http, pd_event(PD_ACKNOWLEDGE_EXAMPLE, key))
    assert response.json() == PD_ACCEPTED
    [incident] = incidents_of(server, service)
    assert incident["status"] == "acknowledged"
    assert incident["acknowledged_at"] is not None
    response = send(http, pd_event(PD_RESOLVE_EXAMPLE, key))
    assert response.json() == PD_ACCEPTED
    [incident] = incidents_of(server, service)
    assert incident["status"] == "resolved" and incident["resolution_code"] == "other"
    moves = [(e["actor"], e["data"]["to"]) for e in timeline(server, incident["id"])
             if e["kind"] == "status"]
    assert moves == [("incidenttui", "acknowledged"), ("incidenttui", "resolved")]


def test_a_trigger_without_dedup_key_gets_one(server, http, service_key):
    service, key = service_key
    dedup_key = accepted(send(http, pd_event(PD_MINIMAL_TRIGGER, key)))
    assert len(dedup_key) == 32
    [incident] = incidents_of(server, service)
    assert incident["priority"] == 1  # critical
    # ... and that key acknowledges it.
    accepted(send(http, pd_event(PD_ACKNOWLEDGE_EXAMPLE, key, dedup_key=dedup_key)))
    assert incidents_of(server, service)[0]["status"] == "acknowledged"


def test_the_documented_400_for_a_routing_key_of_the_wrong_length(http):
    response = send(http, PD_TRIGGER_EXAMPLE)  # routing_key "samplekeyhere"
    assert response.status_code == 400
    assert response.json() == PD_INVALID_ROUTING_KEY


# -- de-duplication ---------------------------------------------------------------------


def test_repeats_join_the_open_incident_and_raise_one_count(server, http, service_key):
    service, key = service_key
    cursor = feed_end_cursor(server)
    for _ in range(4):
        accepted(send(http, pd_event(PD_TRIGGER_EXAMPLE, key)))
    [incident] = incidents_of(server, service)
    [event] = alert_events(server, incident["id"])
    assert event["data"]["count"] == 4 and event["text"].startswith("Events API alert firing ×4")
    assert [e["kind"] for e in timeline(server, incident["id"])] == ["created", "alert"]
    changes, _ = read_feed(client(server), cursor)
    counts = [c["data"]["data"]["count"] for c in changes
              if c["entity"] == "event" and c["id"] == event["id"]]
    assert counts == [1, 2, 3, 4]  # the same event, re-sent with its new count


def test_dedup_keys_are_scoped_per_routing_key(server, http):
    service = server.add_service()
    first = create_integration(server, "events", service=service)["key"]
    second = create_integration(server, "events", service=service)["key"]
    accepted(send(http, pd_event(PD_TRIGGER_EXAMPLE, first)))
    accepted(send(http, pd_event(PD_TRIGGER_EXAMPLE, second)))
    assert len(incidents_of(server, service)) == 2
    accepted(send(http, pd_event(PD_RESOLVE_EXAMPLE, first)))
    statuses = [i["status"] for i in incidents_of(server, service)]
    assert statuses == ["resolved", "new"]


def test_a_trigger_after_resolve_opens_a_new_incident(server, http, service_key):
    service, key = service_key
    accepted(send(http, pd_event(PD_TRIGGER_EXAMPLE, key)))
    accepted(send(http, pd_event(PD_RESOLVE_EXAMPLE, key)))
    accepted(send(http, pd_event(PD_TRIGGER_EXAMPLE, key)))
    first, second = incidents_of(server, service)
    assert (first["status"], second["status"]) == ("resolved", "new")
    assert alert_events(server, second["id"])[0]["data"]["count"] == 1


def test_a_trigger_after_a_responder_resolved_opens_a_new_incident(server, http, service_key):
    service, key = service_key
    accepted(send(http, pd_event(PD_TRIGGER_EXAMPLE, key)))
    [incident] = incidents_of(server, service)
    rita = client(server, "responder")
    for action, body in (("acknowledge", None),
                         ("resolve", {"resolution_code": "fixed",
                                      "resolution_note": "Restarted the pipeline."})):
        assert rita.post(f"{API}/incidents/{incident['id']}/{action}",
                         json=body).status_code == 200
    accepted(send(http, pd_event(PD_TRIGGER_EXAMPLE, key)))
    assert [i["status"] for i in incidents_of(server, service)] == ["resolved", "new"]


def test_acknowledge_and_resolve_for_unknown_keys_are_accepted_and_change_nothing(
        server, http, service_key):
    service, key = service_key
    assert send(http, pd_event(PD_ACKNOWLEDGE_EXAMPLE, key, dedup_key="nope")).json()[
        "dedup_key"] == "nope"
    accepted(send(http, pd_event(PD_RESOLVE_EXAMPLE, key, dedup_key="nope")))
    assert incidents_of(server, service) == []


def test_acknowledging_twice_is_harmless(server, http, service_key):
    service, key = service_key
    accepted(send(http, pd_event(PD_TRIGGER_EXAMPLE, key)))
    accepted(send(http, pd_event(PD_ACKNOWLEDGE_EXAMPLE, key)))
    accepted(send(http, pd_event(PD_ACKNOWLEDGE_EXAMPLE, key)))
    [incident] = incidents_of(server, service)
    assert incident["status"] == "acknowledged"
    assert sum(e["kind"] == "status" for e in timeline(server, incident["id"])) == 1


def test_a_manual_integration_records_the_resolve_and_waits(server, http):
    service = server.add_service()
    key = create_integration(server, "events", service=service, auto_resolve=False)["key"]
    accepted(send(http, pd_event(PD_TRIGGER_EXAMPLE, key)))
    accepted(send(http, pd_event(PD_RESOLVE_EXAMPLE, key)))
    [incident] = incidents_of(server, service)
    assert incident["status"] == "new"
    [event] = alert_events(server, incident["id"])
    assert event["data"]["status"] == "resolved" and event["text"].startswith(
        "Events API alert resolved")
    notes = [e for e in timeline(server, incident["id"]) if e["data"].get("all_resolved")]
    assert len(notes) == 1
    # It fires again before anyone resolved it: the same incident, the count goes on.
    accepted(send(http, pd_event(PD_TRIGGER_EXAMPLE, key)))
    [incident] = incidents_of(server, service)
    [event] = alert_events(server, incident["id"])
    assert (event["data"]["status"], event["data"]["count"]) == ("firing", 2)


@pytest.mark.parametrize(("severity", "priority"),
                         [("critical", 1), ("error", 2), ("warning", 3), ("info", 5)])
def test_severity_maps_to_impact_and_urgency(server, http, service_key, severity, priority):
    service, key = service_key
    accepted(send(http, pd_event(PD_TRIGGER_EXAMPLE, key, payload__severity=severity)))
    assert incidents_of(server, service)[0]["priority"] == priority


def test_an_integration_can_override_the_severity_mapping(server, http):
    service = server.add_service()
    key = create_integration(server, "events", service=service, category="performance",
                             severity_map={"info": {"impact": 1, "urgency": 2}})["key"]
    accepted(send(http, pd_event(PD_TRIGGER_EXAMPLE, key)))
    [incident] = incidents_of(server, service)
    assert (incident["impact"], incident["urgency"], incident["priority"]) == (1, 2, 2)
    assert incident["category"] == "performance"


def test_untrusted_text_is_stored_safely(server, http, service_key):
    service, key = service_key
    summary = "disk\x00full [bold]x[/] \x1b]52;c;aGk=\x07 " + "é" * 2000
    accepted(send(http, pd_event(PD_TRIGGER_EXAMPLE, key, payload__summary=summary[:1024])))
    [incident] = incidents_of(server, service)
    assert "\x00" not in incident["title"] and len(incident["title"]) <= 300
    assert incident["title"].startswith("disk\ufffdfull [bold]x[/]")


# -- refusals: 400 naming the problem, nothing written ------------------------------------

BAD_EVENTS: list[tuple[str, dict[str, Any], str]] = [
    ("no event_action", {"event_action": ...}, "'event_action' is missing"),
    ("unknown event_action", {"event_action": "escalate"}, "'event_action' is invalid"),
    ("no payload on trigger", {"payload": ...}, "'payload' is required for trigger"),
    ("no summary", {"payload__summary": ...}, "'payload.summary' is missing"),
    ("blank summary", {"payload__summary": "   "}, "'payload.summary' must not be blank"),
    ("summary over 1024", {"payload__summary": "x" * 1025}, "'payload.summary' is invalid"),
    ("no source", {"payload__source": ...}, "'payload.source' is missing"),
    ("bad severity", {"payload__severity": "disaster"}, "'payload.severity' is invalid"),
    ("capital severity", {"payload__severity": "CRITICAL"}, "'payload.severity' is invalid"),
    ("bad timestamp", {"payload__timestamp": "yesterday"}, "'payload.timestamp' is invalid"),
    ("dedup_key over 255", {"dedup_key": "k" * 256}, "'dedup_key' is invalid"),
    ("dedup_key not a string", {"dedup_key": 42}, "'dedup_key' is invalid"),
    ("links not a list", {"links": "https://example.com"}, "'links' is invalid"),
    ("link without href", {"links": [{"text": "x"}]}, "'links.0.href' is missing"),
    ("image without src", {"images": [{"alt": "x"}]}, "'images.0.src' is missing"),
]


@pytest.mark.parametrize(("case", "changes", "error"), BAD_EVENTS, ids=[c[0] for c in BAD_EVENTS])
def test_bad_events_are_refused_naming_the_problem(server, http, service_key, case, changes,
                                                   error):
    service, key = service_key
    cursor = feed_end(server)
    response = send(http, pd_event(PD_TRIGGER_EXAMPLE, key, **changes))
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["status"] == "invalid event" and body["message"] == "Event object is invalid"
    assert any(e.startswith(error) for e in body["errors"]), body
    assert incidents_of(server, service) == []
    assert feed_end(server) == cursor  # nothing written


@pytest.mark.parametrize("action", ["acknowledge", "resolve"])
def test_acknowledge_and_resolve_need_a_dedup_key(http, events_key, action):
    response = send(http, {"routing_key": events_key, "event_action": action})
    assert response.status_code == 400
    assert response.json()["errors"] == [f"'dedup_key' is required for {action} events"]


@pytest.mark.parametrize("body", [b"", b"{", b"[]", b"null", b"\"text\"", b"{\"a\": NaN}",
                                  b"\xff\xfe"])
def test_bodies_that_are_not_an_event_object(http, body):
    response = http.post(EVENTS, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.json()["status"] == "invalid event" and response.json()["errors"]


def test_an_unknown_or_revoked_routing_key_is_refused(server, http):
    service = server.add_service()
    integration = create_integration(server, "events", service=service)
    unknown = send(http, pd_event(PD_TRIGGER_EXAMPLE, uuid.uuid4().hex))
    assert unknown.status_code == 400
    assert "not a known integration key" in unknown.json()["errors"][0]
    revoke = client(server, "admin").post(f"{API}/integrations/{integration['id']}/revoke")
    assert revoke.status_code == 200
    revoked = send(http, pd_event(PD_TRIGGER_EXAMPLE, integration["key"]))
    assert revoked.status_code == 400 and revoked.json() == unknown.json()
    assert incidents_of(server, service) == []


def test_an_alertmanager_key_is_not_an_events_routing_key(server, http):
    service = server.add_service()
    key = create_integration(server, "alertmanager", service=service)["key"]
    response = send(http, pd_event(PD_TRIGGER_EXAMPLE, key))
    assert response.status_code == 400
    assert "Alertmanager integration" in response.json()["errors"][0]
    assert incidents_of(server, service) == []


def test_a_body_over_512_kib_is_refused_with_413(server, http, service_key):
    service, key = service_key
    event = pd_event(PD_TRIGGER_EXAMPLE, key, payload__custom_details={"blob": "x" * 530_000})
    response = send(http, event)
    assert response.status_code == 413
    assert response.json()["status"] == "invalid event"
    assert incidents_of(server, service) == []
    # Without Content-Length (chunked), too.
    chunks = iter([b'{"routing_key": "', key.encode(), b'", "x": "', b"y" * 600_000, b'"}'])
    response = http.post(EVENTS, content=chunks, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    # Just under the limit is fine.
    event = pd_event(PD_TRIGGER_EXAMPLE, key, payload__custom_details={"blob": "x" * 500_000})
    accepted(send(http, event))


def test_alert_events_are_counted_on_metrics(server, http, service_key):
    _, key = service_key
    accepted(send(http, pd_event(PD_TRIGGER_EXAMPLE, key)))
    accepted(send(http, pd_event(PD_TRIGGER_EXAMPLE, key)))
    assert send(http, pd_event(PD_TRIGGER_EXAMPLE, uuid.uuid4().hex)).status_code == 400
    text = http.get("/metrics").text
    for outcome in ("created", "repeats", "unauthorized"):
        assert f'incidenttui_alert_events_total{{outcome="{outcome}",source="events"}}' in text
