"""Authentication by named tokens (``api_tokens``) over HTTP: several tokens per user, each
working on its own; an expired or revoked token fails at once, also on a second server process
on the same database; tokens issued before named tokens existed keep working (migration 0004);
every HTTP write's audit entry names the token it came through; the admin CLI lists, creates
and revokes tokens. SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from apihelpers import API, create
from servers import CliServer, cli
from sqlalchemy import text

from incidenttui.server import tokens
from incidenttui.server.audit import AuditEntry


def me(base_url: str, secret: str) -> int:
    return httpx.get(f"{base_url}{API}/me", headers={"Authorization": f"Bearer {secret}"},
                     timeout=10).status_code


def new_token(server, user: str = "rita", name: str = "laptop", **kwargs) -> tuple[str, str]:
    with server.database.write() as session:
        token, secret = tokens.create_token(session, user, f"{name}-{id(kwargs)}-"
                                            f"{datetime.now(UTC).timestamp()}", **kwargs)
        return token.id, secret


def test_several_tokens_per_user_each_work_and_are_revoked_alone(server) -> None:
    first_id, first = new_token(server, name="laptop")
    _second_id, second = new_token(server, name="jump-host")
    assert me(server.base_url, first) == me(server.base_url, second) == 200
    assert me(server.base_url, server.tokens["responder"]) == 200  # the default one too
    with server.database.write() as session:
        tokens.revoke_token(session, first_id)
    assert me(server.base_url, first) == 401
    assert me(server.base_url, second) == 200
    assert me(server.base_url, server.tokens["responder"]) == 200


def test_an_expired_token_fails_at_once(server) -> None:
    token_id, secret = new_token(server, expires_at=datetime.now(UTC) + timedelta(hours=1))
    assert me(server.base_url, secret) == 200
    with server.database.write() as session:  # an hour passes
        session.execute(text("UPDATE api_tokens SET expires_at = :t WHERE id = :i"),
                        {"t": (datetime.now(UTC) - timedelta(seconds=1)).replace(tzinfo=None),
                         "i": token_id})
    with httpx.Client(base_url=server.base_url,
                      headers={"Authorization": f"Bearer {secret}"}) as client:
        answer = client.get(f"{API}/me")
    assert answer.status_code == 401
    assert "expired" in answer.json()["detail"]


def test_an_inactive_user_fails_whatever_token(server) -> None:
    _token_id, secret = new_token(server, user="ray")
    assert me(server.base_url, secret) == 200
    server.set_active("ray", False)
    try:
        assert me(server.base_url, secret) == 401
    finally:
        server.set_active("ray", True)


def test_a_write_is_audited_with_its_token(server) -> None:
    token_id, secret = new_token(server, name="ci-bot")
    with httpx.Client(base_url=server.base_url,
                      headers={"Authorization": f"Bearer {secret}"}) as client:
        incident = create(client)
    with server.database.read() as session:
        from sqlmodel import col, select

        entry = session.exec(select(AuditEntry).where(
            col(AuditEntry.entity_id) == incident["id"])).one()
    assert (entry.action, entry.actor, entry.token_id) == ("incident.create", "rita", token_id)
    assert entry.token_name and entry.token_name.startswith("ci-bot")


def test_revoked_on_one_server_fails_on_another_process_at_once(server) -> None:
    """Two server processes on one database (replicas): a token revoked through one (here: the
    admin CLI writing the database) fails on both at the next request."""
    other = CliServer(server.db_url).start()
    try:
        token_id, secret = new_token(server, name="replica")
        assert me(server.base_url, secret) == me(other.base_url, secret) == 200
        done = cli("admin", "tokens", "revoke", token_id, "--db", server.db_url)
        assert done.returncode == 0, done.stderr
        assert me(other.base_url, secret) == 401
        assert me(server.base_url, secret) == 401
    finally:
        other.cleanup()


# -- tokens from before named tokens ------------------------------------------------------


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres",
                                                         marks=pytest.mark.postgres)])
def test_tokens_from_before_the_migration_keep_working(kind, db_url) -> None:
    from incidenttui.server.auth import authenticate_token, hash_token, new_token
    from incidenttui.server.db import Database
    from incidenttui.server.migrate import upgrade

    url = db_url(kind)
    db = Database(url)
    try:
        upgrade(db.write_engine, "0003")
        secret = new_token()
        with db.write_engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO users (id, display_name, role, active, created_at, token_hash) "
                "VALUES ('olga', 'Olga', 'responder', true, :t, :h)"),
                {"t": datetime.now(UTC).replace(tzinfo=None), "h": hash_token(secret)})
        db.migrate()
        user = authenticate_token(db, secret)
        assert user is not None and user.id == "olga"
        with db.read() as session:
            [token] = tokens.list_tokens(session, "olga")
        assert token.name == "default" and token.revoked_at is None
    finally:
        db.dispose()


# -- the admin CLI ------------------------------------------------------------------------


def test_admin_tokens_create_list_revoke(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'server.db'}"
    assert cli("admin", "create-user", "amy", "--role", "responder", "--db", url
               ).returncode == 0
    made = cli("admin", "tokens", "create", "amy", "--name", "laptop", "--expires", "30d",
               "--db", url)
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip()
    assert secret.startswith("itui_") and secret not in made.stderr
    token_id = re.search(r"token ([0-9a-f-]{36})", made.stderr).group(1)  # type: ignore[union-attr]
    listed = cli("admin", "tokens", "list", "--user", "amy", "--db", url)
    assert listed.returncode == 0, listed.stderr
    assert secret not in listed.stdout
    lines = listed.stdout.splitlines()
    assert any(token_id in line and "laptop" in line and "active" in line for line in lines)
    assert any("default" in line for line in lines)
    assert cli("admin", "tokens", "revoke", token_id, "--db", url).returncode == 0
    listed = cli("admin", "tokens", "list", "--db", url).stdout
    assert any(token_id in line and "revoked" in line for line in listed.splitlines())
    refused = cli("admin", "tokens", "create", "nobody", "--name", "x", "--db", url)
    assert refused.returncode == 2 and "no active user" in refused.stderr
    bad = cli("admin", "tokens", "create", "amy", "--name", "x", "--expires", "soon",
              "--db", url)
    assert bad.returncode == 2 and "--expires" in bad.stderr
    missing = cli("admin", "tokens", "revoke", "no-such-token", "--db", url)
    assert missing.returncode == 1 and "no token" in missing.stderr
    audit_log = cli("admin", "audit", "export", "--db", url).stdout
    assert '"action":"token.create"' in audit_log and '"action":"token.revoke"' in audit_log
