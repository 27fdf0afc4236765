"""Outbound notifications (server/notify.py) against real receivers on loopback: a webhook
server that checks the HMAC signature and fails the first attempts, and an SMTP server
(aiosmtpd). Escalations queue them in their own transaction; deliveries are retried with
backoff, logged on the record, never repeated once delivered, and a claim left by a process
that died runs out so another sends it. SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from escalationkit import create, created_at, escalations
from pgcluster import free_port
from sqlmodel import select

from incidenttui.server import notify
from incidenttui.server.escalation import run_due
from incidenttui.server.models import User
from incidenttui.server.notify import Channels, Deliverer, Notification

SECRET = "s3cret-for-tests"


class Receiver(ThreadingHTTPServer):
    """A webhook receiver: answers 500 to the first ``fail`` requests, then 204."""

    def __init__(self, fail: int = 0) -> None:
        self.fail, self.bodies, self.headers_seen = fail, [], []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.headers_seen.append(dict(self.headers))
                receiver.bodies.append(body)
                status = 500 if len(receiver.bodies) <= receiver.fail else 204
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


@pytest.fixture
def receiver():
    server = Receiver(fail=2)
    yield server
    server.shutdown()


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


def notes(db) -> list[Notification]:  # type: ignore[no-untyped-def]
    with db.read() as session:
        return list(session.exec(select(Notification).order_by(Notification.created_at)))


def test_a_webhook_gets_each_escalation_signed_retried_and_only_once(escalation_db, receiver):
    db = escalation_db
    channels = Channels(webhook_url=receiver.url, webhook_secret=SECRET)
    incident = create(db, impact=1, urgency=1)  # a P1: the management notice at once
    t0 = created_at(db, incident)
    assert run_due(db, t0, channels=channels) == 1
    [queued] = notes(db)
    assert queued.channel == "webhook" and queued.state == "pending"
    assert queued.event_id == escalations(db, incident)[0]["id"]

    deliverer = Deliverer(db, channels)
    try:
        assert deliverer.deliver_due(t0) == 1  # the receiver answers 500
        assert deliverer.deliver_due(t0 + timedelta(seconds=1)) == 0  # backing off
        assert deliverer.deliver_due(t0 + timedelta(seconds=6)) == 1  # 500 again
        [row] = notes(db)
        assert (row.state, row.attempts, row.last_error) == ("pending", 2,
                                                             "HTTP 500 from the webhook")
        assert deliverer.deliver_due(t0 + timedelta(seconds=40)) == 1  # delivered
        assert deliverer.deliver_due(t0 + timedelta(hours=5)) == 0  # never again
    finally:
        deliverer.stop()
    [row] = notes(db)
    assert (row.state, row.attempts) == ("delivered", 3)
    assert len(receiver.bodies) == 3
    body, headers = receiver.bodies[-1], receiver.headers_seen[-1]
    payload = json.loads(body)
    assert payload["id"] == row.id == headers["X-Incidenttui-Delivery"]
    assert payload["kind"] == "notify" and payload["incident"]["priority"] == 1
    stamp = headers["X-Incidenttui-Timestamp"]
    expected = hmac.new(SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256)
    assert headers["X-Incidenttui-Signature"] == "sha256=" + expected.hexdigest()


def test_a_claim_left_by_a_dead_process_runs_out_and_another_sends_it(escalation_db, receiver):
    db = escalation_db
    receiver.fail = 0
    channels = Channels(webhook_url=receiver.url)
    incident = create(db, impact=1, urgency=1)
    t0 = created_at(db, incident)
    run_due(db, t0, channels=channels)
    first = Deliverer(db, channels)
    claimed = first._claim(t0)  # claimed, then the process "dies" before sending
    assert len(claimed) == 1
    second = Deliverer(db, channels)
    try:
        assert second.deliver_due(t0 + timedelta(seconds=10)) == 0  # still claimed
        assert second.deliver_due(t0 + timedelta(seconds=notify.CLAIM_SECONDS + 1)) == 1
    finally:
        first.stop()
        second.stop()
    assert len(receiver.bodies) == 1 and notes(db)[0].state == "delivered"


def test_the_people_on_call_get_an_email(escalation_db, smtp):
    db = escalation_db
    controller, inbox = smtp
    with db.write() as session:
        rita = session.get(User, "rita")
        rita.email = "rita@example.com"
        session.add(rita)
    channels = Channels(smtp_host="127.0.0.1", smtp_port=controller.port,
                        smtp_from="oncall@shop.example")
    incident = create(db)
    t0 = created_at(db, incident)
    # level 1 → 2 names user ray (no e-mail) and a team: nobody to mail; then policy ends
    assert run_due(db, t0 + timedelta(seconds=61), channels=channels) == 1
    assert notes(db) == []
    with db.write() as session:
        ray = session.get(User, "ray")
        ray.email = "ray@example.com"
        session.add(ray)
    other = create(db)
    assert run_due(db, created_at(db, other) + timedelta(seconds=61), channels=channels) == 1
    [mail] = notes(db)
    assert mail.channel == "email" and mail.recipients == ["ray@example.com"]
    deliverer = Deliverer(db, channels)
    try:
        assert deliverer.deliver_due(created_at(db, other) + timedelta(seconds=62)) == 1
    finally:
        deliverer.stop()
    [(rcpts, content)] = inbox.messages
    assert rcpts == ["ray@example.com"]
    text = content.decode()
    assert "Subject: [INC-" in text and "Not acknowledged within 1m at level 1" in text
    assert f"Delivery id: {mail.id}" in text


def test_channels_from_the_environment_refuse_bad_values():
    assert Channels.from_env({}).any is False
    assert Channels.from_env({"INCIDENTTUI_WEBHOOK_URL": "ftp://x"}).webhook_url is None
    assert Channels.from_env({"INCIDENTTUI_SMTP_HOST": "mail", "INCIDENTTUI_SMTP_PORT": "x"}
                             ).smtp_host is None
    ok = Channels.from_env({"INCIDENTTUI_WEBHOOK_URL": "https://hooks.example/x",
                            "INCIDENTTUI_WEBHOOK_SECRET": "k", "INCIDENTTUI_SMTP_HOST": "mail",
                            "INCIDENTTUI_SMTP_PORT": "2525"})
    assert (ok.webhook_url, ok.webhook_secret, ok.smtp_host, ok.smtp_port) == (
        "https://hooks.example/x", "k", "mail", 2525)
