"""Idempotency-Key: a repeat returns the first answer and applies nothing again; a reused key
with a different request is refused; concurrent repeats apply once. SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable

import httpx
import pytest
from apihelpers import API, RESOLVE, assert_error, create, get, incident_body, move, read_feed


@pytest.fixture
def api(server):
    with server.client("responder") as client:
        yield client


def key() -> dict[str, str]:
    return {"Idempotency-Key": f"test-{uuid.uuid4()}"}


def feed_for(api: httpx.Client, cursor: int, incident_id: str) -> list[dict]:
    changes, _ = read_feed(api, cursor)
    return [c for c in changes if c["id"] == incident_id
            or c["data"].get("incident_id") == incident_id]


def test_a_repeated_create_returns_the_first_answer_and_creates_nothing(api):
    headers = key()
    body = incident_body()
    _, cursor = read_feed(api, 0)
    first = api.post(f"{API}/incidents", json=body, headers=headers)
    assert first.status_code == 201, first.text
    assert "Idempotent-Replayed" not in first.headers
    for _ in range(2):
        again = api.post(f"{API}/incidents", json=body, headers=headers)
        assert again.status_code == 201
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.json() == first.json()
    detail = get(api, body["id"])
    assert detail["version"] == 1 and len(detail["timeline"]) == 1
    # The feed carries the create once: the incident and its "created" event.
    assert sorted(c["entity"] for c in feed_for(api, cursor, body["id"])) == ["event",
                                                                             "incident"]
    listed = api.get(f"{API}/incidents", params={"limit": 500}).json()["items"]
    assert [i["id"] for i in listed].count(body["id"]) == 1


@pytest.mark.parametrize("action", ["acknowledge", "note", "escalate", "patch", "link"])
def test_a_repeated_write_applies_once(api, action):
    incident = create(api)
    target = create(api)
    url = f"{API}/incidents/{incident['id']}"
    requests: dict[str, Callable[[dict], httpx.Response]] = {
        "acknowledge": lambda h: api.post(f"{url}/acknowledge", headers=h),
        "note": lambda h: api.post(f"{url}/notes", json={"text": "retry me"}, headers=h),
        "escalate": lambda h: api.post(f"{url}/escalate", headers=h,
                                       json={"to_team": "platform", "reason": "L2 needed"}),
        "patch": lambda h: api.patch(url, json={"base_version": 1, "title": "t2"}, headers=h),
        "link": lambda h: api.post(f"{url}/links", headers=h,
                                   json={"kind": "related", "target": target["id"]}),
    }
    send = requests[action]
    headers = key()
    first = send(headers)
    assert first.status_code in (200, 201), first.text
    after_first = get(api, incident["id"])
    assert after_first["version"] == 2
    again = send(headers)
    assert again.status_code == first.status_code
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    after_again = get(api, incident["id"])
    assert after_again["version"] == 2
    assert after_again["timeline"] == after_first["timeline"]
    # Without the key the same request is a new write (where the domain allows one).
    if action == "note":
        assert send({}).status_code == 201
        assert get(api, incident["id"])["version"] == 3


def test_a_refusal_is_replayed_too(api):
    incident = create(api)
    headers = key()
    first = api.post(f"{API}/incidents/{incident['id']}/close", headers=headers)
    assert_error(first, 409, "status")
    move(api, incident["id"], "acknowledge")
    move(api, incident["id"], "resolve", RESOLVE)
    # The same request again is the same request: its first answer comes back.
    again = api.post(f"{API}/incidents/{incident['id']}/close", headers=headers)
    assert again.status_code == 409 and again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert get(api, incident["id"])["status"] == "resolved"


def test_the_same_key_with_a_different_request_is_refused(api):
    headers = key()
    body = incident_body()
    assert api.post(f"{API}/incidents", json=body, headers=headers).status_code == 201
    other = api.post(f"{API}/incidents", json={**body, "title": "Something else"},
                     headers=headers)
    assert_error(other, 422, "Idempotency-Key")
    other_id = api.post(f"{API}/incidents", json=incident_body(), headers=headers)
    assert_error(other_id, 422, "Idempotency-Key")
    elsewhere = api.post(f"{API}/incidents/{body['id']}/acknowledge", headers=headers)
    assert_error(elsewhere, 422, "Idempotency-Key")
    detail = get(api, body["id"])
    assert detail["status"] == "new" and detail["title"] == body["title"]


def test_keys_belong_to_their_user(server, api):
    headers = key()
    incident = create(api)
    mine = api.post(f"{API}/incidents/{incident['id']}/notes", json={"text": "a"},
                    headers=headers)
    with server.client("other") as other:
        theirs = other.post(f"{API}/incidents/{incident['id']}/notes", json={"text": "a"},
                            headers=headers)
    assert mine.status_code == theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs.headers
    assert mine.json()["id"] != theirs.json()["id"]
    assert [e["kind"] for e in get(api, incident["id"])["timeline"]].count("note") == 2


def _hammer(server, n: int, send: Callable[[httpx.Client], httpx.Response]
            ) -> list[httpx.Response]:
    barrier = threading.Barrier(n)
    responses: list[httpx.Response] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with server.client() as client:
                barrier.wait(10)
                responses.append(send(client))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    return responses


def test_concurrent_creates_with_one_key_apply_once(server, api):
    headers = key()
    body = incident_body()
    responses = _hammer(server, 8, lambda c: c.post(f"{API}/incidents", json=body,
                                                    headers=headers))
    assert [r.status_code for r in responses] == [201] * 8, [r.text for r in responses]
    assert len({r.text for r in responses}) == 1
    assert sum("Idempotent-Replayed" not in r.headers for r in responses) == 1
    detail = get(api, body["id"])
    assert detail["version"] == 1 and len(detail["timeline"]) == 1


def test_concurrent_notes_with_one_key_apply_once(server, api):
    incident = create(api)
    headers = key()
    responses = _hammer(server, 8, lambda c: c.post(
        f"{API}/incidents/{incident['id']}/notes", json={"text": "once"}, headers=headers))
    assert [r.status_code for r in responses] == [201] * 8, [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    detail = get(api, incident["id"])
    assert [e["kind"] for e in detail["timeline"]].count("note") == 1
    assert detail["version"] == 2


def test_concurrent_acknowledges_with_one_key_apply_once(server, api):
    incident = create(api)
    headers = key()
    responses = _hammer(server, 6, lambda c: c.post(
        f"{API}/incidents/{incident['id']}/acknowledge", headers=headers))
    assert [r.status_code for r in responses] == [200] * 6, [r.text for r in responses]
    assert len({r.text for r in responses}) == 1
    assert get(api, incident["id"])["version"] == 2


def test_concurrent_acknowledges_without_a_key_apply_once_and_refuse_the_rest(server, api):
    incident = create(api)
    responses = _hammer(server, 6, lambda c: c.post(
        f"{API}/incidents/{incident['id']}/acknowledge"))
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] + [409] * 5, [r.text for r in responses]
    detail = get(api, incident["id"])
    assert detail["version"] == 2
    assert [e["kind"] for e in detail["timeline"]].count("status") == 1
