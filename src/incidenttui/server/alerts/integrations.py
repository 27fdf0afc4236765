"""Integrations: a monitoring source's key for one service (an Alertmanager webhook receiver
or an Events API v2 source), created, listed and revoked by admins (HTTP or the CLI)."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping

from sqlmodel import Session, col, select

from incidenttui.domain import Category, Refused
from incidenttui.server.alerts.severity import check_severity_map
from incidenttui.server.auth import hash_token
from incidenttui.server.models import Integration, Service
from incidenttui.server.service import NotFound
from incidenttui.sqltypes import utcnow

#: Integration kinds: an Alertmanager webhook receiver, or an Events API v2 source.
KINDS = ("alertmanager", "events")
KIND_LABELS = {"alertmanager": "Alertmanager", "events": "Events API"}


def new_integration_key() -> str:
    """A new integration key: 128 random bits as 32 hex characters, the length of a
    PagerDuty routing key, so Events v2 senders that check the length accept it."""
    return secrets.token_hex(16)


def create_integration(session: Session, *, service_id: str, kind: str, name: str | None = None,
                       auto_resolve: bool = True, category: str = Category.AVAILABILITY.value,
                       severity_map: Mapping[str, Mapping[str, int]] | None = None,
                       created_by: str | None = None) -> tuple[Integration, str]:
    """Create an integration; return it and its key (shown once: only the hash is kept).

    Raises :class:`Refused` naming the field for an unknown service, kind, category or
    severity, or an impact/urgency outside 1..3.
    """
    if kind not in KINDS:
        raise Refused(f"Unknown kind {kind!r}: use 'alertmanager' or 'events'.", "kind")
    if session.get(Service, service_id) is None:
        raise Refused(f"Unknown service {service_id!r}.", "service")
    if category not in {c.value for c in Category}:
        raise Refused(f"Unknown category {category!r}.", "category")
    mapping = check_severity_map(severity_map)
    key = new_integration_key()
    integration = Integration(
        id=str(uuid.uuid4()), name=(name or f"{KIND_LABELS[kind]} for {service_id}")[:200],
        service=service_id, kind=kind, key_hash=hash_token(key), auto_resolve=auto_resolve,
        category=category, severity_map=mapping, created_by=created_by, created_at=utcnow())
    session.add(integration)
    session.flush()
    return integration, key


def revoke_integration(session: Session, integration_id: str) -> Integration:
    """Revoke an integration's key (idempotent); raises :class:`NotFound`."""
    integration = session.get(Integration, integration_id)
    if integration is None:
        raise NotFound(f"no integration {integration_id!r}")
    if integration.revoked_at is None:
        integration.revoked_at = utcnow()
        session.add(integration)
        session.flush()
    return integration


def list_integrations(session: Session) -> list[Integration]:
    """Every integration, revoked ones included, oldest first."""
    return list(session.exec(select(Integration).order_by(col(Integration.created_at),
                                                          col(Integration.id))).all())
