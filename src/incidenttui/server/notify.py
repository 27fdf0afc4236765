"""Outbound notifications: every escalation and management notice becomes a notification
record, delivered to the configured webhook (an HMAC-signed JSON body) and, where an SMTP
server is configured, by e-mail to the people on call.

Deliveries survive restarts: the records are a queue in the database, written in the same
transaction as the escalation that caused them. A :class:`Deliverer` in each server process
*claims* due records in a short transaction (``claimed_until``; ``SKIP LOCKED`` on
PostgreSQL), sends them outside any transaction, and records the outcome in another one — so a
slow receiver never holds a database lock, and a process that dies mid-send leaves a claim
that runs out and another process sends again. Each record is delivered **at least once**
and carries its id (``X-Incidenttui-Delivery``) for receivers to de-duplicate on. A failed
attempt is tried again with backoff (:data:`BACKOFF`), then marked failed; every attempt is
logged on the record (``attempts``, ``last_error``).

Webhook signature: ``X-Incidenttui-Signature: sha256=HEX`` where HEX is the HMAC-SHA256 of
``TIMESTAMP.BODY`` with the shared secret, and ``X-Incidenttui-Timestamp: TIMESTAMP`` (Unix
seconds), so a receiver can refuse replays. The secret comes from the environment
(``INCIDENTTUI_WEBHOOK_SECRET``), never from a file the server writes, and is never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import smtplib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

import httpx
from sqlalchemy import JSON, Column, Index, Text, or_
from sqlmodel import Field, Session, SQLModel, col, select

from incidenttui import __version__
from incidenttui.domain.refs import ref
from incidenttui.server.db import Database
from incidenttui.server.periodic import Periodic
from incidenttui.sqltypes import UTCDateTime, utcnow

log = logging.getLogger("incidenttui.server.notify")

#: Waits before the 2nd, 3rd, … attempt; after the last, the record is marked failed.
BACKOFF = (5, 30, 120, 600, 1800)
#: How long a claim holds a record before another process may send it again.
CLAIM_SECONDS = 60
#: The channel of a status page subscriber's webhook (its URL and secret are its own).
STATUS_CHANNEL = "status_webhook"
#: Records sent per round, and the timeout of one delivery.
BATCH = 20
TIMEOUT = 10.0
INTERVAL = 1.0


class Notification(SQLModel, table=True):
    """One message to send to one channel (``webhook`` or ``email``)."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_due", "state", "next_attempt_at"),)

    id: str = Field(primary_key=True, max_length=36)
    channel: str = Field(max_length=20)
    #: what the message is about (the timeline event it reports)
    incident_id: str = Field(max_length=36, index=True)
    event_id: str | None = Field(default=None, max_length=36)
    #: e-mail recipients; empty for a webhook (its URL is the server's setting)
    recipients: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    state: str = Field(default="pending", max_length=20)  # pending | delivered | failed
    attempts: int = 0
    last_error: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    next_attempt_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    claimed_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(),
                                                                          nullable=True))
    delivered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(),
                                                                         nullable=True))


@dataclass(frozen=True)
class Channels:
    """Where notifications go: a webhook URL (with its secret) and an SMTP server."""

    webhook_url: str | None = None
    webhook_secret: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "incidenttui@localhost"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Channels:
        """From ``INCIDENTTUI_WEBHOOK_URL`` / ``_SECRET`` and ``INCIDENTTUI_SMTP_HOST`` /
        ``_PORT`` / ``_FROM``; a bad value is logged and that channel left off."""
        env = dict(os.environ if env is None else env)
        url = env.get("INCIDENTTUI_WEBHOOK_URL") or None
        if url and not url.startswith(("http://", "https://")):
            log.error("INCIDENTTUI_WEBHOOK_URL must start with http:// or https://; the "
                      "webhook is off")
            url = None
        secret = env.get("INCIDENTTUI_WEBHOOK_SECRET") or None
        if url and not secret:
            log.warning("INCIDENTTUI_WEBHOOK_SECRET is not set: webhook bodies are unsigned")
        port_text = env.get("INCIDENTTUI_SMTP_PORT") or "25"
        port = int(port_text) if port_text.isdigit() and 0 < int(port_text) < 65536 else 0
        host = env.get("INCIDENTTUI_SMTP_HOST") or None
        if host and not port:
            log.error("INCIDENTTUI_SMTP_PORT=%r is not a port; e-mail is off", port_text)
            host = None
        return cls(url, secret, host, port or 25,
                   env.get("INCIDENTTUI_SMTP_FROM") or "incidenttui@localhost")

    @property
    def any(self) -> bool:
        return bool(self.webhook_url or self.smtp_host)


