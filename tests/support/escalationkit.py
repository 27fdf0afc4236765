"""Shared by the escalation and notification tests: a seeded database whose checkout
service has an escalation policy (1 min, then 2 min; P1 notices at once) over an on-call
schedule, and helpers to create incidents and read their escalation events."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest
import yaml
from servers import DATABASES, USERS, seed

from incidenttui.api.schemas import IncidentCreate
from incidenttui.domain.organisation import document
from incidenttui.server import service
from incidenttui.server.auth import authenticate_token
from incidenttui.server.db import Database
from incidenttui.server.organisation import apply, current, parse_text

RESPONDER = USERS["responder"]


def policy_doc(timeouts: tuple[int, ...] = (60, 120), repeat: int = 0,
               reescalate_after: int | None = 600) -> dict:
    doc = {"id": "checkout", "name": "Checkout", "repeat": repeat,
           "levels": [{"timeout": timeouts[0], "targets": ["schedule:primary"]},
                      *({"timeout": t, "targets": ["user:ray", "team:platform"]}
                        for t in timeouts[1:])],
           "notices": [{"priorities": [1], "after": 0}]}
    if reescalate_after is not None:
        doc["reescalate_after"] = reescalate_after
    return doc


def give_checkout_a_policy(db: Database, **policy) -> None:
    with db.write() as session:
        doc = document(current(session))
        doc["schedules"] = [{"id": "primary", "name": "Primary", "team": "service-desk",
                             "layers": [{"name": "daily", "users": ["rita"], "every": 1,
                                         "start": "2026-01-01", "handoff": "00:00"}]}]
        doc["policies"] = [policy_doc(**policy)]
        for item in doc["services"]:
            if item["id"] == "checkout":
                item["policy"] = "checkout"
        apply(session, parse_text(yaml.safe_dump(doc), "yaml"))


def give_service_policy(db: Database, service_id: str, policy_id: str | None) -> str:
    """Apply the organisation with ``service_id`` running ``policy_id`` (None: no policy);
    returns the report."""
    with db.write() as session:
        doc = document(current(session))
        for item in doc["services"]:
            if item["id"] == service_id:
                item.pop("policy", None)
                if policy_id is not None:
                    item["policy"] = policy_id
        return apply(session, parse_text(yaml.safe_dump(doc), "yaml")).report()


@pytest.fixture(name="escalation_db", params=DATABASES)
def _escalation_db(request, db_url):  # type: ignore[no-untyped-def]
    url = db_url(request.param)
    tokens = seed(url)
    database = Database(url)
    give_checkout_a_policy(database)
    database.tokens = tokens  # type: ignore[attr-defined]
    yield database
    database.dispose()


def write(db: Database, fn):  # type: ignore[no-untyped-def]
    user = authenticate_token(db, db.tokens["responder"])  # type: ignore[attr-defined]
    with db.write() as session:
        writer = service.Writer(session, user)
        result = fn(writer, session)
        writer.finish()
    return result


def create(db: Database, impact: int = 2, urgency: int = 2, svc: str = "checkout") -> str:
    def make(writer, _session):  # type: ignore[no-untyped-def]
        return writer.create(IncidentCreate(id=str(uuid.uuid4()), title="Checkout 502s",
                                            service=svc, category="availability",
                                            impact=impact, urgency=urgency)).id
    return write(db, make)


def escalations(db: Database, incident_id: str) -> list[dict]:
    with db.read() as session:
        return [e.model_dump() for e in service.timeline(session, incident_id)
                if e.kind == "escalation"]


def created_at(db: Database, incident_id: str) -> datetime:
    with db.read() as session:
        return service.find_incident(session, incident_id).created_at
