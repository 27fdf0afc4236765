"""Bad input answers 4xx with a JSON message naming the field, never 500; SQLite and
PostgreSQL (which, unlike SQLite, cannot store NUL and checks encodings strictly)."""

from __future__ import annotations

import json
import uuid

import pytest
from apihelpers import API, assert_error, create, get, incident_body


@pytest.fixture
def api(server):
    with server.client("responder") as client:
        yield client


@pytest.fixture(scope="module")
def incident(server):
    with server.client() as client:
        return create(client)


BIG = "x" * 1_000_000

CREATE_CASES = [
    ("impact", {"impact": "high"}),
    ("impact", {"impact": 0}),
    ("impact", {"impact": 4}),
    ("impact", {"impact": 2**70}),
    ("impact", {"impact": None}),
    ("urgency", {"urgency": 1.5}),
    ("urgency", {"urgency": -1}),
    ("urgency", {"urgency": ...}),
    ("title", {"title": 123}),
    ("title", {"title": ""}),
    ("title", {"title": "   "}),
    ("title", {"title": "x" * 301}),
    ("title", {"title": BIG}),
    ("title", {"title": "nul\x00byte"}),
    ("title", {"title": ["a"]}),
    ("title", {"title": ...}),
    ("description", {"description": "x" * 20_001}),
    ("description", {"description": "a\x00b"}),
    ("description", {"description": {"text": "x"}}),
    ("category", {"category": "sabotage"}),
    ("category", {"category": "Availability"}),
    ("category", {"category": ""}),
    ("service", {"service": "check out"}),
    ("service", {"service": "x" * 65}),
    ("service", {"service": "nul\x00"}),
    ("service", {"service": ""}),
    ("team", {"team": "-leading-dash"}),
    ("assignee", {"assignee": 7}),
    ("id", {"id": "not-a-uuid"}),
    ("id", {"id": "1234"}),
    ("id", {"id": 12345}),
    ("id", {"id": ...}),
    ("major", {"major": "perhaps"}),
    ("detected_at", {"detected_at": "yesterday"}),
    ("detected_at", {"detected_at": "2026-13-40T00:00:00Z"}),
    ("colour", {"colour": "red"}),
    ("number", {"number": 1234}),
    ("version", {"version": 9}),
]


@pytest.mark.parametrize(("field", "overrides"), CREATE_CASES,
                         ids=[f"{f}-{i}" for i, (f, _o) in enumerate(CREATE_CASES)])
def test_create_with_bad_input_is_422_naming_the_field(api, field, overrides):
    body = incident_body(**overrides)
    r = api.post(f"{API}/incidents", json=body)
    assert_error(r, 422, field)
    if "id" in body and isinstance(body["id"], str):
        assert api.get(f"{API}/incidents/{body['id']}").status_code in (404, 422)


@pytest.mark.parametrize("raw", [
    b"", b"{", b"not json", b"[]", b"null", b"42", b'"a string"',
    b'{"title": "\xff\xfe"}',  # not UTF-8
])
def test_a_body_that_is_not_a_json_object_is_4xx(api, raw):
    r = api.post(f"{API}/incidents", content=raw, headers={"Content-Type": "application/json"})
    assert_error(r, 400 if r.status_code == 400 else 422)


def test_a_lone_surrogate_is_refused_not_stored(api):
    body = incident_body()
    raw = json.dumps(body).replace(body["title"], "bad \\ud800 title").encode()
    r = api.post(f"{API}/incidents", content=raw, headers={"Content-Type": "application/json"})
    assert r.status_code < 500, r.text
    if r.status_code == 422:
        assert_error(r, 422, "title")


@pytest.mark.parametrize("field", ["detected_at", "started_at"])
@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-05:00"])
def test_datetimes_that_overflow_in_utc_are_422(field, value, server):
    with server.client() as api:  # a fresh connection: a 500 resets the keep-alive one
        assert_error(api.post(f"{API}/incidents", json=incident_body(**{field: value})),
                     422, field)


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z",
                                   "2026-01-01T00:00:00+14:00", "2026-06-01T12:00:00.123456Z"])
def test_extreme_but_valid_datetimes_round_trip(api, value):
    created = create(api, detected_at=value)
    assert get(api, created["id"])["detected_at"][:19] == value[:19] or value.endswith("+14:00")


def test_a_naive_datetime_is_422(api):
    assert_error(api.post(f"{API}/incidents",
                          json=incident_body(detected_at="2026-01-01T00:00:00")),
                 422, "detected_at")


def test_unicode_is_fine(api):
    title = "Zahlungsausfall 💳 – 決済 – ошибка"
    created = create(api, title=title, description="Ünïcödé ✓\n\ttabs and newlines")
    assert get(api, created["id"])["title"] == title


@pytest.mark.parametrize(("field", "params"), [
    ("status", {"status": "bogus"}),
    ("priority", {"priority": 0}),
    ("priority", {"priority": 6}),
    ("priority", {"priority": "P1"}),
    ("offset", {"offset": -1}),
    ("offset", {"offset": 10**30}),
    ("limit", {"limit": 0}),
    ("limit", {"limit": 501}),
    ("limit", {"limit": "ten"}),
    ("service", {"service": "s" * 65}),
    ("team", {"team": "t" * 65}),
    ("assignee", {"assignee": "a" * 65}),
])
def test_list_with_bad_query_is_422_naming_the_parameter(api, field, params):
    body = assert_error(api.get(f"{API}/incidents", params=params), 422)
    # A repeatable parameter is named with the index of the bad value: "status.0".
    assert body["field"].split(".")[0] == field, body
    assert body["detail"].startswith(f"{body['field']}:"), body


