"""The server as an operator runs it: ``incidenttui admin ...`` to set up the database, then
``incidenttui server --db URL --host H --port P`` as a subprocess; SQLite and PostgreSQL."""

from __future__ import annotations

import signal

import httpx
import pytest
from apihelpers import API, create, get
from servers import DATABASES, CliServer, cli


@pytest.fixture(params=DATABASES)
def kind(request):
    return request.param


def admin(*args: str) -> str:
    proc = cli("admin", *args)
    assert proc.returncode == 0, (args, proc.returncode, proc.stdout, proc.stderr)
    return proc.stdout


def test_admin_cli_then_server_subprocess(kind, db_url):
    url = db_url(kind)
    admin("create-team", "service-desk", "--name", "Service desk", "--level", "1", "--db", url)
    admin("create-team", "platform", "--name", "Platform", "--level", "2", "--db", url)
    admin("create-service", "checkout", "--name", "Checkout", "--team", "service-desk",
          "--db", url)
    token = admin("create-user", "rita", "--role", "responder", "--team", "service-desk",
                  "--db", url).strip()
    viewer_token = admin("create-user", "vera", "--role", "viewer", "--db", url).strip()
    assert token.startswith("itui_") and len(token.splitlines()) == 1

    server = CliServer(url).start()
    try:
        auth = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=server.base_url, headers=auth, timeout=30) as api:
            assert api.get("/healthz").json()["database"] in ("sqlite", "postgresql")
            me = api.get(f"{API}/me").json()["user"]
            assert (me["id"], me["role"], me["team_id"]) == ("rita", "responder",
                                                              "service-desk")
            first = create(api)
            assert first["ref"] == "INC-1001" and first["team"] == "service-desk"
            assert get(api, "INC-1001")["id"] == first["id"]
            r = api.post(f"{API}/incidents/{first['id']}/escalate",
                         json={"to_team": "platform", "reason": "L2"})
            assert r.status_code == 200 and r.json()["escalation_level"] == 2
            changes = api.get(f"{API}/changes").json()["changes"]
            entities = [(c["entity"], c["id"]) for c in changes]
            for expected in [("team", "service-desk"), ("team", "platform"),
                             ("service", "checkout"), ("user", "rita"), ("user", "vera"),
                             ("incident", first["id"])]:
                assert expected in entities
        with httpx.Client(base_url=server.base_url, timeout=30,
                          headers={"Authorization": f"Bearer {viewer_token}"}) as viewer:
            assert viewer.get(f"{API}/incidents").json()["total"] == 1
            assert viewer.post(f"{API}/incidents/INC-1001/notes",
                               json={"text": "x"}).status_code == 403
        # Re-issuing a token (while the server runs) revokes the old one.
        new_token = admin("create-user", "rita", "--role", "responder", "--db", url).strip()
        assert new_token != token
        assert httpx.get(f"{server.base_url}{API}/me", headers=auth).status_code == 401
        assert httpx.get(f"{server.base_url}{API}/me",
                         headers={"Authorization": f"Bearer {new_token}"}).status_code == 200
    finally:
        code = server.stop()  # SIGTERM, as systemd or docker stop would
        log = server.stderr()
        server.cleanup()
    # uvicorn shuts down gracefully, then re-raises the signal: "killed by SIGTERM" is the
    # conventional clean exit for a service (systemd counts it as success).
    assert code in (0, -signal.SIGTERM), (code, log)
    assert "Traceback" not in log and "ERROR" not in log, log

    # Tokens are stored hashed only.
    from incidenttui.server.db import Database
    from incidenttui.server.tokens import list_tokens

    db = Database(url)
    try:
        with db.read() as session:
            stored = list_tokens(session, "rita")
            assert stored and all(t.token_hash for t in stored)
            assert all(new_token not in t.token_hash for t in stored)
    finally:
        db.dispose()

    # A restart on the same database keeps everything and numbers on.
    server = CliServer(url).start()
    try:
        with httpx.Client(base_url=server.base_url, timeout=30,
                          headers={"Authorization": f"Bearer {new_token}"}) as api:
            assert get(api, "INC-1001")["escalation_level"] == 2
            assert create(api)["ref"] == "INC-1002"
        assert server.proc is not None
        server.proc.send_signal(signal.SIGINT)  # Ctrl-C in a terminal
        assert server.proc.wait(15) in (0, 130, -signal.SIGINT)
        assert "Traceback" not in server.stderr(), server.stderr()
    finally:
        server.cleanup()


def test_admin_cli_refuses_bad_input(tmp_path):
    url = f"sqlite:///{tmp_path / 'server.db'}"
    bad_role = cli("admin", "create-user", "x", "--role", "overlord", "--db", url)
    assert bad_role.returncode == 2 and "role" in bad_role.stderr
    bad_team = cli("admin", "create-user", "x", "--role", "viewer", "--team", "nope",
                   "--db", url)
    assert bad_team.returncode == 2 and "nope" in bad_team.stderr
    assert bad_team.stdout == ""
    bad_url = cli("server", "--db", "mysql://x/y", "--port", "1")
    assert bad_url.returncode == 2 and "--db" in bad_url.stderr
    assert "Traceback" not in bad_url.stderr
