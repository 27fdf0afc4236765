"""The audit log wired into the server: HTTP writes, member changes, alert ingestion and the
admin CLI each leave an entry (who, what, when, client, token) in their own transaction; a
refused write leaves none; ``incidenttui admin audit verify`` fails naming the first entry
someone altered, deleted or reordered in the SQLite file; ``export`` writes JSON lines that
verify offline."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from apihelpers import API, create, incident_body
from servers import cli

from incidenttui.server import audit
from incidenttui.server.audit import AuditEntry
from incidenttui.server.db import Database


def entries(server) -> list[AuditEntry]:
    with server.database.read() as session:
        from sqlmodel import col, select

        return list(session.exec(select(AuditEntry).order_by(col(AuditEntry.seq))).all())


def test_an_http_write_leaves_an_entry_naming_who_and_from_where(server) -> None:
    with server.client("responder", headers={"User-Agent": "itui-test/7"}) as rita:
        incident = create(rita)
        before = len(entries(server))
        note = rita.post(f"{API}/incidents/{incident['id']}/notes", json={"text": "hi"})
        assert note.status_code == 201
        refused = rita.post(f"{API}/incidents/{incident['id']}/resolve", json={})
        assert refused.status_code in (409, 422)
    after = entries(server)
    assert len(after) == before + 1  # the refused move left nothing
    entry = after[-1]
    assert (entry.actor, entry.action, entry.entity, entry.entity_id) == (
        server.users["responder"], "incident.note", "incident", incident["id"])
    assert entry.client is not None and "127.0.0.1" in entry.client
    assert "itui-test/7" in entry.client
    with server.database.read() as session:
        assert audit.verify(session).ok


def test_create_and_member_changes_are_audited(server) -> None:
    with server.client("admin") as adam:
        secret = adam.post(f"{API}/incidents", json=incident_body(category="security"))
        assert secret.status_code == 201
        incident_id = secret.json()["id"]
        assert adam.post(f"{API}/incidents/{incident_id}/members",
                         json={"user": server.users["viewer"]}).status_code == 200
        assert adam.delete(f"{API}/incidents/{incident_id}/members/"
                           f"{server.users['viewer']}").status_code == 200
    mine = [(e.action, e.detail) for e in entries(server) if e.entity_id == incident_id]
    assert [a for a, _d in mine] == ["incident.create", "incident.member_add",
                                     "incident.member_remove"]
    assert mine[1][1] == {"user": server.users["viewer"]}


def test_alert_ingestion_is_audited(server) -> None:
    with server.client("admin") as adam:
        made = adam.post(f"{API}/integrations", json={"service": "checkout", "kind": "events",
                                                      "name": "audit test"})
        assert made.status_code == 201, made.text
        key = made.json()["key"]
        sent = adam.post(f"{API}/events", json={
            "routing_key": key, "event_action": "trigger", "dedup_key": "audit-1",
            "payload": {"summary": "disk full", "source": "db-1", "severity": "critical"}})
        assert sent.status_code == 202, sent.text
    log = entries(server)
    created = [e for e in log if e.action == "integration.create"]
    assert created and created[-1].actor == server.users["admin"]
    alert = [e for e in log if e.action == "alert.create_incident"]
    assert alert and alert[-1].actor == "incidenttui"
    assert made.json()["id"] in (alert[-1].client or "")


# -- the admin CLI ------------------------------------------------------------------------


@pytest.fixture
def db_file(tmp_path: Path) -> tuple[str, Path]:
    path = tmp_path / "server.db"
    url = f"sqlite:///{path}"
    for args in (["create-team", "ops", "--name", "Ops"],
                 ["create-service", "shop", "--name", "Shop", "--team", "ops"],
                 ["create-user", "amy", "--role", "responder", "--team", "ops"],
                 ["create-user", "amy", "--role", "security"]):
        done = cli("admin", *args, "--db", url)
        assert done.returncode == 0, done.stderr
    return url, path


def raw(path: Path, statement: str) -> None:
    conn = sqlite3.connect(path)
    try:
        conn.executescript(statement)
        conn.commit()
    finally:
        conn.close()


def test_admin_changes_are_audited_and_verify(db_file) -> None:
    url, _path = db_file
    db = Database(url)
    try:
        with db.read() as session:
            from sqlmodel import col, select

            log = list(session.exec(select(AuditEntry).order_by(col(AuditEntry.seq))).all())
    finally:
        db.dispose()
    assert [e.action for e in log] == ["team.save", "service.save", "user.create",
                                       "token.issue", "user.update", "token.issue"]
    assert all(e.actor and e.actor.startswith("cli:") for e in log)
    assert log[4].detail["previous_role"] == "responder"
    done = cli("admin", "audit", "verify", "--db", url)
    assert done.returncode == 0, done.stderr
    assert "6 entries" in done.stdout


@pytest.mark.parametrize(("tamper", "named"), [
    ("UPDATE audit_log SET entity_id = 'other' WHERE seq = 3", "entry 3"),
    ("DELETE FROM audit_log WHERE seq = 2", "entry 2"),
    # reorder: entries 2 and 3 trade places (their seqs swapped)
    ("UPDATE audit_log SET seq = 1000 WHERE seq = 2; UPDATE audit_log SET seq = 2 WHERE seq = 3;"
     " UPDATE audit_log SET seq = 3 WHERE seq = 1000;", "entry 2"),
    ("DELETE FROM audit_log WHERE seq = 6", "entries 6"),
])
def test_verify_names_the_first_bad_entry(db_file, tamper: str, named: str) -> None:
    url, path = db_file
    raw(path, tamper)
    done = cli("admin", "audit", "verify", "--db", url)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "BROKEN" in done.stderr and named in done.stderr, done.stderr


def test_export_writes_json_lines_that_verify(db_file, tmp_path: Path) -> None:
    url, path = db_file
    out = tmp_path / "audit.jsonl"
    done = cli("admin", "audit", "export", str(out), "--db", url)
    assert done.returncode == 0, done.stderr
    lines = out.read_text().splitlines()
    assert len(lines) == 6 and json.loads(lines[0])["action"] == "team.save"
    assert cli("admin", "audit", "verify", "--file", str(out)).returncode == 0
    to_stdout = cli("admin", "audit", "export", "--db", url)
    assert to_stdout.stdout.splitlines() == lines
    # an export edited afterwards fails
    record = json.loads(lines[2])
    record["actor"] = "someone-else"
    lines[2] = json.dumps(record)
    out.write_text("\n".join(lines) + "\n")
    bad = cli("admin", "audit", "verify", "--file", str(out))
    assert bad.returncode == 1 and "entry 3" in bad.stderr
