"""Every endpoint has a rule (server/access.py), and the running server answers every role ×
every endpoint as the matrix says: 403 exactly when the role may not do the operation on any
incident; on a restricted incident the caller cannot see, word for word the answer for a
missing incident. SQLite and PostgreSQL. (Leaks through every read path: test_restricted.py.)
"""

from __future__ import annotations

import uuid

import pytest
from apihelpers import incident_body

from incidenttui.api import paths
from incidenttui.domain.enums import Role
from incidenttui.domain.permissions import can_see, may_at_all
from incidenttui.server.access import ENDPOINTS, INTEGRATION_KEYED, ON_INCIDENT, operation_for

#: Endpoints the server does not yet answer as the matrix says; each turns the test into a
#: strict xfail, so wiring it shows as XPASS and the entry must go.
KNOWN_GAPS: dict[tuple[str, str, str], str] = {}
NEW_USERS = {"security": "sam", "integration": "iggy"}
USER_ENDPOINTS = sorted(e for e, op in ENDPOINTS.items()
                        if op is not None and e not in INTEGRATION_KEYED)


def app_endpoints() -> set[tuple[str, str]]:
    import tempfile

    from incidenttui.server.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(f"sqlite:///{tmp}/server.db")
        spec = app.openapi()
    return {(method.upper(), path) for path, ops in spec["paths"].items() for method in ops}


def test_every_endpoint_has_exactly_one_rule() -> None:
    actual = app_endpoints()
    assert not actual - set(ENDPOINTS), f"endpoints without a rule: {actual - set(ENDPOINTS)}"
    assert not set(ENDPOINTS) - actual, f"rules for no endpoint: {set(ENDPOINTS) - actual}"


def test_operation_for() -> None:
    assert operation_for("post", paths.incident("{key}", "/notes")) == "note"
    assert operation_for("GET", "/healthz") is None
    with pytest.raises(KeyError):
        operation_for("DELETE", paths.INCIDENTS)


@pytest.fixture(scope="module")
def tokens(server) -> dict[str, str]:
    from incidenttui.server.auth import create_user

    with server.database.write() as session:
        for role, name in NEW_USERS.items():
            _user, server.tokens[role] = create_user(session, name, role, team="security")
    return server.tokens


def request_for(method: str, path: str) -> tuple[str, dict]:
    """A harmless request: a missing incident or integration, an empty body."""
    url = (path.replace("{key}", "INC-99999999").replace("{integration_id}", "no-such-id")
           .replace("{user}", "ray").replace("{service_id}", "no-such-service")
           .replace("{window_id}", "no-such-window")
           .replace("{subscriber_id}", "no-such-subscriber"))
    return url, ({"json": {}} if method in ("POST", "PATCH", "PUT") else {})


def valid_request(method: str, path: str, key: str) -> tuple[str, dict]:
    """A request on incident ``key`` whose body is valid, so that only the incident (missing
    or hidden) can be what is refused."""
    url = path.replace("{key}", key).replace("{user}", "ray")
    suffix = path.removeprefix(paths.incident("{key}"))
    bodies = {"": {"base_version": 1, "title": "Renamed"}, "/escalate": {"reason": "why"},
              "/notes": {"text": "a note"},
              "/links": {"kind": "related", "target": "INC-99999998"},
              paths.MEMBERS: {"user": "ray"},
              paths.BREACH_NOTIFICATION: {"authority": "CNIL"},
              "/policy-level": {"level": 2, "reason": "why"},
              paths.DECLARE_MAJOR: {},
              paths.MAJOR_EVENTS: {"id": str(uuid.uuid4()), "kind": "role",
                                   "data": {"role": "scribe", "user": "ray"}},

              paths.PUBLIC_UPDATE: {"public_text": "We are looking into it."}}
    if method == "GET" or method == "DELETE":
        return url, {}
    return url, {"json": bodies.get(suffix, {})}


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize(("method", "path"), USER_ENDPOINTS,
                         ids=[f"{m} {p}" for m, p in USER_ENDPOINTS])
def test_every_role_at_every_endpoint(server, tokens: dict[str, str], role: Role, method: str,
                                      path: str, request: pytest.FixtureRequest) -> None:
    gap = KNOWN_GAPS.get((role.value, method, path))
    if gap:
        request.applymarker(pytest.mark.xfail(reason=gap, strict=True))
    operation = ENDPOINTS[method, path]
    assert operation is not None
    url, kwargs = request_for(method, path)
    with server.client(role.value) as client:
        answer = client.request(method, url, **kwargs)
    if not may_at_all(role, operation):
        expected = {403}
    elif (method, path) in ON_INCIDENT and method == "GET":
        expected = {404}
    else:  # let through: the missing incident or the empty body is what is refused
        expected = {200, 201, 404, 422}
    assert answer.status_code in expected, (answer.status_code, answer.text)
    if answer.status_code >= 400:
        assert answer.json()["detail"]


@pytest.fixture(scope="module")
def secret(server, tokens: dict[str, str]) -> str:
    """A restricted (security) incident nobody was added to; its ref."""
    with server.client("admin") as client:
        answer = client.post(paths.INCIDENTS, json=incident_body(
            category="security", title=f"Leaked key {uuid.uuid4().hex[:6]}"))
    assert answer.status_code == 201, answer.text
    return answer.json()["ref"]


INCIDENT_ENDPOINTS = sorted(ON_INCIDENT)


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize(("method", "path"), INCIDENT_ENDPOINTS,
                         ids=[f"{m} {p}" for m, p in INCIDENT_ENDPOINTS])
def test_every_role_at_every_endpoint_on_a_restricted_incident(
        server, tokens: dict[str, str], secret: str, role: Role, method: str,
        path: str) -> None:
    """Who may not do the operation at all: 403. Who cannot see the incident: exactly the
    answer for a missing one (status and body, but for the key). Everyone else: let through
    to the incident (any answer but 401, 403 or 404)."""
    operation = ENDPOINTS[method, path]
    assert operation is not None
    series, number = secret.split("-")  # SEC-n: restricted when logged (domain/refs.py)
    missing_key = f"{series}-{int(number) + 10_000_000}"
    url, kwargs = valid_request(method, path, secret)
    with server.client(role.value) as client:
        answer = client.request(method, url, **kwargs)
        missing_url, missing_kwargs = valid_request(method, path, missing_key)
        missing = client.request(method, missing_url, **missing_kwargs)
    if not may_at_all(role, operation):
        assert answer.status_code == 403, answer.text
        assert answer.json()["detail"]
    elif not can_see(role, True, member=False):
        assert answer.status_code == missing.status_code == 404, (answer.text, missing.text)
        assert answer.text == missing.text.replace(missing_key, secret)
    else:
        assert answer.status_code not in (401, 403, 404), (answer.status_code, answer.text)


@pytest.mark.parametrize(("method", "path"), sorted(e for e, op in ENDPOINTS.items()
                                                    if op is None))
def test_public_endpoints_need_no_token(server, method: str, path: str) -> None:
    with server.client(None) as client:
        assert client.request(method, path).status_code == 200
