"""Evidence notes and the breach notification over HTTP: an evidence note is a note marked in
its event (the matrix's ``evidence_note``) that nothing can edit or delete; recording the
breach notification (``record_breach_notification``: security and admins) is the check of the
data-breach playbook's ``notify-authority`` step, which stops the 72-hour clock the client
shows. SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from apihelpers import API, assert_error, create, get, incident_body

from incidenttui.domain.playbooks import NOTIFY_STEP, parse_check
from incidenttui.server.access import ENDPOINTS
from incidenttui.store.security import security_view


@pytest.fixture(scope="module")
def security(server) -> str:
    from incidenttui.server.auth import create_user

    with server.database.write() as session:
        _user, server.tokens["security"] = create_user(session, "sana", "security",
                                                       team="security")
    return "security"


def test_an_evidence_note_is_marked_and_cannot_be_changed(server) -> None:
    with server.client("responder") as rita, server.client("viewer") as vera:
        incident = create(rita)
        note_id = str(uuid.uuid4())
        made = rita.post(f"{API}/incidents/{incident['id']}/notes",
                         json={"id": note_id, "text": "sha256 of the dump: 9f2c…",
                               "evidence": True})
        assert made.status_code == 201, made.text
        assert made.json()["data"] == {"evidence": True}
        plain = rita.post(f"{API}/incidents/{incident['id']}/notes", json={"text": "plain"})
        assert plain.json()["data"] == {}
        # the same id again: the same note (idempotent) ...
        again = rita.post(f"{API}/incidents/{incident['id']}/notes",
                          json={"id": note_id, "text": "sha256 of the dump: 9f2c…",
                                "evidence": True})
        assert again.status_code == 201 and again.json()["id"] == note_id
        # ... but never a different one under its id, not even without the mark
        for changed in ({"text": "edited", "evidence": True},
                        {"text": "sha256 of the dump: 9f2c…", "evidence": False}):
            assert_error(rita.post(f"{API}/incidents/{incident['id']}/notes",
                                   json={"id": note_id, **changed}), 422, "id")
        for method in ("PATCH", "PUT", "DELETE"):
            assert rita.request(method, f"{API}/incidents/{incident['id']}/notes"
                                ).status_code == 405
        assert_error(vera.post(f"{API}/incidents/{incident['id']}/notes",
                               json={"text": "x", "evidence": True}), 403)
        [stored] = [e for e in get(rita, incident["id"])["timeline"] if e["id"] == note_id]
        assert stored["text"] == "sha256 of the dump: 9f2c…" and stored["data"]["evidence"]
    # no endpoint edits or deletes timeline events at all
    assert not [e for e in ENDPOINTS if "/notes" in e[1] and e[0] != "POST"]


def _view(incident: dict, timeline: list[dict]) -> object:
    local = SimpleNamespace(
        category=incident["category"], title=incident["title"],
        description=incident["description"], base=None,
        detected_at=datetime.fromisoformat(incident["detected_at"].replace("Z", "+00:00")),
        created_at=None)
    events = [SimpleNamespace(kind=e["kind"], text=e["text"],
                              at=datetime.fromisoformat(e["at"].replace("Z", "+00:00")))
              for e in timeline]
    return security_view(local, events, datetime.now(UTC))


def test_recording_the_breach_notification_stops_the_clock(server, security) -> None:
    with server.client(security) as sam, server.client("responder") as rita:
        breach = sam.post(f"{API}/incidents", json=incident_body(
            category="security", title="Personal data breach: order export exposed")).json()
        url = f"{API}/incidents/{breach['id']}/breach-notification"
        assert _view(breach, get(sam, breach["id"])["timeline"]).breach.stopped is False
        # recording the notification is security's, member or not (403 before any look-up)
        assert_error(rita.post(url, json={"authority": "CNIL"}), 403)
        assert sam.post(f"{API}/incidents/{breach['id']}/members",
                        json={"user": "rita"}).status_code == 200
        assert_error(rita.post(url, json={"authority": "CNIL"}), 403)
        made = sam.post(url, json={"authority": "CNIL", "reference": "2026-0042"})
        assert made.status_code == 201, made.text
        event = made.json()
        assert parse_check(event["text"]) == ("data_breach", NOTIFY_STEP)
        assert "CNIL" in event["text"] and "2026-0042" in event["text"]
        assert event["data"]["breach_notification"] == {"authority": "CNIL",
                                                        "reference": "2026-0042"}
        clock = _view(breach, get(sam, breach["id"])["timeline"]).breach
        assert clock is not None and clock.stopped and not clock.overdue
        assert_error(sam.post(url, json={"authority": "CNIL"}), 409)  # once
        assert_error(sam.post(url, json={}), 422, "authority")


def test_no_breach_notification_for_other_incidents(server, security) -> None:
    with server.client(security) as sam:
        leak = sam.post(f"{API}/incidents", json=incident_body(
            category="security", title="Leaked API key in a public repository")).json()
        normal = create(sam)
        for incident in (leak, normal):
            assert_error(sam.post(f"{API}/incidents/{incident['id']}/breach-notification",
                                  json={"authority": "CNIL"}), 409)
