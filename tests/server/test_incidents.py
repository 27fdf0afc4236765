"""Incidents over HTTP on a real server: create, read, list, PATCH with conflicts, lifecycle
moves and refusals, escalation, notes, links and the timeline. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import uuid
from collections import Counter

import pytest
from apihelpers import API, RESOLVE, act, assert_error, create, get, incident_body, move

from incidenttui.domain import Refused, check_action, priority_for


@pytest.fixture
def api(server):
    with server.client("responder") as client:
        yield client


def timeline_kinds(incident: dict) -> list[str]:
    return [e["kind"] for e in incident["timeline"]]


# -- create and read ----------------------------------------------------------------------


def test_create_returns_the_incident_with_a_server_number(server, api):
    body = incident_body(impact=1, urgency=2, service="payments")
    response = api.post(f"{API}/incidents", json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["id"] == body["id"]
    assert created["number"] > 1000
    assert created["ref"] == f"INC-{created['number']}"
    assert created["status"] == "new"
    assert created["priority"] == int(priority_for(1, 2)) == 2
    assert created["version"] == 1
    assert created["team"] == "payments-experts"  # the service's owning team
    assert created["reporter"] == server.users["responder"]
    assert created["title"] == body["title"] and created["description"] == body["description"]
    assert created["links"] == [] and created["escalation_level"] == 1
    assert created["created_at"].endswith("Z") or "+00:00" in created["created_at"]


def test_numbers_are_unique_and_consecutive_even_when_created_concurrently(server):
    results: list[int] = []
    errors: list[str] = []

    def worker() -> None:
        with server.client() as client:
            for _ in range(4):
                r = client.post(f"{API}/incidents", json=incident_body())
                if r.status_code == 201:
                    results.append(r.json()["number"])
                else:
                    errors.append(f"{r.status_code} {r.text}")

    threads = [threading.Thread(target=worker) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert len(results) == 20 and len(set(results)) == 20
    assert sorted(results) == list(range(min(results), min(results) + 20))


def test_a_fresh_server_numbers_from_inc_1001(make_server, server):
    fresh = make_server(server.kind)
    with fresh.client() as client:
        assert create(client)["ref"] == "INC-1001"
        assert create(client)["ref"] == "INC-1002"


def test_create_with_an_existing_id_is_refused_and_changes_nothing(api):
    first = create(api)
    again = api.post(f"{API}/incidents", json=incident_body(id=first["id"], title="Other"))
    assert_error(again, 422, "id")
    assert get(api, first["id"])["title"] == first["title"]


def test_create_checks_references(api):
    assert_error(api.post(f"{API}/incidents", json=incident_body(service="no-such-service")),
                 422, "service")
    assert_error(api.post(f"{API}/incidents", json=incident_body(team="no-such-team")),
                 422, "team")
    assert_error(api.post(f"{API}/incidents", json=incident_body(assignee="nobody")),
                 422, "assignee")


def test_create_keeps_explicit_team_assignee_and_times(server, api):
    created = create(api, team="network", assignee=server.users["commander"], major=True,
                     detected_at="2026-01-02T03:04:05Z", started_at="2026-01-02T03:00:00+00:00")
    assert created["team"] == "network"
    assert created["assignee"] == server.users["commander"]
    assert created["major"] is True
    assert created["detected_at"].startswith("2026-01-02T03:04:05")
    assert created["started_at"].startswith("2026-01-02T03:00:00")


def test_get_by_uuid_by_number_and_by_ref(api):
    created = create(api)
    for key in (created["id"], created["id"].upper(), created["ref"], created["ref"].lower(),
                str(created["number"])):
        detail = get(api, key)
        assert detail["id"] == created["id"], key
    detail = get(api, created["id"])
    assert timeline_kinds(detail) == ["created"]
    event = detail["timeline"][0]
    assert event["incident_id"] == created["id"] and event["text"] == created["title"]
    assert api.get(f"{API}/incidents/{created['id']}/timeline").json() == detail["timeline"]


def test_get_unknown_incident_is_404(api):
    for key in (str(uuid.uuid4()), "INC-999999999", "nonsense"):
        response = api.get(f"{API}/incidents/{key}")
        assert_error(response, 404)
        response = api.get(f"{API}/incidents/{key}/timeline")
        assert_error(response, 404)


# -- list -----------------------------------------------------------------------------------


def test_list_filters_and_paginates(server, api):
    svc = server.add_service(team="platform")
    made = [create(api, service=svc, impact=i, urgency=u) for i, u in
            ((1, 1), (2, 2), (3, 3), (1, 2), (2, 2))]
    move(api, made[0]["id"], "acknowledge")
    move(api, made[1]["id"], "start")
    api.patch(f"{API}/incidents/{made[2]['id']}",
              json={"base_version": 1, "assignee": server.users["commander"], "team": "network"})

    def ids(**params) -> list[str]:
        response = api.get(f"{API}/incidents", params={"service": svc, **params})
        assert response.status_code == 200, response.text
        page = response.json()
        return [i["id"] for i in page["items"]]

    # newest first
    assert ids() == [i["id"] for i in reversed(made)]
    assert ids(status="new") == [made[4]["id"], made[3]["id"], made[2]["id"]]
    assert set(ids(status=["acknowledged", "in_progress"])) == {made[0]["id"], made[1]["id"]}
    assert ids(priority=1) == [made[0]["id"]]
    assert set(ids(priority=[2, 3])) == {made[3]["id"], made[1]["id"], made[4]["id"]}
    assert ids(assignee=server.users["commander"]) == [made[2]["id"]]
    assert ids(team="network") == [made[2]["id"]]
    assert ids(team="platform", status="new") == [made[4]["id"], made[3]["id"]]
    assert ids(service="no-such-service") == []

    page = api.get(f"{API}/incidents", params={"service": svc, "limit": 2, "offset": 0}).json()
    assert page["total"] == 5 and page["limit"] == 2 and page["offset"] == 0
    seen = [i["id"] for i in page["items"]]
    for offset in (2, 4):
        page = api.get(f"{API}/incidents",
                       params={"service": svc, "limit": 2, "offset": offset}).json()
        assert page["total"] == 5
        seen += [i["id"] for i in page["items"]]
    assert seen == [i["id"] for i in reversed(made)]
    beyond = api.get(f"{API}/incidents", params={"service": svc, "offset": 50}).json()
    assert beyond["items"] == [] and beyond["total"] == 5


# -- PATCH: merges and conflicts --------------------------------------------------------------


def test_patch_changes_only_the_given_fields_and_bumps_versions(api):
    created = create(api)
    r = api.patch(f"{API}/incidents/{created['id']}",
                  json={"base_version": 1, "title": "Checkout down for all customers"})
    assert r.status_code == 200, r.text
    patched = r.json()
    assert patched["title"] == "Checkout down for all customers"
    assert patched["description"] == created["description"]
    assert patched["version"] == 2
    assert patched["field_versions"] == {"title": 2}
    assert timeline_kinds(get(api, created["id"]))[-1] == "field"


def test_patch_on_a_stale_version_merges_untouched_fields(api):
    created = create(api)
    key = created["id"]
    first = api.patch(f"{API}/incidents/{key}", json={"base_version": 1, "title": "New title"})
    assert first.status_code == 200
    # Made against version 1 too, but touching only the description: it merges.
    second = api.patch(f"{API}/incidents/{key}",
                       json={"base_version": 1, "description": "More detail"})
    assert second.status_code == 200, second.text
    merged = second.json()
    assert merged["title"] == "New title" and merged["description"] == "More detail"
    assert merged["version"] == 3
    assert merged["field_versions"] == {"title": 2, "description": 3}


def test_patch_conflict_is_409_listing_each_field_with_server_value_and_version(api):
    created = create(api)
    key = created["id"]
    r = api.patch(f"{API}/incidents/{key}",
                  json={"base_version": 1, "title": "Theirs", "urgency": 1})
    assert r.status_code == 200
    theirs = r.json()
    assert theirs["version"] == 2 and theirs["priority"] == int(priority_for(2, 1))
    stale = api.patch(f"{API}/incidents/{key}",
                      json={"base_version": 1, "title": "Mine", "urgency": 3,
                            "description": "untouched by them"})
    assert stale.status_code == 409, stale.text
    body = stale.json()
    assert "title" in body["detail"] and "urgency" in body["detail"]
    conflicts = {c["field"]: c for c in body["conflicts"]}
    assert set(conflicts) == {"title", "urgency"}
    assert conflicts["title"] == {"field": "title", "mine": "Mine", "theirs": "Theirs",
                                  "their_version": 2}
    assert conflicts["urgency"] == {"field": "urgency", "mine": 3, "theirs": 1,
                                    "their_version": 2}
    assert body["incident"]["version"] == 2 and body["incident"]["title"] == "Theirs"
    # Nothing of the refused change applied, not even the non-conflicting field.
    now = get(api, key)
    assert now["version"] == 2 and now["description"] == created["description"]
    # The same change made against the current version goes through.
    ok = api.patch(f"{API}/incidents/{key}", json={"base_version": 2, "title": "Mine"})
    assert ok.status_code == 200 and ok.json()["version"] == 3


@pytest.mark.parametrize("future", [3, 9_007_199_254_740_992])
def test_a_base_version_from_the_future_is_refused_and_overwrites_nothing(server, api, future):
    created = create(api)
    key = created["id"]
    mine = api.patch(f"{API}/incidents/{key}", json={"base_version": 1, "title": "First"})
    assert mine.status_code == 200 and mine.json()["version"] == 2
    with server.client("other") as other:
        stale = other.patch(f"{API}/incidents/{key}",
                            json={"base_version": 1, "title": "Second"})
        assert stale.status_code == 409
        # Claiming a version the incident has not reached would pass every conflict check.
        hostile = other.patch(f"{API}/incidents/{key}",
                              json={"base_version": future, "title": "Second"})
    assert_error(hostile, 422, "base_version")
    assert "newer than the incident's version 2" in hostile.json()["detail"]
    now = get(api, key)
    assert now["title"] == "First" and now["version"] == 2


def test_patch_asking_for_the_value_already_there_is_no_conflict(api):
    created = create(api)
    key = created["id"]
    api.patch(f"{API}/incidents/{key}", json={"base_version": 1, "title": "Same"})
    r = api.patch(f"{API}/incidents/{key}", json={"base_version": 1, "title": "Same"})
    assert r.status_code == 200, r.text
    assert r.json()["title"] == "Same"


def test_patch_impact_and_urgency_recompute_priority(api):
    created = create(api, impact=3, urgency=3)
    assert created["priority"] == 5
    r = api.patch(f"{API}/incidents/{created['id']}",
                  json={"base_version": 1, "impact": 1, "urgency": 1})
    assert r.status_code == 200, r.text
    assert r.json()["priority"] == 1
    detail = get(api, created["id"])
    event = detail["timeline"][-1]
    assert event["kind"] == "priority"
    assert event["data"]["fields"]["priority"] == {"from": 5, "to": 1}


def test_patch_assignment_and_refusals(server, api):
    created = create(api)
    key = created["id"]
    r = api.patch(f"{API}/incidents/{key}",
                  json={"base_version": 1, "team": "platform",
                        "assignee": server.users["commander"]})
    assert r.status_code == 200, r.text
    assert get(api, key)["timeline"][-1]["kind"] == "assignment"
    assert_error(api.patch(f"{API}/incidents/{key}", json={"base_version": 2, "team": "nope"}),
                 422, "team")
    assert_error(api.patch(f"{API}/incidents/{key}", json={"base_version": 2, "title": None}),
                 422, "title")
    assert_error(api.patch(f"{API}/incidents/{key}", json={"title": "no base version"}),
                 422, "base_version")
    assert_error(api.patch(f"{API}/incidents/{uuid.uuid4()}", json={"base_version": 1}), 404)
    assert get(api, key)["version"] == 2


def test_patch_of_a_closed_incident_is_refused(api):
    key = create(api)["id"]
    move(api, key, "acknowledge")
    move(api, key, "resolve", RESOLVE)
    closed = move(api, key, "close")
    r = api.patch(f"{API}/incidents/{key}",
                  json={"base_version": closed["version"], "title": "late edit"})
    assert_error(r, 409, "status", contains="closed")


# -- lifecycle --------------------------------------------------------------------------------


def test_the_whole_lifecycle_and_its_timeline(api):
    created = create(api)
    key = created["id"]
    version = created["version"]
    steps = [("acknowledge", None, "acknowledged"), ("start", None, "in_progress"),
             ("hold", None, "on_hold"), ("resume", None, "in_progress"),
             ("resolve", RESOLVE, "resolved"), ("reopen", None, "in_progress"),
             ("resolve", {**RESOLVE, "resolution_code": "workaround"}, "resolved"),
             ("close", None, "closed")]
    for action, body, status in steps:
        incident = move(api, key, action, body)
        assert incident["status"] == status, action
        assert incident["version"] == version + 1, action  # every write bumps the version
        version = incident["version"]
        if action == "acknowledge":
            assert incident["acknowledged_at"] is not None
        if action == "hold":
            assert incident["on_hold_since"] is not None
        if action == "resume":
            assert incident["on_hold_since"] is None and incident["hold_seconds"] >= 0
        if action == "resolve":
            assert incident["resolved_at"] and incident["resolution_note"] == RESOLVE[
                "resolution_note"]
        if action == "reopen":
            assert incident["resolved_at"] is None and incident["reopen_count"] == 1
            assert incident["resolution_code"] is None
    assert incident["closed_at"] is not None and incident["resolution_code"] == "workaround"
    detail = get(api, key)
    status_events = [e for e in detail["timeline"] if e["kind"] == "status"]
    assert [(e["data"]["action"], e["data"]["to"]) for e in status_events] == [
        (a, s) for a, _b, s in steps]
    assert status_events[0]["data"]["from"] == "new"
    resolve_event = status_events[4]
    assert resolve_event["text"] == RESOLVE["resolution_note"]
    assert resolve_event["data"]["resolution_code"] == "fixed"


def test_cancel_from_new_and_from_acknowledged(api):
    a = create(api)
    assert move(api, a["id"], "cancel")["status"] == "cancelled"
    b = create(api)
    move(api, b["id"], "acknowledge")
    cancelled = move(api, b["id"], "cancel")
    assert cancelled["status"] == "cancelled" and cancelled["closed_at"] is not None


def test_an_action_may_carry_a_note(api):
    key = create(api)["id"]
    move(api, key, "acknowledge", {"note": "Looking at the payment gateway logs."})
    kinds = Counter(timeline_kinds(get(api, key)))
    assert kinds == {"created": 1, "status": 1, "note": 1}


def domain_reason(status: str, action: str) -> str:
    with pytest.raises(Refused) as refused:
        check_action(status, action)
    return refused.value.reason


@pytest.mark.parametrize(("setup", "action"), [
    ([], "close"),
    ([], "resume"),
    ([], "hold"),
    ([], "reopen"),
    ([], "resolve"),
    (["acknowledge"], "acknowledge"),
    (["start"], "start"),
    (["start"], "cancel"),
    (["start", "hold"], "hold"),
    (["acknowledge", "resolve"], "cancel"),
    (["acknowledge", "resolve"], "resolve"),
    (["acknowledge", "resolve", "close"], "reopen"),
    (["cancel"], "acknowledge"),
])
def test_illegal_moves_are_409_with_the_domains_reason(api, setup, action):
    key = create(api)["id"]
    incident = None
    for step in setup:
        incident = move(api, key, step, RESOLVE if step == "resolve" else None)
    before = get(api, key)
    status = incident["status"] if incident else "new"
    r = act(api, key, action, RESOLVE if action == "resolve" else None)
    body = assert_error(r, 409, "status")
    assert body["detail"] == domain_reason(status, action)
    after = get(api, key)
    assert after["version"] == before["version"] and after["timeline"] == before["timeline"]


def test_resolve_needs_a_code_and_a_note(api):
    key = create(api)["id"]
    move(api, key, "acknowledge")
    assert_error(act(api, key, "resolve"), 422, "resolution_code")
    assert_error(act(api, key, "resolve", {"resolution_note": "done"}), 422, "resolution_code")
    assert_error(act(api, key, "resolve", {"resolution_code": "  ", "resolution_note": "x"}),
                 422, "resolution_code")
    assert_error(act(api, key, "resolve", {"resolution_code": "fixed"}), 422, "resolution_note")
    assert_error(act(api, key, "resolve", {"resolution_code": "fixed", "resolution_note": " "}),
                 422, "resolution_note")
    assert get(api, key)["status"] == "acknowledged"
    assert move(api, key, "resolve", RESOLVE)["status"] == "resolved"


def test_actions_on_an_unknown_incident_are_404(api):
    for action in ("acknowledge", "close"):
        assert_error(act(api, str(uuid.uuid4()), action), 404)
    assert_error(api.post(f"{API}/incidents/INC-99999999/notes", json={"text": "x"}), 404)


# -- escalation -------------------------------------------------------------------------------


def test_functional_escalation_hands_to_a_more_expert_team(server, api):
    created = create(api, assignee=server.users["responder"])
    assert created["team"] == "service-desk" and created["escalation_level"] == 1
    r = api.post(f"{API}/incidents/{created['id']}/escalate",
                 json={"kind": "functional", "to_team": "platform",
                       "reason": "Needs the platform on-call: pods are crash-looping."})
    assert r.status_code == 200, r.text
    escalated = r.json()
    assert escalated["team"] == "platform" and escalated["escalation_level"] == 2
    assert escalated["assignee"] is None and escalated["version"] == 2
    event = get(api, created["id"])["timeline"][-1]
    assert event["kind"] == "escalation"
    assert event["text"].startswith("Needs the platform")
    assert event["data"]["kind"] == "functional"
    assert (event["data"]["from_team"], event["data"]["to_team"]) == ("service-desk", "platform")
    assert (event["data"]["from_level"], event["data"]["to_level"]) == (1, 2)
    # On to a level-3 team, with a named person.
    r = api.post(f"{API}/incidents/{created['id']}/escalate",
                 json={"to_team": "security", "to_user": server.users["commander"],
                       "reason": "Looks like credential stuffing."})
    assert r.status_code == 200, r.text
    assert r.json()["escalation_level"] == 3 and r.json()["assignee"] == server.users[
        "commander"]


def test_hierarchical_escalation_engages_management_and_keeps_the_team(api):
    created = create(api)
    r = api.post(f"{API}/incidents/{created['id']}/escalate",
                 json={"kind": "hierarchical", "reason": "Revenue impact above 10k EUR/h."})
    assert r.status_code == 200, r.text
    escalated = r.json()
    assert escalated["management_engaged"] is True
    assert escalated["team"] == created["team"]
    assert escalated["escalation_level"] == created["escalation_level"]
    assert get(api, created["id"])["timeline"][-1]["data"]["kind"] == "hierarchical"


def test_escalation_refusals(api):
    key = create(api)["id"]
    url = f"{API}/incidents/{key}/escalate"
    assert_error(api.post(url, json={"kind": "functional", "to_team": "platform"}),
                 422, "reason")
    assert_error(api.post(url, json={"kind": "hierarchical", "reason": "   "}), 422, "reason")
    assert_error(api.post(url, json={"kind": "functional", "reason": "help"}), 422, "to_team")
    assert_error(api.post(url, json={"to_team": "service-desk", "reason": "help"}),
                 422, "to_team")
    assert_error(api.post(url, json={"to_team": "no-such-team", "reason": "help"}),
                 422, "to_team")
    assert_error(api.post(url, json={"to_team": "platform", "to_user": "nobody",
                                     "reason": "help"}), 422, "assignee")
    assert_error(api.post(url, json={"kind": "sideways", "reason": "help"}), 422, "kind")
    assert get(api, key)["version"] == 1
    move(api, key, "acknowledge")
    move(api, key, "resolve", RESOLVE)
    assert_error(api.post(url, json={"to_team": "platform", "reason": "help"}), 409, "status")


# -- notes and links --------------------------------------------------------------------------


def test_notes_append_to_the_timeline_and_bump_the_version(server, api):
    key = create(api)["id"]
    r = api.post(f"{API}/incidents/{key}/notes", json={"text": "Customer reports from NL."})
    assert r.status_code == 201, r.text
    event = r.json()
    assert event["kind"] == "note" and event["text"] == "Customer reports from NL."
    assert event["actor"] == server.users["responder"] and event["incident_id"] == key
    detail = get(api, key)
    assert detail["version"] == 2
    assert detail["timeline"][-1] == event


def test_a_note_with_a_client_id_is_appended_once(api):
    key = create(api)["id"]
    note = {"id": str(uuid.uuid4()), "text": "Failover started."}
    first = api.post(f"{API}/incidents/{key}/notes", json=note)
    second = api.post(f"{API}/incidents/{key}/notes", json=note)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json() and first.json()["id"] == note["id"]
    assert timeline_kinds(get(api, key)).count("note") == 1
    other = api.post(f"{API}/incidents/{key}/notes", json={**note, "text": "Different"})
    assert_error(other, 422, "id")


def test_notes_never_conflict_even_on_finished_incidents(api):
    key = create(api)["id"]
    move(api, key, "cancel")
    r = api.post(f"{API}/incidents/{key}/notes", json={"text": "Duplicate of the DDoS one."})
    assert r.status_code == 201, r.text


def test_links(api):
    a, b, c = create(api), create(api), create(api)
    r = api.post(f"{API}/incidents/{a['id']}/links", json={"kind": "duplicate_of",
                                                            "target": b["ref"]})
    assert r.status_code == 200, r.text
    linked = r.json()
    assert linked["links"] == [{"kind": "duplicate_of", "target": b["id"]}]
    assert linked["version"] == 2
    r = api.post(f"{API}/incidents/{a['ref']}/links", json={"kind": "caused_by",
                                                             "target": c["id"]})
    assert r.status_code == 200 and len(r.json()["links"]) == 2
    event = get(api, a["id"])["timeline"][-1]
    assert event["kind"] == "link"
    assert event["data"] == {"kind": "caused_by", "target": c["id"], "target_ref": c["ref"]}
    # The same link again changes nothing.
    again = api.post(f"{API}/incidents/{a['id']}/links", json={"kind": "caused_by",
                                                                "target": c["id"]})
    assert again.status_code == 200 and again.json()["version"] == 3
    assert_error(api.post(f"{API}/incidents/{a['id']}/links",
                          json={"kind": "related", "target": a["id"]}), 422, "target")
    assert_error(api.post(f"{API}/incidents/{a['id']}/links",
                          json={"kind": "related", "target": str(uuid.uuid4())}), 422, "target")
    assert_error(api.post(f"{API}/incidents/{a['id']}/links",
                          json={"kind": "blocks", "target": b["id"]}), 422, "kind")


def test_each_action_appends_its_events(server, api):
    other = create(api)
    key = create(api)["id"]
    api.patch(f"{API}/incidents/{key}", json={"base_version": 1, "title": "Renamed"})
    move(api, key, "acknowledge")
    api.post(f"{API}/incidents/{key}/notes", json={"text": "n1"})
    api.post(f"{API}/incidents/{key}/escalate", json={"to_team": "platform", "reason": "r"})
    api.post(f"{API}/incidents/{key}/links", json={"kind": "related", "target": other["id"]})
    api.patch(f"{API}/incidents/{key}",
              json={"base_version": 5, "assignee": server.users["commander"]})
    detail = get(api, key)
    assert timeline_kinds(detail) == ["created", "field", "status", "note", "escalation",
                                      "link", "assignment"]
    assert detail["version"] == 7
    assert all(e["actor"] == server.users["responder"] for e in detail["timeline"])
    times = [e["at"] for e in detail["timeline"]]
    assert times == sorted(times)
