"""A real server for the status page tests, with public components and private data that
must never reach the page: internal titles, notes, names, restricted incidents and an
internal stakeholder update (a ``status_update`` event marked not public)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from apihelpers import incident_body
from servers import USERS, LiveServer, ThreadedServer, seed

API = "/api/v1"
#: Words that appear only in private places; none may ever be on the status page.
SECRET_TITLE = "Primary DB failover secret-title-7731"
SECRET_NOTE = "root password rotated secret-note-4420"
SECRET_STAKEHOLDER = "Board told revenue loss secret-internal-9911"
RESTRICTED_TITLE = "Leaked API key secret-restricted-5150"
RESTRICTED_PUBLIC = "secret-restricted-public-6262"
PRIVATE = (SECRET_TITLE, SECRET_NOTE, SECRET_STAKEHOLDER, RESTRICTED_TITLE, RESTRICTED_PUBLIC,
           "secret-", "INC-", "Search")
#: Who works the incidents (as whole words: "vera" is inside "overall").
NAMES = re.compile(r"\b(" + "|".join(map(re.escape, USERS.values())) + r")\b")


@dataclass
class StatusServer:
    live: LiveServer
    app: Any
    incident: dict[str, Any]  # the public P1 (nothing published about it yet)
    restricted: dict[str, Any]

    def client(self, role: str | None = "responder") -> httpx.Client:
        return self.live.client(role)


def _publish_components(live: LiveServer) -> None:
    from incidenttui.server.admin import save_service

    with live.database.write() as session:
        save_service(session, "checkout", "Checkout", "service-desk", public=True)
        save_service(session, "payments", "Payments", "payments-experts", public=True)
        save_service(session, "storefront", "Storefront", "platform", public=True)
        # "search" stays private: it must not appear


@contextmanager
def status_server(db_url: str) -> Iterator[StatusServer]:
    """A seeded SQLite server (in this process) with the status page's test data."""
    from incidenttui.server.models import TimelineEvent
    from incidenttui.sqltypes import utcnow

    tokens = seed(db_url)
    running = ThreadedServer(db_url).start()
    # The tests send notification rounds themselves (Deliverer.deliver_due), to a loopback
    # receiver: the app's own deliverer would race them.
    running.app.state.deliverer.stop()
    live = LiveServer(kind="sqlite", db_url=db_url, base_url=running.base_url, tokens=tokens)
    try:
        _publish_components(live)
        with live.client("responder") as client:
            p1 = client.post(f"{API}/incidents", json=incident_body(
                title=SECRET_TITLE, impact=1, urgency=1, service="checkout",
                description=SECRET_NOTE)).json()
            client.post(f"{API}/incidents/{p1['id']}/notes", json={"text": SECRET_NOTE})
        with live.client("admin") as client:
            restricted = client.post(f"{API}/incidents", json=incident_body(
                title=RESTRICTED_TITLE, category="security", service="storefront",
                impact=1, urgency=1)).json()
        with live.database.write() as session:
            # an internal stakeholder update (the commander's kind, public false) and one
            # marked public on a restricted incident (it must not show either)
            for incident_id, data in (
                    (p1["id"], {"public": False, "public_text": SECRET_STAKEHOLDER,
                                "state": "investigating", "impact": SECRET_STAKEHOLDER}),
                    (restricted["id"], {"public": True, "public_text": RESTRICTED_PUBLIC})):
                session.add(TimelineEvent(id=str(uuid.uuid4()), incident_id=incident_id,
                                          at=utcnow(), kind="status_update", actor="cora",
                                          text=SECRET_STAKEHOLDER, data=data))
        yield StatusServer(live, running.app, p1, restricted)
    finally:
        live.close()
        running.stop()


def assert_nothing_private(text: str) -> None:
    """None of the private words (titles, notes, names, refs) is in ``text``."""
    found = [word for word in PRIVATE if word in text] + NAMES.findall(text)
    assert not found, f"private text on the status page: {found}"