@pytest.mark.parametrize("param", ["service", "team", "assignee"])
def test_list_filters_with_nul_bytes_are_not_a_server_error(server, api, param):
    r = api.get(f"{API}/incidents", params={param: "a\x00b"})
    assert r.status_code in (200, 422), r.text
    if r.status_code == 200:
        assert r.json()["items"] == []


@pytest.mark.parametrize(("field", "params"), [
    ("cursor", {"cursor": -1}),
    ("cursor", {"cursor": "abc"}),
    ("cursor", {"cursor": "1.5"}),
    ("cursor", {"cursor": 2**63}),
    ("cursor", {"cursor": 10**40}),
    ("limit", {"limit": 0}),
    ("limit", {"limit": 1001}),
    ("wait", {"wait": -1}),
    ("wait", {"wait": 61}),
    ("wait", {"wait": "soon"}),
    ("wait", {"wait": "nan"}),
    ("wait", {"wait": "inf"}),
])
def test_changes_with_a_bad_cursor_limit_or_wait_is_422(api, field, params):
    assert_error(api.get(f"{API}/changes", params=params), 422, field)


def test_a_cursor_beyond_the_end_is_gone(api):
    """An integer cursor past what the feed held when cursors became tokens: no client of
    this feed can hold one (its database was replaced), so it is told to start again."""
    assert_error(api.get(f"{API}/changes", params={"cursor": 2**62}), 410, "cursor",
                 contains="reset the local store")


@pytest.mark.parametrize("key", ["x" * 65, "INC-" + "9" * 61])
def test_an_overlong_incident_key_is_422(api, key):
    assert_error(api.get(f"{API}/incidents/{key}"), 422, "key")


@pytest.mark.parametrize("key", ["not-a-uuid", "INC-", "INC-12a", "12345678901", "%00",
                                 "INC-1%00", "0000", "' OR 1=1 --",
                                 "705da704-ff9c-4c8b-8094-031edbb4838"])  # a UUID short a digit
def test_a_malformed_incident_key_is_404(api, key):
    r = api.get(f"{API}/incidents/{key}")
    assert_error(r, 404)
    r = api.post(f"{API}/incidents/{key}/notes", json={"text": "x"})
    assert_error(r, 404)


@pytest.mark.parametrize(("field", "body"), [
    ("base_version", {"title": "x"}),
    ("base_version", {"base_version": -1, "title": "x"}),
    ("base_version", {"base_version": "one", "title": "x"}),
    ("base_version", {"base_version": 2**60, "title": "x"}),
    ("impact", {"base_version": 1, "impact": 9}),
    ("category", {"base_version": 1, "category": "weird"}),
    ("title", {"base_version": 1, "title": "a\x00"}),
    ("status", {"base_version": 1, "status": "closed"}),
    ("version", {"base_version": 1, "version": 99}),
    ("priority", {"base_version": 1, "priority": 1}),
])
def test_patch_with_bad_input_is_422_naming_the_field(api, incident, field, body):
    assert_error(api.patch(f"{API}/incidents/{incident['id']}", json=body), 422, field)
    assert get(api, incident["id"])["version"] == incident["version"]


@pytest.mark.parametrize(("path", "field", "body"), [
    ("notes", "text", {}),
    ("notes", "text", {"text": ""}),
    ("notes", "text", {"text": " \n "}),
    ("notes", "text", {"text": "x\x00"}),
    ("notes", "text", {"text": "x" * 20_001}),
    ("notes", "id", {"id": "nope", "text": "x"}),
    ("notes", "visibility", {"text": "x", "visibility": "private"}),
    ("links", "kind", {"kind": "parent", "target": "INC-1001"}),
    ("links", "target", {"kind": "related", "target": ""}),
    ("links", "target", {"kind": "related", "target": "x" * 41}),
    ("links", "target", {"kind": "related"}),
    ("escalate", "reason", {"to_team": "platform", "reason": "x\x00"}),
    ("escalate", "reason", {"to_team": "platform", "reason": "x" * 2001}),
    ("escalate", "to_team", {"to_team": "bad team", "reason": "x"}),
    ("acknowledge", "note", {"note": "a\x00"}),
    ("acknowledge", "extra", {"extra": 1}),
    ("resolve", "resolution_code", {"resolution_code": "x" * 33, "resolution_note": "n"}),
])
def test_actions_with_bad_input_are_422_naming_the_field(api, incident, path, field, body):
    r = api.post(f"{API}/incidents/{incident['id']}/{path}", json=body)
    assert_error(r, 422, field)
    assert get(api, incident["id"])["version"] == incident["version"]


def test_an_overlong_idempotency_key_is_422(api):
    r = api.post(f"{API}/incidents", json=incident_body(),
                 headers={"Idempotency-Key": "k" * 201})
    assert_error(r, 422, "Idempotency-Key")


@pytest.mark.parametrize("key", ["ключ-🔑".encode(), b"\xff\xfe", b"k" * 200])
def test_odd_idempotency_keys_are_not_a_server_error(api, key):
    body = incident_body()
    first = api.post(f"{API}/incidents", json=body, headers={"Idempotency-Key": key})
    again = api.post(f"{API}/incidents", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 201, (first.text, again.text)
    assert again.headers.get("Idempotent-Replayed") == "true"


def test_unknown_routes_and_methods(api):
    assert_error(api.get(f"{API}/nothing-here"), 404)
    assert_error(api.delete(f"{API}/incidents"), 405)
    assert_error(api.put(f"{API}/incidents/{uuid.uuid4()}", json={}), 405)
