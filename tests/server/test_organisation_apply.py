"""Organisation as code on a real database (server/organisation.py, ``admin apply`` and
``admin export``): apply twice and nothing changes, the organisation round-trips through
export, people left out are deactivated (their tokens stop working), a team or service that
incidents still name is kept with the reason, and a bad file is refused in one line.
SQLite and PostgreSQL; the CLI on SQLite."""

from __future__ import annotations

import copy
import tomllib
import uuid
from pathlib import Path

import pytest
import yaml
from servers import DATABASES, cli
from sqlmodel import select

from incidenttui.api.schemas import IncidentCreate
from incidenttui.domain.organisation import Change, parse
from incidenttui.server.admin import create_user_with_token
from incidenttui.server.auth import authenticate_token
from incidenttui.server.db import Database
from incidenttui.server.models import Change as FeedChange
from incidenttui.server.models import User
from incidenttui.server.organisation import (
    OrganisationError,
    apply,
    current,
    export_text,
    parse_text,
)
from incidenttui.server.service import Writer, ensure_counters

DOC = {
    "teams": [{"id": "platform", "name": "Platform", "level": 1},
              {"id": "dba", "name": "DBAs", "level": 2}],
    "users": [{"id": "ana", "name": "Ana", "role": "admin", "team": "platform"},
              {"id": "ben", "name": "Ben", "role": "responder", "team": "platform"}],
    "services": [{"id": "checkout", "name": "Checkout", "team": "platform", "tier": 1,
                  "policy": "checkout"},
                 {"id": "search", "name": "Search", "team": "dba"}],
    "schedules": [{"id": "primary", "name": "Primary", "team": "platform",
                   "time_zone": "Europe/Berlin",
                   "layers": [{"name": "weekly", "users": ["ana", "ben"],
                               "start": "2026-03-02"}]}],
    "policies": [{"id": "checkout", "name": "Checkout", "repeat": 1,
                  "levels": [{"timeout": 60, "targets": ["schedule:primary"]},
                             {"timeout": 120, "targets": ["team:dba"]}]}],
}


@pytest.fixture(params=DATABASES)
def db(request, db_url):
    database = Database(db_url(request.param))
    database.migrate()
    yield database
    database.dispose()


def test_apply_twice_changes_nothing_and_export_round_trips(db):
    with db.write() as session:
        outcome = apply(session, parse(DOC))
    assert outcome.changed
    with db.write() as session:
        assert apply(session, parse(DOC)).steps == []
    with db.read() as session:
        assert current(session) == parse(DOC).sorted()
        for fmt in ("toml", "yaml"):
            assert parse_text(export_text(session, fmt), fmt) == parse(DOC).sorted()
        # Every client sees the directory changes on its next pull.
        fed = {c.entity_id for c in session.exec(select(FeedChange).where(
            FeedChange.entity.in_(["team", "user", "service"])))}  # type: ignore[attr-defined]
    assert {"platform", "dba", "ana", "ben", "checkout", "search"} <= fed


def test_people_left_out_are_deactivated_and_their_tokens_stop_working(db):
    with db.write() as session:
        _, token = create_user_with_token(session, "ben", "responder")
        apply(session, parse(DOC))
    assert authenticate_token(db, token) is not None  # applying kept ben's token
    fewer = copy.deepcopy(DOC)
    fewer["users"] = fewer["users"][:1]
    fewer["schedules"][0]["layers"][0]["users"] = ["ana"]
    with db.write() as session:
        outcome = apply(session, parse(fewer))
    assert [(s.change, s.id) for s, _ in outcome.steps] == [
        (Change.UPDATE, "primary"), (Change.DEACTIVATE, "ben")]
    assert authenticate_token(db, token) is None
    # Put back in the file: active again, with the same token.
    with db.write() as session:
        notes = dict((s.id, note) for s, note in apply(session, parse(DOC)).steps)
    assert notes["ben"] == "reactivated" and authenticate_token(db, token) is not None


