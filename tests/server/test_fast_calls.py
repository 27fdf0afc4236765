"""The write routes read plain parameters themselves (server/fastcall.py) instead of through
FastAPI's dependency solving: every answer must be the one FastAPI's own path gives.

The same requests, good and bad, go to the same live server twice, on two incidents in the
same state: once with the fast reading on, once with it off (``app.state.fast_calls``); the
answers must match, status and body. A valid write must not reach FastAPI's dependency
solving at all (that is the point of the fast path)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import fastapi.routing
import pytest
from apihelpers import API, create

#: (method, path under the incident, body as bytes or None, extra headers), in order: each
#: runs on an incident in the same state in both passes.
CASES: list[tuple[str, str, bytes | None, dict[str, str]]] = [
    ("POST", "/notes", b'{"text": "pods restarted"}', {}),
    ("POST", "/notes", b'{"text": "evidence", "evidence": true}', {}),
    ("POST", "/notes", b'{"text": ""}', {}),
    ("POST", "/notes", b'{"text": "   "}', {}),
    ("POST", "/notes", json.dumps({"text": "x" * 20_001}).encode(), {}),
    ("POST", "/notes", b'{"text": "nul \\u0000 inside"}', {}),
    ("POST", "/notes", b'{"text": "extra", "colour": "red"}', {}),
    ("POST", "/notes", b'{"text": 5}', {}),
    ("POST", "/notes", b'{"text": "a", "evidence": "yes"}', {}),
    ("POST", "/notes", b'{"text": "a", "id": "not-a-uuid"}', {}),
    ("POST", "/notes", b'{"text": "unclosed"', {}),
    ("POST", "/notes", b"[]", {}),
    ("POST", "/notes", b"null", {}),
    ("POST", "/notes", b"", {}),
    ("POST", "/notes", b'{"text": "plain"}', {"Content-Type": "text/plain"}),
    ("POST", "/notes", b'{"text": "vendor json"}',
     {"Content-Type": "application/vnd.api+json"}),
    ("POST", "/notes", b'{"text": "long key"}', {"Idempotency-Key": "k" * 201}),
    ("POST", "/notes", b'{"text": "key at its limit"}', {"Idempotency-Key": "k" * 200}),
    ("POST", "/notes", b'{"text": "same key, other body"}', {"Idempotency-Key": "k" * 200}),
    ("POST", "/notes", b'{"text": "key at its limit"}', {"Idempotency-Key": "k" * 200}),
    ("POST", "/acknowledge", b"null", {}),
    ("POST", "/acknowledge", None, {}),
    ("POST", "/acknowledge", b"{}", {}),
    ("POST", "/start", b'{"reason": 7}', {}),
    ("POST", "/start", b"{}", {}),
    ("PATCH", "", b'{"title": "t", "base_version": 9007199254740992}', {}),
    ("PATCH", "", b'{"title": "", "base_version": 1}', {}),
    ("PATCH", "", b'{"status": "closed", "base_version": 1}', {}),
    ("POST", "/escalate", b'{"kind": "sideways"}', {}),
    ("POST", "/links", b'{"kind": "related", "target": "INC-999999"}', {}),
]

#: Fields that differ between two incidents in the same state.
VARYING = {"id", "incident_id", "number", "ref", "at", "created_at", "updated_at",
           "acknowledged_at", "target", "sla_response_due", "sla_resolve_due"}


def _same_shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _same_shape(v) for k, v in value.items()
                if k not in VARYING and not k.endswith(("_at", "_due"))}
    if isinstance(value, list):
        return [_same_shape(v) for v in value]
    return value


def _answers(api, key: str, run: str) -> list[tuple[int, Any]]:  # type: ignore[no-untyped-def]
    answers = []
    for method, suffix, body, headers in CASES:
        sent = {"Content-Type": "application/json", **headers}
        if "Idempotency-Key" in sent:  # the same key in one pass; another in the other
            sent["Idempotency-Key"] = sent["Idempotency-Key"][:-len(run)] + run
        response = api.request(method, f"{API}/incidents/{key}{suffix}", content=body,
                               headers=sent)
        try:
            payload: Any = response.json()
        except ValueError:
            payload = response.text
        answers.append((response.status_code, _same_shape(payload)))
    return answers


@pytest.fixture(scope="module")
def live(db_url):
    from servers import threaded_server

    with threaded_server("sqlite", db_url("sqlite")) as server:
        yield server


def test_every_answer_is_the_one_fastapi_gives(live):
    with live.client("responder") as api:
        fast_incident, slow_incident = create(api), create(api)
        assert getattr(live.app.state, "fast_calls", True)
        fast = _answers(api, fast_incident["id"], "F")
        live.app.state.fast_calls = False
        try:
            slow = _answers(api, slow_incident["id"], "S")
        finally:
            live.app.state.fast_calls = True
    for case, mine, theirs in zip(CASES, fast, slow, strict=True):
        assert mine == theirs, f"{case[0]} {case[1]} {case[2]!r:.60}"
    statuses = [status for status, _ in fast]
    assert 201 in statuses and 422 in statuses and 200 in statuses  # both kinds were tried


def test_a_valid_write_does_not_reach_fastapis_dependency_solving(live, monkeypatch):
    solved = []
    real = fastapi.routing.solve_dependencies

    async def counting(*args: Any, **kwargs: Any) -> Any:
        solved.append(1)
        return await real(*args, **kwargs)

    monkeypatch.setattr(fastapi.routing, "solve_dependencies", counting)
    with live.client("responder") as api:
        incident = create(api)
        key = {"Idempotency-Key": str(uuid.uuid4())}
        assert api.post(f"{API}/incidents/{incident['id']}/notes", json={"text": "fast"},
                        headers=key).status_code == 201
        assert api.post(f"{API}/incidents/{incident['id']}/acknowledge").status_code == 200
        assert solved == []
        # An invalid one takes FastAPI's path, which names the field.
        refused = api.post(f"{API}/incidents/{incident['id']}/notes", json={"text": ""})
        assert refused.status_code == 422 and refused.json()["field"] == "text"
        assert solved
