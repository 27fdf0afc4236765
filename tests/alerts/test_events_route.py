"""The Events v2 route validates a JSON body from its bytes inside its route class: a valid
event skips FastAPI's dependency solving, and anything else takes FastAPI's path, so every
answer is byte for byte the one FastAPI's path alone gives."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fastapi.routing
import pytest
from alertkit import PD_MINIMAL_TRIGGER, PD_TRIGGER_EXAMPLE, client, create_integration, pd_event
from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response
from fastapi.testclient import TestClient

from incidenttui.api.paths import API
from incidenttui.server.alerts import routes
from incidenttui.server.alerts.wire import EventsAccepted, EventsV2Event
from incidenttui.server.app import create_app

EVENTS = f"{API}/events"


def test_a_valid_event_skips_fastapis_dependency_solving(server, monkeypatch):
    key = create_integration(server, "events", service=server.add_service())["key"]
    solved: list[Any] = []
    original = fastapi.routing.solve_dependencies

    async def spy(*args: Any, **kwargs: Any) -> Any:
        solved.append(kwargs.get("dependant"))
        return await original(*args, **kwargs)

    monkeypatch.setattr(fastapi.routing, "solve_dependencies", spy)
    http = client(server, None)
    assert http.post(EVENTS, json=pd_event(PD_MINIMAL_TRIGGER, key)).status_code == 202
    assert solved == []
    # An invalid one takes FastAPI's path, which answers it.
    response = http.post(EVENTS, json=pd_event(PD_MINIMAL_TRIGGER, key, event_action="poke"))
    assert response.status_code == 400 and len(solved) == 1


class FastAPIPathOnly(routes.EventsRoute):
    """The Events route as it would be without validating from bytes."""

    def get_route_handler(self):  # type: ignore[no-untyped-def]
        return routes.BoundedRoute.get_route_handler(self)


@pytest.fixture(scope="module")
def apps(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, TestClient]]:
    """(the app, the same app whose Events route only takes FastAPI's path) over one database
    with an Events integration for service ``checkout``; routing key in ``.key``."""
    url = f"sqlite:///{Path(tmp_path_factory.mktemp('events-route')) / 'db.sqlite'}"
    ours = create_app(url)
    from incidenttui.server.alerts.integrations import create_integration as make
    from incidenttui.server.models import Service

    with ours.state.db.write() as session:
        session.add(Service(id="checkout", name="Checkout"))
        session.flush()
        _, key = make(session, service_id="checkout", kind="events")
    plain = create_app(url, migrate=False)
    plain.router.routes.insert(0, FastAPIPathOnly(
        EVENTS, routes.enqueue_event, methods=["POST"], status_code=202,
        response_model=EventsAccepted))
    with TestClient(ours) as a, TestClient(plain) as b:
        a.key = b.key = key  # type: ignore[attr-defined]
        yield a, b
    ours.state.db.dispose()
    plain.state.db.dispose()


def _bodies(key: str) -> list[tuple[str, bytes, str | None]]:
    """(case, body, content type) for answers that must not depend on the route class."""
    def event(**changes: Any) -> bytes:
        return json.dumps(pd_event(PD_TRIGGER_EXAMPLE, key, **changes)).encode()

    json_type = "application/json"
    return [
        ("empty", b"", json_type), ("broken", b"{", json_type), ("array", b"[]", json_type),
        ("null", b"null", json_type), ("NaN", b'{"a": NaN}', json_type),
        ("not UTF-8", b"\xff\xfe", json_type),
        ("lone surrogate", event(dedup_key="\ud800"), json_type),
        ("short key", event(routing_key="abc"), json_type),
        ("unknown key", event(routing_key=uuid.uuid4().hex), json_type),
        ("no payload", event(payload=...), json_type),
        ("bad severity", event(payload__severity="urgent"), json_type),
        ("blank summary", event(payload__summary="   "), json_type),
        ("resolve without key", json.dumps({"routing_key": key, "event_action": "resolve"})
         .encode(), json_type),
        ("too large", event(payload__custom_details={"blob": "x" * 530_000}), json_type),
        ("no content type", event(routing_key=uuid.uuid4().hex), None),
        ("text/plain", event(routing_key=uuid.uuid4().hex), "text/plain"),
        ("charset", event(routing_key=uuid.uuid4().hex), "application/json; charset=utf-8"),
        ("+json", event(routing_key=uuid.uuid4().hex), "application/vnd.example+json"),
    ]


def test_every_other_answer_is_fastapis_own(apps):
    ours, plain = apps
    for case, body, content_type in _bodies(ours.key):
        headers = {"Content-Type": content_type} if content_type else {}
        a = ours.post(EVENTS, content=body, headers=headers)
        b = plain.post(EVENTS, content=body, headers=headers)
        assert (a.status_code, a.headers.get("content-type"), a.content) == (
            b.status_code, b.headers.get("content-type"), b.content), case


def test_valid_events_get_the_same_answers_either_way(apps):
    ours, plain = apps
    for content_type in ("application/json", "application/json; charset=utf-8",
                         "application/problem+json", "Application/JSON"):
        for action in ("trigger", "acknowledge", "resolve"):
            body = json.dumps(pd_event(PD_TRIGGER_EXAMPLE, ours.key, event_action=action,
                                       dedup_key=f"same-{content_type}-{action}")).encode()
            a = ours.post(EVENTS, content=body, headers={"Content-Type": content_type})
            b = plain.post(EVENTS, content=body, headers={"Content-Type": content_type})
            assert a.status_code == b.status_code == 202
            assert a.content == b.content


async def _with_dependency(request: Request, body: EventsV2Event,
                           user: str = Depends(lambda: "x")) -> Response:
    return Response()


def _sync(request: Request, body: EventsV2Event) -> Response:
    return Response()


async def _two_bodies(request: Request, body: EventsV2Event,
                      other: EventsV2Event) -> Response:
    return Response()


@pytest.mark.parametrize("endpoint", [_with_dependency, _sync, _two_bodies])
def test_the_route_class_takes_only_an_async_endpoint_of_request_and_body(endpoint):
    app = FastAPI()
    with pytest.raises(TypeError, match="takes only the request and one body model"):
        app.router.add_api_route("/x", endpoint, methods=["POST"],
                                 route_class_override=routes.ValidatedBodyRoute)
