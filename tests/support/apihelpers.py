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


def latest_cursor(client: httpx.Client) -> int:
    """The feed's current end: page through from 0 (cheap for test databases)."""
    cursor = 0
    while True:
        page = client.get(f"{API}/changes", params={"cursor": cursor, "limit": 1000}).json()
        cursor = page["cursor"]
        if not page["more"]:
            return cursor


def read_feed(client: httpx.Client, cursor: int, limit: int = 1000) -> tuple[list[dict], int]:
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
