"""Integrations: admins create (the key is shown once, stored hashed), list and revoke them,
in the API and with ``incidenttui admin``."""

from __future__ import annotations

import hashlib
import uuid

import pytest
from alertkit import API, PD_MINIMAL_TRIGGER, client, create_integration, pd_event

from incidenttui.cli import main
from incidenttui.server.models import Integration

INTEGRATIONS = f"{API}/integrations"


def test_an_admin_creates_an_integration_and_sees_its_key_once(server):
    created = create_integration(server, "events", name="Grafana", auto_resolve=False,
                                 category="performance",
                                 severity_map={"warning": {"impact": 2, "urgency": 1}})
    key = created["key"]
    assert len(key) == 32 and created["endpoint"] == f"{API}/events"
    assert created["severity_map"]["warning"] == {"impact": 2, "urgency": 1}
    assert created["severity_map"]["critical"] == {"impact": 1, "urgency": 1}  # defaults
    assert (created["auto_resolve"], created["category"], created["active"]) == (
        False, "performance", True)
    assert created["created_by"] == "adam"
    with server.database.read() as session:
        row = session.get(Integration, created["id"])
        assert row is not None and row.key_hash == hashlib.sha256(key.encode()).hexdigest()
    listed = client(server, "admin").get(INTEGRATIONS).json()
    mine = next(i for i in listed if i["id"] == created["id"])
    assert "key" not in mine and key not in str(listed)


def test_revoking_stops_the_key_and_is_idempotent(server):
    created = create_integration(server, "events")
    admin = client(server, "admin")
    http = client(server, None)
    event = pd_event(PD_MINIMAL_TRIGGER, created["key"])
    assert http.post(f"{API}/events", json=event).status_code == 202
    first = admin.post(f"{INTEGRATIONS}/{created['id']}/revoke")
    assert first.status_code == 200 and first.json()["active"] is False
    again = admin.post(f"{INTEGRATIONS}/{created['id']}/revoke")
    assert again.json()["revoked_at"] == first.json()["revoked_at"]
    assert http.post(f"{API}/events", json=event).status_code == 400
    missing = admin.post(f"{INTEGRATIONS}/{uuid.uuid4()}/revoke")
    assert missing.status_code == 404 and missing.json()["detail"]


@pytest.mark.parametrize("role", [None, "viewer", "responder", "commander"])
def test_only_admins_manage_integrations(server, role):
    user = client(server, role)
    expected = 401 if role is None else 403
    assert user.get(INTEGRATIONS).status_code == expected
    assert user.post(INTEGRATIONS, json={"service": "checkout",
                                         "kind": "events"}).status_code == expected
    assert user.post(f"{INTEGRATIONS}/{uuid.uuid4()}/revoke").status_code == expected


@pytest.mark.parametrize(("body", "field"), [
    ({"service": "no-such-service", "kind": "events"}, "service"),
    ({"service": "checkout", "kind": "nagios"}, "kind"),
    ({"service": "checkout", "kind": "events", "category": "sabotage"}, "category"),
    ({"service": "checkout", "kind": "events", "severity_map": {"fatal": {
        "impact": 1, "urgency": 1}}}, "severity_map.fatal.[key]"),
    ({"service": "checkout", "kind": "events", "severity_map": {"info": {
        "impact": 4, "urgency": 1}}}, "severity_map.info.impact"),
    ({"service": "checkout", "kind": "events", "name": "  "}, "name"),
    ({"service": "checkout", "kind": "events", "key": "chosen"}, "key"),
    ({"kind": "events"}, "service"),
])
def test_bad_integrations_are_refused_naming_the_field(server, body, field):
    response = client(server, "admin").post(INTEGRATIONS, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field, response.json()


class Ran:
    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


@pytest.fixture
def cli(capsys):
    """``incidenttui ARGS`` in this process (the same ``main`` the console script runs)."""
    def run(*args: str) -> Ran:
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return Ran(code, out, err)
    return run


def test_the_admin_cli_creates_lists_and_revokes(server, cli):
    name = f"cli-{uuid.uuid4().hex[:8]}"
    created = cli("admin", "create-integration", "--service", "checkout", "--kind",
                  "alertmanager", "--severity", "warning=2/1", "--no-auto-resolve",
                  "--name", name, "--db", server.db_url)
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert len(key) == 32 and key not in created.stderr
    assert "shown once" in created.stderr
    listed = cli("admin", "list-integrations", "--db", server.db_url)
    line = next(line for line in listed.stdout.splitlines() if name in line)
    assert "manual resolve" in line and "alertmanager" in line
    integration_id = line.split()[0]
    answer = client(server, None).post(
        f"{API}/integrations/alertmanager", headers={"Authorization": f"Bearer {key}"},
        json={"version": "4", "groupKey": "g", "status": "firing", "alerts": []})
    assert answer.status_code == 200, answer.text
    revoked = cli("admin", "revoke-integration", integration_id, "--db", server.db_url)
    assert revoked.returncode == 0 and "revoked" in revoked.stdout
    answer = client(server, None).post(
        f"{API}/integrations/alertmanager", headers={"Authorization": f"Bearer {key}"},
        json={"version": "4", "groupKey": "g", "status": "firing", "alerts": []})
    assert answer.status_code == 401


@pytest.mark.parametrize(("args", "message"), [
    (["--service", "no-such-service", "--kind", "events"], "--service: Unknown service"),
    (["--service", "checkout", "--kind", "events", "--severity", "warning=high"],
     "--severity"),
    (["--service", "checkout", "--kind", "events", "--severity", "fatal=1/1"],
     "--severity: Unknown severity"),
    (["--service", "checkout", "--kind", "events", "--category", "sabotage"], "--category"),
])
def test_the_admin_cli_refuses_bad_options(server, cli, args, message):
    result = cli("admin", "create-integration", *args, "--db", server.db_url)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr


def test_revoking_an_unknown_integration_on_the_cli(server, cli):
    result = cli("admin", "revoke-integration", "nope", "--db", server.db_url)
    assert result.returncode == 1 and "no integration 'nope'" in result.stderr
