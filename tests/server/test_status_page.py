"""The status page over HTTP from a real server: no token, public components and public
updates only, the Atom feed checked against RFC 4287's required elements, cache headers, the
last page served while the database fails, component states, webhook subscribers (signed,
retried) and nothing private in any format. (The page in a browser: test_status_browser.py.)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest
from statuskit import API, SECRET_TITLE, StatusServer, assert_nothing_private, status_server

from incidenttui.server import statuspage

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture(scope="module")
def status(db_url) -> Iterator[StatusServer]:
    with status_server(db_url("sqlite")) as running:
        yield running


def public(status: StatusServer, path: str, **headers: str) -> httpx.Response:
    with status.client(None) as client:
        return client.get(path, headers=headers)


def publish(status: StatusServer, text: str, **components: str) -> dict:
    with status.client("responder") as client:
        answer = client.post(f"{API}/incidents/{status.incident['id']}/public-update",
                             json={"public_text": text, "components": components})
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_the_page_before_and_after_a_public_update(status):
    before = public(status, "/status.json")
    assert before.status_code == 200
    data = before.json()
    assert [c["id"] for c in data["components"]] == ["checkout", "payments", "storefront"]
    assert data["incidents"] == []  # the P1 has no public update yet
    assert all(len(c["history"]) == 90 for c in data["components"])

    event = publish(status, "Checkout is failing for some customers; we are on it.",
                    checkout="major_outage")
    assert event["kind"] == "status_update"
    assert event["data"] == {"public": True, "public_text": "Checkout is failing for some "
                             "customers; we are on it.",
                             "components": {"checkout": "major_outage"}}
    publish(status, "A fix is rolling out.")
    data = public(status, "/status.json").json()
    [item] = data["incidents"]
    assert [u["text"] for u in item["updates"]] == ["A fix is rolling out.", "Checkout is "
                                                    "failing for some customers; we are on it."]
    assert set(item["updates"][0]) == {"id", "at", "text"}  # no author, no other field
    assert item["components"] == [{"id": "checkout", "name": "Checkout",
                                   "state": "major_outage"}]
    states = {c["id"]: c["state"] for c in data["components"]}
    assert states == {"checkout": "major_outage", "payments": "operational",
                      "storefront": "operational"}
    assert data["components"][0]["history"][-1] == "major_outage"
    for path in ("/status", "/status.json", "/status/feed.atom"):
        assert_nothing_private(public(status, path).text)


def test_public_updates_are_refused_where_they_would_leak(status):
    with status.client("responder") as client:
        other = client.post(f"{API}/incidents/{status.incident['id']}/public-update",
                            json={"public_text": "x", "components": {"search": "degraded"}})
        assert other.status_code == 409 and "not on the status page" in other.json()["detail"]
        blank = client.post(f"{API}/incidents/{status.incident['id']}/public-update",
                            json={"public_text": "  "})
        assert blank.status_code == 422
    with status.client("admin") as client:
        hidden = client.post(f"{API}/incidents/{status.restricted['id']}/public-update",
                             json={"public_text": "We are investigating."})
        assert hidden.status_code == 409, hidden.text
        assert "restricted" in hidden.json()["detail"]
    with status.client("viewer") as client:
        assert client.post(f"{API}/incidents/{status.incident['id']}/public-update",
                           json={"public_text": "x"}).status_code == 403


def test_component_states_are_set_by_responders(status):
    with status.client("responder") as client:
        answer = client.put(f"{API}/services/payments/state", json={"state": "degraded"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["component_state"] == "degraded"
        assert client.put(f"{API}/services/payments/state",
                          json={"state": "on fire"}).status_code == 422
        assert client.put(f"{API}/services/nope/state",
                          json={"state": "degraded"}).status_code == 404
    states = {c["id"]: c["state"] for c in public(status, "/status.json").json()["components"]}
    assert states["payments"] == "degraded"
    with status.client("responder") as client:
        client.put(f"{API}/services/payments/state", json={"state": "operational"})


def test_the_atom_feed_has_rfc_4287s_required_elements(status):
    publish(status, "Monitoring <the fix> & watching.")
    answer = public(status, "/status/feed.atom")
    assert answer.headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(answer.content)
    assert feed.tag == f"{ATOM}feed"

    def one(parent: ET.Element, name: str) -> ET.Element:
        found = parent.findall(f"{ATOM}{name}")
        assert len(found) == 1, f"{parent.tag} must have exactly one {name}"
        return found[0]

    def is_date(text: str | None) -> None:
        assert text and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)",
                                     text), text
        datetime.fromisoformat(text.replace("Z", "+00:00"))

    assert re.match(r"^[a-z][a-z0-9+.-]*:", one(feed, "id").text or "")  # an IRI
    assert (one(feed, "title").text or "").strip()
    is_date(one(feed, "updated").text)
    assert feed.findall(f"{ATOM}author")  # so no entry needs its own
    links = {link.get("rel"): link.get("href") for link in feed.findall(f"{ATOM}link")}
    assert links["self"].endswith("/status/feed.atom")
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) >= 3
    ids = []
    for entry in entries:
        ids.append(one(entry, "id").text)
        assert (one(entry, "title").text or "").strip()
        is_date(one(entry, "updated").text)
        content = one(entry, "content")
        assert content.get("type") == "text" and content.text
    assert len(set(ids)) == len(ids)
    assert entries[0].find(f"{ATOM}content").text == "Monitoring <the fix> & watching."
    assert_nothing_private(answer.text)


def test_cache_headers_and_the_last_page_while_the_database_fails(status, monkeypatch):
    first = public(status, "/status")
    etag = first.headers["etag"]
    assert "max-age" in first.headers["cache-control"]
    assert "public" in first.headers["cache-control"]
    assert first.headers["content-type"].startswith("text/html")
    unchanged = public(status, "/status", **{"If-None-Match": etag})
    assert unchanged.status_code == 304 and not unchanged.content

    cache = status.app.state.status_cache
    release = threading.Event()

    def slow(*_args, **_kwargs):  # the database hangs until the test lets it go
        release.wait()
        raise RuntimeError("database unavailable")

    monkeypatch.setattr(statuspage, "snapshot", slow)
    monkeypatch.setattr(cache, "deadline", 0.2)
    cache.changed()  # a write happened: the page must be made again, and cannot be
    try:
        stale = public(status, "/status")
        assert stale.status_code == 200
        assert stale.headers["x-status-stale"] == "true"
        assert stale.text == first.text
    finally:
        release.set()
    monkeypatch.undo()
    fresh = public(status, "/status")
    assert "x-status-stale" not in fresh.headers


def test_subscribers_get_signed_updates_retried_with_backoff(status):
    from incidenttui.server.notify import BACKOFF, Channels, Deliverer, Notification

    with status.client("admin") as client:
        made = client.post(f"{API}/status/subscribers",
                           json={"url": "http://127.0.0.1:9/status"})
        assert made.status_code == 201, made.text
        secret = made.json()["secret"]
        assert client.get(f"{API}/status/subscribers").json()[0].get("secret") is None
        assert client.post(f"{API}/status/subscribers",
                           json={"url": "ftp://x"}).status_code == 422
    with status.client("responder") as client:
        assert client.get(f"{API}/status/subscribers").status_code == 403
    event = publish(status, "Payments are slow; retrying works.")
    received: list[httpx.Request] = []

    def hook(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(500 if len(received) == 1 else 204)

    deliverer = Deliverer(status.app.state.db, Channels(), transport=httpx.MockTransport(hook))
    try:
        assert deliverer.deliver_due() >= 1
        from sqlmodel import select

        with status.app.state.db.read() as session:
            [note] = [n for n in session.exec(select(Notification)) if n.event_id == event["id"]]
        assert (note.state, note.attempts) == ("pending", 1)  # failed once: waits BACKOFF[0]
        later = note.next_attempt_at
        assert (later - note.created_at).total_seconds() >= BACKOFF[0]
        assert deliverer.deliver_due(later) == 1
    finally:
        deliverer.stop()
    last = received[-1]
    body = json.loads(last.content)
    assert body["text"] == "Payments are slow; retrying works." and body["kind"] == "status_update"
    assert_nothing_private(last.content.decode())
    stamp = last.headers["x-incidenttui-timestamp"]
    expected = hmac.new(secret.encode(), stamp.encode() + b"." + last.content,
                        hashlib.sha256).hexdigest()
    assert last.headers["x-incidenttui-signature"] == f"sha256={expected}"


def test_the_page_shows_only_published_incidents(status):
    html = public(status, "/status").text
    assert SECRET_TITLE not in html
    assert 'lang="en"' in html and "<main" in html and "<script" not in html


def test_planned_maintenance_shows_ahead_of_time_and_ending_it_takes_it_off(status):
    import uuid
    from datetime import UTC, datetime, timedelta

    start = datetime.now(UTC) + timedelta(days=2)
    with status.client("responder") as client:
        window = client.post(f"{API}/maintenance", json={
            "id": str(uuid.uuid4()), "services": ["payments", "search"],
            "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=2)).isoformat(),
            "reason": "Payment provider maintenance"}).json()
    data = public(status, "/status.json").json()
    [shown] = [w for w in data["maintenance"] if w["id"] == window["id"]]
    assert shown["components"] == ["Payments"]  # "search" is not public: not named
    assert shown["active"] is False and shown["reason"] == "Payment provider maintenance"
    states = {c["id"]: c["state"] for c in data["components"]}
    assert states["payments"] == "operational"  # not yet
    html = public(status, "/status").text
    assert "Scheduled maintenance" in html and "Planned" in html
    assert_nothing_private(html)
    with status.client("responder") as client:
        assert client.post(f"{API}/maintenance/{window['id']}/end").status_code == 200
    assert not [w for w in public(status, "/status.json").json()["maintenance"]
                if w["id"] == window["id"]]
