"""/healthz, Prometheus /metrics and /openapi.json on a live server."""

from __future__ import annotations

import pytest
from apihelpers import API, create, move
from prometheus_client.parser import text_string_to_metric_families


@pytest.fixture
def anon(server):
    with server.client(None) as client:
        yield client


def test_healthz(server, anon):
    r = anon.get("/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["database"] == {"sqlite": "sqlite", "postgres": "postgresql"}[server.kind]
    assert body["version"]


def metric_samples(text: str) -> dict[str, list]:
    return {family.name: family.samples for family in text_string_to_metric_families(text)}


def test_metrics_is_prometheus_text_with_request_counts_and_open_incidents(server, anon):
    with server.client() as api:
        p1 = create(api, impact=1, urgency=1)
        create(api, impact=1, urgency=1)
        move(api, p1["id"], "cancel")
        api.get(f"{API}/incidents/{p1['id']}")
    r = anon.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    families = metric_samples(r.text)
    requests = families["incidenttui_http_requests"]
    by_route = {(s.labels["method"], s.labels["route"], s.labels["status"]): s.value
                for s in requests if s.name.endswith("_total")}
    assert by_route[("POST", f"{API}/incidents", "201")] >= 2
    # Routes are labelled by their template, never the raw path (bounded label values).
    assert by_route[("GET", f"{API}/incidents/{{key}}", "200")] >= 1
    assert not any(p1["id"] in route for _m, route, _s in by_route)
    assert "incidenttui_http_request_seconds" in families
    open_by_priority = {s.labels["priority"]: s.value
                        for s in families["incidenttui_open_incidents"]}
    assert set(open_by_priority) == {"P1", "P2", "P3", "P4", "P5"}
    assert open_by_priority["P1"] >= 1
    assert families["incidenttui_change_feed_public_changes"][0].value > 0


def test_metrics_count_unmatched_routes_under_one_label(anon):
    for i in range(3):
        anon.get(f"/no/such/path/{i}")
    families = metric_samples(anon.get("/metrics").text)
    routes = {s.labels["route"] for s in families["incidenttui_http_requests"]}
    assert not any(r.startswith("/no/such") for r in routes)


def test_openapi_describes_the_api(anon):
    r = anon.get("/openapi.json")
    assert r.status_code == 200
    spec = r.json()
    assert spec["openapi"].startswith("3.")
    paths = spec["paths"]
    for path, method in [(f"{API}/incidents", "post"), (f"{API}/incidents", "get"),
                         (f"{API}/incidents/{{key}}", "get"),
                         (f"{API}/incidents/{{key}}", "patch"),
                         (f"{API}/incidents/{{key}}/escalate", "post"),
                         (f"{API}/incidents/{{key}}/notes", "post"),
                         (f"{API}/incidents/{{key}}/links", "post"),
                         (f"{API}/incidents/{{key}}/resolve", "post"),
                         (f"{API}/changes", "get"), ("/healthz", "get"), ("/metrics", "get")]:
        assert method in paths.get(path, {}), (method, path)
    schemes = spec["components"]["securitySchemes"]
    assert any(s.get("scheme", "").lower() == "bearer" for s in schemes.values())
    create_op = paths[f"{API}/incidents"]["post"]
    assert {"201", "401", "403", "409", "422"} <= set(create_op["responses"])
    params = {p["name"] for p in create_op.get("parameters", [])}
    assert "Idempotency-Key" in params
