"""Schemathesis against the alert-ingestion endpoints of the live server's /openapi.json: no
generated request makes them answer 500, and every answer matches the schema. Each operation
gets the credentials it needs (an integration key, a routing key in the body, or an admin
token), so generated alerts and events go all the way into the database. Bounded and
deterministic; SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import schemathesis
from alertkit import create_integration
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance


def _pytest_nodeid_shim() -> None:
    """schemathesis 4.32's ``from_fixture`` renames the running item through ``node._nodeid``;
    pytest 9.2 keeps the id in ``node._id``. The same shim as tests/server's schemathesis
    test (either may run first)."""
    from _pytest.nodes import Node

    if hasattr(Node, "_nodeid") or not hasattr(Node, "nodeid"):
        return
    from _pytest.nodeid import coerce_node_id

    def _set(self: Node, value: str) -> None:
        self._id = coerce_node_id(value)

    Node._nodeid = property(lambda self: self.nodeid, _set)  # type: ignore[attr-defined]


_pytest_nodeid_shim()

MAX_EXAMPLES = 5
SEED = 20_261_126
PATHS = r"^/api/v1/(events|integrations)"


@pytest.fixture(scope="module")
def keys(server) -> dict[str, str]:
    return {"alertmanager": create_integration(server, "alertmanager")["key"],
            "events": create_integration(server, "events")["key"],
            "admin": server.tokens["admin"]}


@pytest.fixture(scope="module")
def alerts_schema(server, keys):
    config = schemathesis.Config.from_dict({
        "seed": SEED,
        "base-url": server.base_url,
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True,
                       "database": "none"},
        "phases": {"stateful": {"enabled": False}, "coverage": {"enabled": False}},
        "request-timeout": 30,
    })
    return schemathesis.openapi.from_url(f"{server.base_url}/openapi.json", config=config)


schema = schemathesis.pytest.from_fixture("alerts_schema").include(path_regex=PATHS)


@schema.parametrize()
def test_alert_endpoints_never_fail_and_match_their_schema(case, keys):
    if case.path == "/api/v1/integrations/alertmanager":
        token = keys["alertmanager"]
    elif case.path == "/api/v1/events":
        token = None
        if isinstance(case.body, dict) and "routing_key" in case.body:
            case.body["routing_key"] = keys["events"]
    else:
        token = keys["admin"]
    headers = dict(case.headers or {})
    if token is not None and "Authorization" not in headers:
        headers["Authorization"] = f"Bearer {token}"
    case.headers = headers
    case.call_and_validate(checks=[not_a_server_error, response_schema_conformance])
