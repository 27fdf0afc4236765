"""Small helpers for API tests: request bodies, creating incidents, reading the feed."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

API = "/api/v1"


def incident_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "title": "Checkout returns 502 for some customers",
        "description": "Seen on the storefront since 09:12; payment step fails.",
        "service": "checkout",
        "category": "availability",
        "impact": 2,
        "urgency": 2,
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not ...}


def create(client: httpx.Client, **overrides: Any) -> dict[str, Any]:
    """Create an incident (201 expected) and return it."""
    response = client.post(f"{API}/incidents", json=incident_body(**overrides))
    assert response.status_code == 201, response.text
    return response.json()


def get(client: httpx.Client, key: str) -> dict[str, Any]:
    response = client.get(f"{API}/incidents/{key}")
    assert response.status_code == 200, response.text
    return response.json()


def act(client: httpx.Client, key: str, action: str, body: dict[str, Any] | None = None,
        **kwargs: Any) -> httpx.Response:
    return client.post(f"{API}/incidents/{key}/{action}", json=body, **kwargs)


def move(client: httpx.Client, key: str, action: str, body: dict[str, Any] | None = None
         ) -> dict[str, Any]:
    """A lifecycle move that must succeed; returns the incident."""
    response = act(client, key, action, body)
    assert response.status_code == 200, f"{action}: {response.status_code} {response.text}"
    return response.json()


RESOLVE = {"resolution_code": "fixed", "resolution_note": "Rolled back the bad deploy."}


def latest_cursor(client: httpx.Client) -> str:
    """The feed's current end: page through from 0 (cheap for test databases)."""
    cursor = 0
    while True:
        page = client.get(f"{API}/changes", params={"cursor": cursor, "limit": 1000}).json()
        cursor = page["cursor"]
        if not page["more"]:
            return cursor


def read_feed(client: httpx.Client, cursor: str | int, limit: int = 1000
              ) -> tuple[list[dict], str]:
    """Every change after ``cursor`` (following ``more``) and the cursor after them."""
    changes: list[dict] = []
    while True:
        response = client.get(f"{API}/changes", params={"cursor": cursor, "limit": limit})
        assert response.status_code == 200, response.text
        page = response.json()
        changes += page["changes"]
        cursor = page["cursor"]
        if not page["more"]:
            return changes, cursor


def feed_seqs(database: Any, changes: list[dict]) -> list[int]:
    """White-box: the ``changes.seq`` of each feed entry a client received (the wire carries
    no seq), matched by entity, id and snapshot in the server's table, in the order given
    (an entry that matches no row, or one row twice, fails)."""
    import json

    from sqlalchemy import text

    with database.read() as session:
        rows = session.execute(text(
            "SELECT seq, entity, entity_id, CAST(data AS TEXT) FROM changes ORDER BY seq")).all()
    by_key: dict[tuple[str, str, str], list[int]] = {}
    for seq, entity, entity_id, data in rows:
        key = (entity, entity_id, json.dumps(json.loads(data), sort_keys=True))
        by_key.setdefault(key, []).append(int(seq))
    seqs = []
    for change in changes:
        key = (change["entity"], change["id"], json.dumps(change["data"], sort_keys=True))
        candidates = by_key.get(key)
        assert candidates, f"no feed row for {key[:2]}"
        seqs.append(candidates.pop(0))
    return seqs


def assert_error(response: httpx.Response, status: int, field: str | None = None,
                 contains: str | None = None) -> dict[str, Any]:
    """``response`` is a JSON error with ``status`` and a readable ``detail`` naming ``field``.

    Validation errors name the field in ``detail`` itself ("impact: Input should be ...");
    the domain's refusals say it in words and name it in ``field``.
    """
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert isinstance(body.get("detail"), str) and body["detail"], body
    if field is not None:
        assert body.get("field") == field, body
        if "errors" in body:  # a request validation error
            assert body["detail"].startswith(f"{field}:"), body
    if contains is not None:
        assert contains.lower() in body["detail"].lower(), body
    return body