def test_a_service_incidents_name_is_kept_and_one_nothing_names_is_removed(db):
    with db.write() as session:
        apply(session, parse(DOC))
        ensure_counters(session)
        ana = session.get(User, "ana")
        writer = Writer(session, ana)
        writer.create(IncidentCreate(id=str(uuid.uuid4()), title="Checkout down",
                                     service="checkout", category="availability", impact=1,
                                     urgency=1))
        writer.finish()
    left = copy.deepcopy(DOC)
    left["services"] = []
    left["policies"] = []
    with db.write() as session:
        steps = {s.id: (s.change, note) for s, note in apply(session, parse(left)).steps}
    assert steps["checkout"] == (Change.REMOVE, "kept: 1 incident(s) still name it")
    assert steps["search"] == (Change.REMOVE, "")
    with db.read() as session:
        assert [s.id for s in current(session).services] == ["checkout"]
        assert current(session).policies == ()


def test_the_last_admin_cannot_be_left_out(db):
    with db.write() as session:
        apply(session, parse(DOC))
    nobody = copy.deepcopy(DOC)
    nobody["users"][0]["role"] = "responder"
    with db.write() as session, pytest.raises(OrganisationError, match="no active admin"):
        apply(session, parse(nobody))


def test_the_cli_applies_exports_and_refuses_a_bad_file_in_one_line(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'org.db'}"
    toml_file = tmp_path / "org.yaml"
    toml_file.write_text(yaml.safe_dump(DOC))
    dry = cli("admin", "apply", str(toml_file), "--dry-run", "--db", url)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.startswith("dry run, nothing changed") and "create policy checkout" in \
        dry.stdout
    applied = cli("admin", "apply", str(toml_file), "--db", url)
    assert applied.returncode == 0 and "create team platform" in applied.stdout
    again = cli("admin", "apply", str(toml_file), "--db", url)
    assert again.stdout.strip() == "nothing to change: the server already matches the document"
    exported = tmp_path / "export.toml"
    assert cli("admin", "export", str(exported), "--db", url).returncode == 0
    assert parse(tomllib.loads(exported.read_text())) == parse(DOC).sorted()

    bad = tmp_path / "bad.toml"
    bad.write_text('[[teams]]\nid = "platform"\nname = "Platform"\nlevel = 9\n')
    refused = cli("admin", "apply", str(bad), "--db", url)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "teams[0].level" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    broken = tmp_path / "broken.toml"
    broken.write_text("[[teams]\n")
    assert "not valid TOML" in cli("admin", "apply", str(broken), "--db", url).stderr
    wrong = tmp_path / "org.txt"
    wrong.write_text("")
    assert ".toml, .yaml or .yml" in cli("admin", "apply", str(wrong), "--db", url).stderr


def test_public_components_are_declared_in_the_document(db):
    """``public = true`` puts a service on the status page; dropping it takes it off; its
    live state (set by responders) is not the document's business and is kept."""
    from incidenttui.server.models import Service

    doc = copy.deepcopy(DOC)
    doc["services"][0]["public"] = True
    with db.write() as session:
        apply(session, parse(doc))
        session.get(Service, "checkout").component_state = "degraded"
    with db.read() as session:
        assert (session.get(Service, "checkout").public, session.get(Service, "search").public
                ) == (True, False)
        assert "public = true" in export_text(session, "toml")
        fed = [c.data for c in session.exec(select(FeedChange).where(
            FeedChange.entity == "service", FeedChange.entity_id == "checkout"))]
    assert fed[-1]["public"] is True  # clients learn it through the feed
    with db.write() as session:
        outcome = apply(session, parse(DOC))
    assert [(s.section, s.id, s.fields) for s, _ in outcome.steps] == [
        ("services", "checkout", ("public",))]
    with db.read() as session:
        checkout = session.get(Service, "checkout")
        assert (checkout.public, checkout.component_state) == (False, "degraded")