def queue(session: Session, channels: Channels, *, incident: Any, event_id: str,
          kind: str, text: str, people: list[str], now: datetime,
          extra: dict[str, Any] | None = None) -> None:
    """Queue the notifications of one escalation step or stakeholder update (in its
    transaction); ``extra`` adds keys to the payload (a stakeholder update's ``update``)."""
    if not channels.any:
        return
    payload = {"kind": kind, "text": text, "incident": {
        "id": incident.id, "number": incident.number, "ref": ref(incident.number, incident.series),
        "title": incident.title, "priority": incident.priority, "status": str(incident.status),
        "service": incident.service}, "on_call": people, "at": now.isoformat(),
        **(extra or {})}
    rows = []
    if channels.webhook_url:
        rows.append(("webhook", []))
    if channels.smtp_host and people:
        from incidenttui.server.models import User

        emails = [u.email for u in session.exec(select(User).where(
            col(User.id).in_(people))) if u.email]
        if emails:
            rows.append(("email", sorted(emails)))
    for channel, recipients in rows:
        session.add(Notification(id=str(uuid.uuid4()), channel=channel,
                                 incident_id=incident.id, event_id=event_id,
                                 recipients=recipients, payload=payload, created_at=now,
                                 next_attempt_at=now))


def queue_status_update(session: Session, *, incident_id: str, event_id: str,
                        public_incident: str, text: str, components: list[str],
                        now: datetime) -> int:
    """Queue a public update for every status page subscriber (in the update's transaction):
    only what the page shows (its public wording, time, component names and the incident's
    public id). Returns how many were queued."""
    from incidenttui.server.models import StatusSubscriber

    payload = {"kind": "status_update", "incident": public_incident, "update": event_id,
               "text": text, "components": components, "at": now.isoformat()}
    count = 0
    for subscriber in session.exec(select(StatusSubscriber)):
        session.add(Notification(id=str(uuid.uuid4()), channel=STATUS_CHANNEL,
                                 incident_id=incident_id, event_id=event_id,
                                 recipients=[subscriber.id], payload=payload,
                                 created_at=now, next_attempt_at=now))
        count += 1
    return count


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Incidenttui-Signature`` value of ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


