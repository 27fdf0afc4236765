"""The escalation policy as the app shows it offline (store/escalation.py): policy, schedule
and service arrive in the change feed; the incident's position is read back from its
timeline; who is on call at each level and the countdown come from the domain. Also the
layout upgrade that adds a service's policy to an older store."""

from __future__ import annotations

import datetime as dt
import sqlite3
import uuid

from hostile import change_page, incident_snapshot, iso

from incidenttui.present import policy_lines
from incidenttui.store import AddNote, Store
from incidenttui.store.layout import SCHEMA_VERSION
from incidenttui.store.reader import QueueReader

URL = "http://127.0.0.1:9"
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)

POLICY = {"id": "checkout", "name": "Checkout", "repeat": 0,
          "levels": [{"timeout": 300, "targets": ["schedule:primary"]},
                     {"timeout": 600, "targets": ["user:ray", "team:platform"]}]}
SCHEDULE = {"id": "primary", "name": "Primary", "time_zone": "UTC",
            "layers": [{"name": "daily", "users": ["rita"], "every": 1,
                        "start": "2026-01-01", "handoff": "00:00"}]}
SERVICE = {"id": "checkout", "name": "Checkout", "team_id": "service-desk", "tier": 1,
           "description": "", "policy_id": "checkout"}


def event(incident: dict, at: dt.datetime, kind: str, actor: str, data: dict) -> dict:
    return {"id": str(uuid.uuid4()), "incident_id": incident["id"], "at": iso(at),
            "kind": kind, "actor": actor, "text": "", "data": data}


def store_with(tmp_path, monkeypatch, *entities) -> Store:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("INCIDENTTUI_DATA_DIR", str(tmp_path))
    store = Store.for_server(URL)
    store.apply_changes(change_page(list(entities))["changes"], len(entities))
    return store


def test_a_new_incident_shows_level_one_with_who_is_on_call_and_the_countdown(
        tmp_path, monkeypatch):
    incident = incident_snapshot(created_at=iso(NOW - dt.timedelta(seconds=60)))
    store = store_with(tmp_path, monkeypatch, ("service", SERVICE), ("policy", POLICY),
                       ("schedule", SCHEDULE), ("incident", incident))
    view = store.escalation_view(store.get(incident["id"]), NOW)
    assert view is not None and view.left == dt.timedelta(seconds=240)
    assert policy_lines(view) == [
        "Escalation policy Checkout: at policy level 1 of 2",
        " ▶ 1. 5m  schedule primary: rita on call",
        "   2. 10m  user ray, team platform",
        "escalates to policy level 2 in 4m",
    ]
    store.close()


def test_the_position_comes_from_the_policys_events_and_ack_stops_the_countdown(
        tmp_path, monkeypatch):
    incident = incident_snapshot(created_at=iso(NOW - dt.timedelta(seconds=400)),
                                 status="acknowledged")
    moved = event(incident, NOW - dt.timedelta(seconds=100), "escalation",
                  "escalation-policy", {"step": "escalate", "level": 1, "to_level": 2,
                                        "loop": 0})
    store = store_with(tmp_path, monkeypatch, ("service", SERVICE), ("policy", POLICY),
                       ("incident", incident), ("event", moved))
    view = store.escalation_view(store.get(incident["id"]), NOW)
    assert view is not None and view.clock.position.level == 2
    assert view.next_move is None
    assert policy_lines(view)[-1].startswith("no automatic escalation coming")
    # the policy removed: no view, no error
    store.apply_changes(change_page([("policy", {"id": "checkout", "removed": True})], 9)
                        ["changes"], 10)
    assert store.escalation_view(store.get(incident["id"]), NOW) is None
    store.close()


def test_an_older_store_gets_the_services_policy_column(tmp_path, monkeypatch):
    monkeypatch.setenv("INCIDENTTUI_DATA_DIR", str(tmp_path))
    store = Store.for_server(URL)
    path = store.path
    store.close()
    with sqlite3.connect(path) as conn:  # as layout 2 left it: no policy_id
        conn.execute("ALTER TABLE services DROP COLUMN policy_id")
        conn.execute("PRAGMA user_version=2")
    store = Store.for_server(URL)
    store.apply_changes(change_page([("service", SERVICE)])["changes"], 1)
    assert [s.policy_id for s in store.services()] == ["checkout"]
    store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_store_synced_before_layout_3_reads_the_feed_again_to_learn_policies(
        tmp_path, monkeypatch):
    incident = incident_snapshot(created_at=iso(NOW - dt.timedelta(seconds=60)))
    old_service = {k: v for k, v in SERVICE.items() if k != "policy_id"}
    # what a layout-2 client kept of the feed: the service without its policy, no policy
    store = store_with(tmp_path, monkeypatch, ("service", old_service), ("incident", incident))
    path = store.path
    store.close()
    with sqlite3.connect(path) as conn:
        conn.execute("ALTER TABLE services DROP COLUMN policy_id")
        conn.execute("PRAGMA user_version=2")
    store = Store.for_server(URL)
    assert store.cursor == "0" and store.get(incident["id"]) is not None  # data kept
    store.execute(AddNote(incident["id"], text="queued while offline"))
    # the whole feed again, with a forget from a time the user had lost access to the
    # incident (they have it again: a change is queued for it); the change stays queued
    feed = [("service", SERVICE), ("policy", POLICY),
            ("forget", {"id": incident["id"], "incident_id": incident["id"]}),
            ("incident", incident)]
    store.apply_changes(change_page(feed)["changes"], "c1.opaque", caught_up=True)
    assert [e.incident_id for e in store.outbox()] == [incident["id"]]
    assert store.escalation_view(store.get(incident["id"]), NOW) is not None
    # the page that caught up with the feed ends the re-read (cursors are opaque tokens)
    assert store.get_meta("reread_until") is None
    store.close()


def test_the_queue_reads_when_each_row_on_screen_escalates_by_itself(tmp_path, monkeypatch):
    waiting = incident_snapshot(created_at=iso(NOW - dt.timedelta(seconds=60)))
    moved = incident_snapshot(number=1002, created_at=iso(NOW - dt.timedelta(seconds=400)))
    elsewhere = incident_snapshot(number=1004, service="search")
    store = store_with(
        tmp_path, monkeypatch, ("service", SERVICE), ("policy", POLICY),
        ("incident", waiting), ("incident", moved), ("incident", elsewhere),
        ("event", event(moved, NOW - dt.timedelta(seconds=100), "escalation",
                        "escalation-policy", {"step": "escalate", "level": 1, "to_level": 2,
                                              "loop": 0})))
    reader = QueueReader(store.path)
    rows = reader.rows([i["id"] for i in (waiting, moved, elsewhere)])
    # level 1's 5 minutes from opening; at the last level: nothing more; a service without
    # a policy: nothing
    assert rows[waiting["id"]].escalates_at == NOW + dt.timedelta(seconds=240)
    assert [rows[i["id"]].escalates_at for i in (moved, elsewhere)] == [None, None]
    reader.close()
    store.close()
