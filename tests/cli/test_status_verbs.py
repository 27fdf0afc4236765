"""``incidenttui status-page`` and ``incidenttui maintenance`` as an operator runs them,
against a real ``incidenttui server`` subprocess: with the server stopped every change is
made in the store and queued (offline, through the one command path); when it returns one
``sync`` delivers them, and the public status page shows the result."""

from __future__ import annotations

import json

from apihelpers import API, create

from incidenttui.server.admin import save_service
from incidenttui.server.db import Database


def ok(result, *fragments: str) -> str:
    assert result.returncode == 0, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in result.stdout, (fragment, result.stdout)
    return result.stdout


def _publish(db_url: str) -> None:
    db = Database(db_url)
    try:
        with db.write() as session:
            save_service(session, "checkout", "Checkout", "service-desk", public=True)
            save_service(session, "storefront", "Storefront", "platform", public=True)
            save_service(session, "payments", "Payments", "payments-experts", public=True)
    finally:
        db.dispose()


def test_status_page_and_maintenance_verbs_offline_then_online(cli_server, make_cli, failure):
    _publish(cli_server.db_url)
    with cli_server.http() as http:
        incident = create(http, title="Checkout 502s (internal)", service="checkout",
                          impact=1, urgency=1)
    cli = make_cli(cli_server.base_url, cli_server.tokens["responder"])
    ok(cli("sync"))
    shown = json.loads(ok(cli("status-page", "show", "--json")))
    assert [c["id"] for c in shown["components"]] == ["checkout", "payments", "storefront"]

    cli_server.stop()
    try:
        ok(cli("status-page", "update", incident["ref"], "Some payments fail; we are on it.",
               "--component", "checkout=major outage"), "queued (offline")
        ok(cli("status-page", "set", "storefront", "degraded"), "queued (offline")
        ok(cli("maintenance", "create", "--service", "payments", "--for", "2h", "--reason",
               "Payment provider window"), "planned: queued (offline")
        listed = json.loads(ok(cli("maintenance", "list", "--json")))
        assert [(w["services"], w["state"], w["pending"]) for w in listed] == [
            (["payments"], "running", True)]
        assert "Unknown component state" in failure(cli("status-page", "set", "storefront",
                                                        "on fire"))
        assert "end after it starts" in failure(cli(
            "maintenance", "create", "--service", "payments", "--start", "+2h", "--end", "+1h"))
        assert "not on the status page" in failure(cli("status-page", "set", "search",
                                                       "degraded"))
    finally:
        cli_server.start()
    assert ok(cli("sync")).strip() == "synced; 0 pending, 0 conflicts"

    with cli_server.http() as http:
        page = http.get("/status.json").json()
        windows = http.get(f"{API}/maintenance").json()
    [item] = page["incidents"]
    assert [u["text"] for u in item["updates"]] == ["Some payments fail; we are on it."]
    states = {c["id"]: c["state"] for c in page["components"]}
    assert states == {"checkout": "major_outage", "storefront": "degraded",
                      "payments": "maintenance"}
    assert [w["services"] for w in windows] == [["payments"]]
    assert [w["reason"] for w in page["maintenance"]] == ["Payment provider window"]
    listed = json.loads(ok(cli("maintenance", "list", "--json")))
    assert [w["pending"] for w in listed] == [False]  # the feed brought the server's copy

    ok(cli("maintenance", "end", windows[0]["id"][:8]), "ended: sent")
    with cli_server.http() as http:
        assert http.get(f"{API}/maintenance").json() == []
    assert "no maintenance windows" in ok(cli("maintenance", "list"))
