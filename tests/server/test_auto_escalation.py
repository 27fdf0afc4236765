"""Automatic escalation (server/escalation.py) on a real database: an unacknowledged incident
moves level by level, once per level, to whoever is on call; acknowledging stops the clock
until the acknowledgement is forgotten; a P1 informs management at once; and two server
processes racing on one database escalate each incident exactly once per level (SQLite and
PostgreSQL)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta

import httpx
import pytest
from escalationkit import (
    create,
    created_at,
    escalations,
    give_checkout_a_policy,
    give_service_policy,
    write,
)
from pgcluster import free_port
from servers import DATABASES, seed, stop_process, wait_healthy

from incidenttui.api.schemas import ActionBody, NoteBody
from incidenttui.domain import Action
from incidenttui.domain import escalation_policy as policies
from incidenttui.server import service
from incidenttui.server.db import Database
from incidenttui.server.escalation import ACTOR, run_due


def test_an_unacknowledged_incident_moves_level_by_level_once_each(escalation_db):
    db = escalation_db
    incident = create(db)
    t0 = created_at(db, incident)
    assert run_due(db, t0 + timedelta(seconds=59)) == 0
    assert run_due(db, t0 + timedelta(seconds=61)) == 1
    assert run_due(db, t0 + timedelta(seconds=62)) == 0  # done once, not again
    [first] = escalations(db, incident)
    assert first["actor"] == ACTOR and first["data"]["to_level"] == 2
    assert first["text"] == ("Not acknowledged within 1m at level 1: escalated to level 2 "
                             "(user ray, team platform).")
    with db.read() as session:
        assert service.find_incident(session, incident).assignee == "ray"
    # level 2 runs 120 s from the move; then the policy ends (repeat 0)
    assert run_due(db, t0 + timedelta(seconds=61 + 119)) == 0
    assert run_due(db, t0 + timedelta(seconds=61 + 121)) == 0  # the last level: no more
    assert len(escalations(db, incident)) == 1
    # a server that was down for an hour still moves one level per look
    other = create(db)
    assert run_due(db, created_at(db, other) + timedelta(hours=1)) == 1


def test_acknowledging_stops_the_clock_until_the_acknowledgement_is_forgotten(escalation_db):
    db = escalation_db
    incident = create(db)
    t0 = created_at(db, incident)
    write(db, lambda w, s: w.act(service.find_incident(s, incident, for_update=True),
                                 Action.ACKNOWLEDGE, ActionBody()))
    assert run_due(db, t0 + timedelta(seconds=300)) == 0  # well past level 1's minute
    write(db, lambda w, s: w.note(service.find_incident(s, incident, for_update=True),
                                  NoteBody(text="looking at the load balancer")))
    with db.read() as session:
        noted = max(e.at for e in service.timeline(session, incident))
    assert run_due(db, noted + timedelta(seconds=599)) == 0
    assert run_due(db, noted + timedelta(seconds=601)) == 1
    [forgotten] = escalations(db, incident)
    assert forgotten["data"]["step"] == "reescalate"
    assert forgotten["text"].startswith("Acknowledged but untouched for 10m")


def test_a_p1_informs_management_at_once_and_once(escalation_db):
    db = escalation_db
    incident = create(db, impact=1, urgency=1)
    t0 = created_at(db, incident)
    assert run_due(db, t0) == 1
    assert run_due(db, t0 + timedelta(seconds=1)) == 0
    [notice] = escalations(db, incident)
    assert notice["data"]["step"] == "notify"
    assert notice["text"] == ("Management informed: P1 incidents are reported at once "
                              "(policy Checkout).")
    with db.read() as session:
        assert service.find_incident(session, incident).management_engaged


def test_incidents_of_a_service_without_a_policy_and_closed_ones_stay_put(escalation_db):
    db = escalation_db
    quiet = create(db, svc="search")
    closed = create(db)
    write(db, lambda w, s: w.act(service.find_incident(s, closed, for_update=True),
                                 Action.CANCEL, ActionBody(note="duplicate")))
    later = created_at(db, closed) + timedelta(hours=2)
    assert run_due(db, later) == 0
    assert escalations(db, quiet) == escalations(db, closed) == []


def _timeline_clock(db: Database, incident: str) -> policies.Clock:
    """The clock as the app reads it back from the timeline (domain clock_from_timeline)."""
    with db.read() as session:
        found = service.find_incident(session, incident)
        events = [(e.at, e.kind, e.actor, e.data) for e in service.timeline(session, incident)]
    return policies.clock_from_timeline(found.status, found.priority, found.created_at, events)


def test_reopening_restarts_the_clock_from_level_one(escalation_db):
    db = escalation_db
    incident = create(db)
    assert run_due(db, created_at(db, incident) + timedelta(seconds=61)) == 1  # to level 2

    def act(action: Action, **body: str) -> None:
        write(db, lambda w, s: w.act(service.find_incident(s, incident, for_update=True),
                                     action, ActionBody(**body)))

    act(Action.ACKNOWLEDGE)
    act(Action.RESOLVE, resolution_code="fixed", resolution_note="restarted the pods")
    act(Action.REOPEN)
    with db.read() as session:
        reopened = max(e.at for e in service.timeline(session, incident))
    position = _timeline_clock(db, incident).position
    assert (position.level, position.loop, position.since) == (1, 0, reopened)
    # in progress again: untouched for 600 s from the reopening, it moves on from level 1
    assert run_due(db, reopened + timedelta(seconds=599)) == 0
    assert run_due(db, reopened + timedelta(seconds=601)) == 1
    last = escalations(db, incident)[-1]["data"]
    assert (last["step"], last["level"], last["to_level"]) == ("reescalate", 1, 2)


def test_a_service_that_gets_a_policy_starts_its_open_incidents_clocks(escalation_db):
    db = escalation_db
    waiting, done = create(db, svc="search"), create(db, svc="search")
    write(db, lambda w, s: w.act(service.find_incident(s, done, for_update=True),
                                 Action.CANCEL, ActionBody()))
    report = give_service_policy(db, "search", "checkout")
    assert "its 1 open incident(s) start policy checkout at level 1 now" in report
    [started] = escalations(db, waiting)
    assert started["actor"] == ACTOR and started["data"]["step"] == "start"
    assert started["text"] == ("Escalation policy Checkout applies from now: level 1 "
                               "(schedule primary).")
    assert escalations(db, done) == []
    assert _timeline_clock(db, waiting).position.since == started["at"]
    # the clock runs from the policy's start, not from when the incident was opened
    assert run_due(db, started["at"] + timedelta(seconds=59)) == 0
    assert run_due(db, started["at"] + timedelta(seconds=61)) == 1
    # and a service that loses its policy stops its incidents' clocks
    assert "of its 1 open incident(s) stops" in give_service_policy(db, "search", None)
    assert run_due(db, started["at"] + timedelta(hours=1)) == 0


# -- two servers racing ------------------------------------------------------------------


def server_process(url: str, port: int) -> subprocess.Popen:
    env = {"INCIDENTTUI_ESCALATION_INTERVAL": "0.05"}
    return subprocess.Popen(
        [sys.executable, "-m", "incidenttui", "server", "--db", url, "--host", "127.0.0.1",
         "--port", str(port)], env={**os.environ, **env}, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("kind", DATABASES)
def test_two_servers_escalate_each_incident_once_per_level(kind, db_url):
    url = db_url(kind)
    tokens = seed(url)
    database = Database(url)
    try:
        give_checkout_a_policy(database, timeouts=(1, 1, 1), reescalate_after=None)
        ports = [free_port(), free_port()]
        procs = [server_process(url, port) for port in ports]
        try:
            for port in ports:
                wait_healthy(f"http://127.0.0.1:{port}", timeout=60)
            with httpx.Client(base_url=f"http://127.0.0.1:{ports[0]}", timeout=30, headers={
                    "Authorization": f"Bearer {tokens['responder']}"}) as http:
                ids = []
                for _ in range(12):
                    body = {"id": str(uuid.uuid4()), "title": "Checkout 502s",
                            "service": "checkout", "category": "availability", "impact": 2,
                            "urgency": 2}
                    assert http.post("/api/v1/incidents", json=body).status_code == 201
                    ids.append(body["id"])
            # three levels of 1 s: two moves each, then the end of the policy
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                counts = [len(escalations(database, i)) for i in ids]
                if all(c >= 2 for c in counts):
                    break
                time.sleep(0.2)
            time.sleep(1.5)  # time for a double escalation to show, if there were one
            for incident in ids:
                moves = [(e["data"]["level"], e["data"]["to_level"])
                         for e in escalations(database, incident)]
                assert moves == [(1, 2), (2, 3)], (incident, moves)
        finally:
            for proc in procs:
                stop_process(proc)
    finally:
        database.dispose()


@pytest.mark.parametrize("kind", DATABASES)
def test_escalating_to_a_level_by_hand_over_http(kind, make_server):
    live = make_server(kind)
    give_checkout_a_policy(live.database)
    with live.client("responder") as http:
        body = {"id": str(uuid.uuid4()), "title": "Checkout 502s", "service": "checkout",
                "category": "availability", "impact": 2, "urgency": 2}
        assert http.post("/api/v1/incidents", json=body).status_code == 201
        url = f"/api/v1/incidents/{body['id']}/policy-level"
        moved = http.post(url, json={"level": 2, "reason": "the DBAs know this one"})
        assert moved.status_code == 200, moved.text
        [event] = escalations(live.database, body["id"])
        assert event["actor"] == "rita" and event["data"]["to_level"] == 2
        assert event["text"] == ("Moved by hand from level 1 to level 2 of policy Checkout "
                                 "(user ray, team platform): the DBAs know this one")
        again = http.post(url, json={"level": 2, "reason": "again"})
        assert again.status_code == 422 and again.json()["field"] == "level"
        assert http.post(url, json={"level": 7, "reason": "x"}).json()["field"] == "level"
        assert http.post(url, json={"level": 0, "reason": "x"}).status_code == 422
        assert http.post(url, json={"level": 1}).status_code == 422  # a reason is required
        quiet = {**body, "id": str(uuid.uuid4()), "service": "search"}
        assert http.post("/api/v1/incidents", json=quiet).status_code == 201
        none = http.post(f"/api/v1/incidents/{quiet['id']}/policy-level",
                         json={"level": 2, "reason": "x"})
        assert none.status_code == 422 and "no escalation policy" in none.json()["detail"]
    with live.client("viewer") as http:
        assert http.post(url, json={"level": 1, "reason": "x"}).status_code == 403