class Deliverer(Periodic):
    """Sends due notifications every :data:`INTERVAL` seconds in a daemon thread (always
    started: status page subscribers have their own webhooks, no configured channel)."""

    name = "notify"
    stop_timeout = TIMEOUT + 5

    def __init__(self, db: Database, channels: Channels, interval: float = INTERVAL,
                 transport: httpx.BaseTransport | None = None) -> None:
        super().__init__(interval)
        self.db, self.channels = db, channels
        self._client = httpx.Client(timeout=TIMEOUT, transport=transport,
                                    headers={"User-Agent": f"incidenttui/{__version__}"})

    def stop(self) -> None:
        super().stop()
        self._client.close()

    def round(self) -> int:
        return self.deliver_due()

    def deliver_due(self, now: datetime | None = None) -> int:
        """Claim, send and record the due notifications; returns how many were tried."""
        claimed = self._claim(now or utcnow())
        for note in claimed:
            error = self._send(note)
            self._record(note.id, error, now or utcnow())
        return len(claimed)

    def _claim(self, now: datetime) -> list[Notification]:
        due = (col(Notification.state) == "pending", col(Notification.next_attempt_at) <= now,
               or_(col(Notification.claimed_until).is_(None),
                   col(Notification.claimed_until) <= now))
        with self.db.read() as session:  # the common case, nothing due: no write transaction
            if session.exec(select(Notification.id).where(*due).limit(1)).first() is None:
                return []
        with self.db.write() as session:
            query = (select(Notification).where(*due)
                     .order_by(col(Notification.next_attempt_at)).limit(BATCH))
            if self.db.is_postgres:
                query = query.with_for_update(skip_locked=True)
            rows = list(session.exec(query))
            for row in rows:
                row.claimed_until = now + timedelta(seconds=CLAIM_SECONDS)
                session.add(row)
            session.flush()
            for row in rows:
                session.expunge(row)
            return rows

    def _send(self, note: Notification) -> str | None:
        """Deliver ``note``; None when delivered, else why not (one line)."""
        try:
            if note.channel == "webhook":
                return self._webhook(note)
            if note.channel == STATUS_CHANNEL:
                return self._subscriber(note)
            return self._email(note)
        except Exception as exc:  # a network or protocol error: the next attempt may work
            return f"{type(exc).__name__}: {str(exc)[:300]}"

    def _subscriber(self, note: Notification) -> str | None:
        from incidenttui.server.models import StatusSubscriber

        with self.db.read() as session:
            subscriber = session.get(StatusSubscriber, note.recipients[0])
        if subscriber is None:
            return "the subscriber was removed"
        return self._post(subscriber.url, subscriber.secret, note)

    def _webhook(self, note: Notification) -> str | None:
        url = self.channels.webhook_url
        if url is None:
            return "no webhook is configured any more"
        return self._post(url, self.channels.webhook_secret, note)

    def _post(self, url: str, secret: str | None, note: Notification) -> str | None:
        """POST the note's payload to ``url``, signed with ``secret`` (when there is one)."""
        body = json.dumps({"id": note.id, **note.payload}, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "X-Incidenttui-Delivery": note.id}
        if secret:
            stamp = str(int(utcnow().timestamp()))
            headers["X-Incidenttui-Timestamp"] = stamp
            headers["X-Incidenttui-Signature"] = signature(secret, stamp, body)
        answer = self._client.post(url, content=body, headers=headers)
        if 200 <= answer.status_code < 300:
            return None
        return f"HTTP {answer.status_code} from the webhook"

    def _email(self, note: Notification) -> str | None:
        host = self.channels.smtp_host
        if host is None:
            return "no SMTP server is configured any more"
        payload = note.payload
        message = EmailMessage()
        message["From"] = self.channels.smtp_from
        message["To"] = ", ".join(note.recipients)
        incident = payload.get("incident", {})
        subject = f"[{incident.get('ref', '')} P{incident.get('priority', '?')}] " \
                  f"{incident.get('title', '')}"
        message["Subject"] = " ".join(subject.split())[:200]
        message["Message-ID"] = f"<{note.id}@incidenttui>"
        message.set_content(f"{payload.get('text', '')}\n\n"
                            f"On call: {', '.join(payload.get('on_call', [])) or 'nobody'}\n"
                            f"Delivery id: {note.id}\n")
        with smtplib.SMTP(host, self.channels.smtp_port, timeout=TIMEOUT) as smtp:
            smtp.send_message(message)
        return None

    def _record(self, note_id: str, error: str | None, now: datetime) -> None:
        with self.db.write() as session:
            row = session.get(Notification, note_id)
            if row is None:
                return
            row.attempts += 1
            row.claimed_until = None
            if error is None:
                row.state, row.delivered_at, row.last_error = "delivered", now, ""
            else:
                row.last_error = error
                if row.attempts > len(BACKOFF):
                    row.state = "failed"
                    log.error("notification %s (%s) failed for good after %d attempts: %s",
                              row.id, row.channel, row.attempts, error)
                else:
                    row.next_attempt_at = now + timedelta(seconds=BACKOFF[row.attempts - 1])
                    log.warning("notification %s (%s) attempt %d failed: %s", row.id,
                                row.channel, row.attempts, error)
            session.add(row)
