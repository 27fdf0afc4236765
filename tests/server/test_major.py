"""The major-incident routes on a real server (SQLite and PostgreSQL): declaring
(commanders only), entries that keep the time they were written (never later than now),
idempotent by id, refused in words when bad; a published stakeholder update goes out through
the notification webhook."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from apihelpers import create, get
from servers import DATABASES, threaded_server
from sqlmodel import select

from incidenttui.api import paths
from incidenttui.domain.major import iso

UPDATE = {"state": "Degraded", "impact": "1 in 3 card payments fail",
          "next_steps": "Failing over", "next_update_due": "2026-05-04T10:30:00Z",
          "public": True, "public_text": "Some card payments fail."}


@pytest.fixture(scope="module", params=DATABASES)
def major_server(request: pytest.FixtureRequest, db_url):
    """A server per database with a webhook configured (nothing listens: deliveries just
    fail and wait)."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("INCIDENTTUI_WEBHOOK_URL", "http://127.0.0.1:9/hook")
        with threaded_server(request.param, db_url(request.param)) as live:
            yield live


@pytest.fixture
def major(major_server):
    """A fresh major incident on the server."""
    with major_server.client("commander") as http:
        made = create(http, title="Checkout down", service="checkout", impact=1, urgency=1)
        answer = http.post(paths.incident(made["id"], paths.DECLARE_MAJOR))
        assert answer.status_code == 200, answer.text
        assert answer.json()["major"] is True
    return major_server, made["id"]


def post_entry(http, key: str, kind: str, data: dict, at: str | None = None,
               entry_id: str | None = None):
    body = {"id": entry_id or str(uuid.uuid4()), "kind": kind, "data": data}
    if at is not None:
        body["at"] = at
    return http.post(paths.incident(key, paths.MAJOR_EVENTS), json=body)


def test_only_commanders_declare_and_declaring_twice_changes_nothing(major):
    server, key = major
    with server.client("responder") as http:
        answer = http.post(paths.incident(key, paths.DECLARE_MAJOR))
        assert answer.status_code == 403 and answer.json()["detail"]
    with server.client("commander") as http:
        before = get(http, key)["version"]
        again = http.post(paths.incident(key, paths.DECLARE_MAJOR))
        assert again.status_code == 200 and again.json()["version"] == before
        kinds = [e["kind"] for e in get(http, key)["timeline"]]
    assert kinds.count("major") == 1


def test_entries_keep_their_time_and_are_idempotent(major):
    server, key = major
    written = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    entry_id = str(uuid.uuid4())
    with server.client("commander") as http:
        first = post_entry(http, key, "role", {"role": "commander", "user": "ray"},
                           iso(written), entry_id)
        again = post_entry(http, key, "role", {"role": "commander", "user": "ray"},
                           iso(written), entry_id)
        assert first.status_code == again.status_code == 201, first.text
        assert first.json() == again.json()
        assert datetime.fromisoformat(first.json()["at"]) == written
        future = post_entry(http, key, "role", {"role": "scribe", "user": "ray"},
                            iso(datetime.now(UTC) + timedelta(days=2)))
        assert datetime.fromisoformat(future.json()["at"]) <= datetime.now(UTC)
        timeline = get(http, key)["timeline"]
    assert [e["id"] for e in timeline].count(entry_id) == 1


@pytest.mark.parametrize(("kind", "data", "status", "words"), [
    ("status_update", {**UPDATE, "public_text": None}, 422, "public text is required"),
    ("status_update", {**UPDATE, "next_update_due": "later"}, 422, "ISO-8601"),
    ("role", {"role": "captain", "user": "ray"}, 422, "Unknown role"),
    ("note", {}, 422, "not a major-incident entry"),
    ("action_item", {"item": str(uuid.uuid4()), "done": True}, 422, "text is required"),
])
def test_bad_entries_are_refused_in_words(major, kind, data, status, words):
    server, key = major
    with server.client("commander") as http:
        answer = post_entry(http, key, kind, data)
    assert answer.status_code == status, answer.text
    assert words in answer.json()["detail"]


def test_entries_need_a_major_incident(major):
    server, _key = major
    with server.client("commander") as http:
        other = create(http, title="Slow search", service="checkout")
        answer = post_entry(http, other["id"], "role", {"role": "scribe", "user": "ray"})
    assert answer.status_code == 409, answer.text
    assert "declare it major" in answer.json()["detail"]


def test_quick_entries_are_tagged_notes_at_their_time(major):
    server, key = major
    written = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=40)
    with server.client("responder") as http:  # the scribe may be any responder
        answer = http.post(paths.incident(key, "/notes"), json={
            "id": str(uuid.uuid4()), "text": "Fail over to Stripe", "tag": "decision",
            "at": iso(written)})
        assert answer.status_code == 201, answer.text
        assert answer.json()["data"] == {"tag": "decision"}
        assert datetime.fromisoformat(answer.json()["at"]) == written
        bad = http.post(paths.incident(key, "/notes"), json={"text": "x", "tag": "action"})
        assert bad.status_code == 422 and "action item" in bad.json()["detail"]


def test_a_published_update_goes_out_through_the_webhook(major):
    from incidenttui.server.notify import Notification

    server, key = major
    with server.client("commander") as http:
        answer = post_entry(http, key, "status_update", UPDATE)
        assert answer.status_code == 201, answer.text
        event_id = answer.json()["id"]
        post_entry(http, key, "status_update", UPDATE, entry_id=event_id)  # a replay
    with server.database.read() as session:
        rows = list(session.exec(select(Notification).where(
            Notification.event_id == event_id)))
    assert len(rows) == 1 and rows[0].channel == "webhook"
    payload = rows[0].payload
    assert payload["kind"] == "status_update" and payload["incident"]["id"] == key
    assert payload["update"]["public_text"] == "Some card payments fail."
    assert payload["update"]["next_update_due"] == "2026-05-04T10:30:00Z"
