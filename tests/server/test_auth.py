"""Bearer tokens and roles: 401 without or with a bad token, 403 for a viewer writing."""

from __future__ import annotations

import uuid

import httpx
import pytest
from apihelpers import API, assert_error, create, get, incident_body


@pytest.fixture(scope="module")
def incident(server):
    with server.client() as client:
        return create(client)


def writes(incident_id: str) -> list[tuple[str, str, dict | None]]:
    url = f"{API}/incidents/{incident_id}"
    return [
        ("POST", f"{API}/incidents", incident_body()),
        ("PATCH", url, {"base_version": 1, "title": "x"}),
        ("POST", f"{url}/acknowledge", None),
        ("POST", f"{url}/cancel", None),
        ("POST", f"{url}/escalate", {"to_team": "platform", "reason": "r"}),
        ("POST", f"{url}/notes", {"text": "n"}),
        ("POST", f"{url}/links", {"kind": "related", "target": incident_id}),
    ]


def reads(incident_id: str) -> list[str]:
    return [f"{API}/incidents", f"{API}/incidents/{incident_id}",
            f"{API}/incidents/{incident_id}/timeline", f"{API}/changes", f"{API}/me",
            f"{API}/teams", f"{API}/users", f"{API}/services"]


BAD_AUTH = [
    None,
    "Bearer itui_not-a-real-token",
    "Bearer",
    "Bearer " + "x" * 500,
    "Basic dml2YTpzZWNyZXQ=",
    "itui_no-scheme",
    ("Bearer itui_" + "ü" * 10).encode("latin-1"),  # not ASCII
    b"Bearer \xff\xfe",
]


@pytest.mark.parametrize("authorization", BAD_AUTH)
def test_401_without_or_with_a_bad_token(server, incident, authorization):
    headers = {"Authorization": authorization} if authorization is not None else {}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as anon:
        for path in reads(incident["id"]):
            r = anon.get(path)
            assert_error(r, 401)
            assert r.headers["WWW-Authenticate"] == "Bearer"
        for method, path, body in writes(incident["id"]):
            r = anon.request(method, path, json=body)
            assert_error(r, 401)
    with server.client() as client:
        assert get(client, incident["id"])["version"] == incident["version"]


def test_auth_comes_before_input_validation(server):
    with server.client(None) as anon:
        assert_error(anon.post(f"{API}/incidents", json={"bogus": True}), 401)
    with server.client("viewer") as viewer:
        assert_error(viewer.post(f"{API}/incidents", json={"bogus": True}), 403)


def test_a_deactivated_user_is_401(server):
    with server.client("other") as other:
        assert other.get(f"{API}/me").status_code == 200
        server.set_active("ray", False)
        try:
            assert_error(other.get(f"{API}/me"), 401)
        finally:
            server.set_active("ray", True)
        assert other.get(f"{API}/me").status_code == 200


def test_a_viewer_may_read_but_not_write(server, incident):
    with server.client("viewer") as viewer:
        for path in reads(incident["id"]):
            assert viewer.get(path).status_code == 200, path
        me = viewer.get(f"{API}/me").json()
        assert me["user"]["role"] == "viewer"
        for method, path, body in writes(incident["id"]):
            r = viewer.request(method, path, json=body,
                               headers={"Idempotency-Key": str(uuid.uuid4())})
            assert_error(r, 403, contains="viewer")
    with server.client() as client:
        after = get(client, incident["id"])
        assert after["version"] == incident["version"] and len(after["timeline"]) == 1


@pytest.mark.parametrize("role", ["responder", "commander", "admin"])
def test_responders_commanders_and_admins_may_write(server, role):
    with server.client(role) as client:
        created = client.post(f"{API}/incidents", json=incident_body())
        assert created.status_code == 201, created.text
        assert created.json()["reporter"] == server.users[role]
        r = client.post(f"{API}/incidents/{created.json()['id']}/acknowledge")
        assert r.status_code == 200, r.text


def test_service_endpoints_need_no_token(server):
    with server.client(None) as anon:
        for path in ("/healthz", "/metrics", "/openapi.json"):
            assert anon.get(path).status_code == 200, path


def test_directory_reads(server):
    with server.client("viewer") as viewer:
        users = {u["id"]: u for u in viewer.get(f"{API}/users").json()}
        assert {u: users[u]["role"] for u in server.users.values()} == {
            v: k for k, v in server.users.items()}
        assert all("token" not in key for u in users.values() for key in u)
        teams = {t["id"]: t for t in viewer.get(f"{API}/teams").json()}
        assert teams["platform"]["level"] == 2 and teams["security"]["level"] == 3
        services = {s["id"]: s for s in viewer.get(f"{API}/services").json()}
        assert services["payments"]["team_id"] == "payments-experts"


def test_a_revoked_or_reissued_token_fails_at_once_on_every_replica(server):
    """Tokens are read from the database on every request (no cache in any process), so a
    change made through one replica, or straight in the database, holds on all of them."""
    from servers import ThreadedServer

    from incidenttui.server.admin import create_user_with_token

    replica = ThreadedServer(server.db_url).start()
    old = server.tokens["other"]
    try:
        urls = (server.base_url, replica.base_url)

        def me(token: str) -> list[int]:
            return [httpx.get(f"{url}{API}/me", headers={"Authorization": f"Bearer {token}"},
                              timeout=30).status_code for url in urls]

        assert me(old) == [200, 200]
        server.set_active("ray", False)
        try:
            assert me(old) == [401, 401]
        finally:
            server.set_active("ray", True)
        assert me(old) == [200, 200]
        with server.database.write() as session:
            _, new = create_user_with_token(session, "ray", "responder")
        try:
            assert me(old) == [401, 401]
            assert me(new) == [200, 200]
        finally:  # give the module's other tests their token back
            with server.database.write() as session:
                from sqlmodel import select

                from incidenttui.server.auth import hash_token
                from incidenttui.server.tokens import ApiToken

                token = session.exec(select(ApiToken).where(
                    ApiToken.token_hash == hash_token(old))).one()
                token.revoked_at = None
                session.add(token)
        assert me(old) == [200, 200]
    finally:
        replica.stop()
