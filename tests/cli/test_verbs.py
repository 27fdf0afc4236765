"""The scripting verbs as an operator runs them (``python -m incidenttui ...``) against a
real ``incidenttui server`` subprocess: reads from the store, writes through the outbox; with
the server stopped they still work and queue; when it returns, ``sync`` delivers every change
exactly once."""

from __future__ import annotations

import json
import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from apihelpers import API, create, get

from incidenttui.store import Store, store_path_for
from incidenttui.store.store import INCIDENT_COLUMNS

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
TIMES = ("created_at", "updated_at", "detected_at", "started_at", "acknowledged_at",
         "resolved_at", "closed_at", "on_hold_since", "sla_due_at")
SAME_AS_SERVER = ("id", "number", "title", "description", "service", "category", "impact",
                  "urgency", "priority", "status", "team", "assignee", "escalation_level",
                  "management_engaged", "major", "reporter", "hold_seconds", "reopen_count",
                  "resolution_code", "resolution_note", "version", "field_versions")


def ok(result, *fragments: str) -> str:
    assert result.returncode == 0, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in result.stdout, (fragment, result.stdout)
    return result.stdout


def same_time(ours: str | None, theirs: str | None) -> bool:
    if ours is None or theirs is None:
        return ours is theirs
    return datetime.fromisoformat(ours.replace("Z", "+00:00")) == datetime.fromisoformat(
        theirs.replace("Z", "+00:00"))


def check_json_incident(data: dict[str, Any], remote: dict[str, Any]) -> None:
    """Every field, ISO-8601 UTC times ending in Z, equal to the server's."""
    assert set(data) >= {*INCIDENT_COLUMNS, "ref", "priority_label", "pending_changes"}
    for name in TIMES:
        assert data[name] is None or ISO_Z.match(data[name]), (name, data[name])
        if name in remote:
            assert same_time(data[name], remote[name]), name
    for name in SAME_AS_SERVER:
        assert data[name] == remote[name], name
    assert data["ref"] == remote["ref"] and data["priority_label"] == f"P{remote['priority']}"
    assert data["links"] == remote["links"] and data["pending_changes"] == 0


def server_counts(http, incident_id: str) -> Counter:
    detail = get(http, incident_id)
    return Counter((e["kind"], e["data"].get("action") or e["text"])
                   for e in detail["timeline"])


WRITES = [
    ("ack", "{ref}"),
    ("note", "{ref}", "customers see 502 at the payment step"),
    ("assign", "{ref}", "--team", "platform", "--user", "ray"),
    ("escalate", "{ref}", "--to", "network", "--reason", "packet loss at the edge"),
    ("escalate", "{ref}", "--hierarchical", "--reason", "revenue impact"),
    ("resolve", "{ref}", "--code", "rollback", "--note", "rolled back release 412"),
    ("close", "{ref}"),
]


def writes_for(ref: str) -> list[tuple[str, ...]]:
    return [tuple(part.format(ref=ref) for part in verb) for verb in WRITES]


def check_all_writes_arrived_once(http, incident_id: str) -> None:
    detail = get(http, incident_id)
    assert (detail["status"], detail["team"], detail["escalation_level"],
            detail["management_engaged"], detail["resolution_code"]) == (
        "closed", "network", 2, True, "rollback")
    kinds = Counter(e["kind"] for e in detail["timeline"])
    assert kinds == Counter({"created": 1, "status": 3, "note": 1, "assignment": 1,
                             "escalation": 2})
    actions = [e["data"]["action"] for e in detail["timeline"] if e["kind"] == "status"]
    assert actions == ["acknowledge", "resolve", "close"]
    notes = [e["text"] for e in detail["timeline"] if e["kind"] == "note"]
    assert notes == ["customers see 502 at the payment step"]


def test_verbs_online_then_offline_then_catch_up(cli_server, make_cli, failure):
    """One operator's day: every verb with the server up; the server stops and every verb
    still works, queued; it returns and one `sync` delivers everything exactly once."""
    with cli_server.http() as http:
        x = create(http, title="Checkout 502s", service="checkout", impact=1, urgency=1,
                   description="payment step\nfails")
        y = create(http, title="Search lag", service="search")
        http.post(f"{API}/incidents/{y['id']}/notes", json={"text": "indexer restarted"})
        p = create(http, title="Payment gateway timeouts", service="payments", impact=1,
                   urgency=2)
        q = create(http, title="Storefront DDoS", service="storefront")
    cli = make_cli(cli_server.base_url, cli_server.tokens["responder"])
    assert ok(cli("sync")).strip() == "synced; 0 pending, 0 conflicts"
    online(cli, cli_server, x, y, failure)
    offline_then_catch_up(cli, cli_server, p, q)
    # INCIDENTTUI_TOKEN was used throughout: it is in no file and no output.
    token = cli_server.tokens["responder"]
    assert not [f for f in cli.data_dir.rglob("*") if f.is_file()
                and token.encode() in f.read_bytes()]
    assert any(cli.data_dir.glob("stores/*.db"))
    assert not [r for r in cli.runs if token in r.stdout + r.stderr]


def online(cli, cli_server, x: dict[str, Any], y: dict[str, Any], failure) -> None:
    """Reads from the store; every write verb sent at once; a conflict listed and settled."""
    listed, by_number, by_uuid, human, unknown, illegal = cli.many(
        ("list", "--json"), ("show", x["ref"], "--json"), ("show", x["id"], "--json"),
        ("show", x["ref"].lower()), ("show", "INC-999999"), ("close", y["ref"]))
    # Bad input: one readable line on stderr, a non-zero exit, no traceback, nothing queued.
    assert "no incident 'INC-999999'" in failure(unknown, 1)
    assert "refused: Cannot close an incident that is new" in failure(illegal, 1)
    with cli_server.http() as http:
        remote = {i: get(http, i) for i in (x["id"], y["id"])}
    rows = {r["id"]: r for r in json.loads(ok(listed))}
    for incident_id, detail in remote.items():
        check_json_incident(rows[incident_id], detail)
    shown = json.loads(ok(by_number))
    assert shown == json.loads(ok(by_uuid))
    check_json_incident(shown, remote[x["id"]])
    assert [e["id"] for e in shown["timeline"]] == [e["id"] for e in remote[x["id"]]["timeline"]]
    assert all(ISO_Z.match(e["at"]) for e in shown["timeline"])
    assert x["ref"] in ok(human) and "Checkout 502s" in human.stdout

    for verb in writes_for(x["ref"]):
        out = ok(cli(*verb), "sent")
        assert out.startswith(x["ref"])

    # Someone else moves Y to another team; our stale assign of Y becomes a conflict (exit
    # 4), listed by `conflicts --json` and settled with --take-theirs.
    with cli_server.http("other") as http:
        assert http.patch(f"{API}/incidents/{y['id']}", json={
            "base_version": 2, "team": "network"}).status_code == 200
    assigned = cli("assign", y["ref"], "--team", "platform")
    listed = cli("conflicts", "--json")
    settled = cli("conflicts", "--take-theirs", str(json.loads(ok(listed))[0]["id"]))
    assert assigned.returncode == 4, (assigned.stdout, assigned.stderr)
    assert "the server did not apply it" in assigned.stdout
    (conflict,) = json.loads(ok(listed))
    assert (conflict["incident_id"], conflict["field"], conflict["mine"], conflict["theirs"]) \
        == (y["id"], "team", "platform", "network")
    assert ISO_Z.match(conflict["at"]) and conflict["their_version"] == 3
    assert f"conflict #{conflict['id']} settled" in ok(settled)
    with cli_server.http() as http:
        check_all_writes_arrived_once(http, x["id"])
        assert get(http, y["id"])["team"] == "network"
    closed = cli("list", "--status", "closed", "--search", "checkout", "--json")
    (data,) = [r for r in json.loads(ok(closed)) if r["id"] == x["id"]]
    assert (data["status"], data["pending_changes"], data["team"]) == ("closed", 0, "network")
    assert ISO_Z.match(data["closed_at"]) and ISO_Z.match(data["resolved_at"])


def offline_then_catch_up(cli, cli_server, p: dict[str, Any], q: dict[str, Any]) -> None:
    """The server stops: reads and every write verb still work and queue; `sync` exits 3;
    the server returns: `sync` exits 0 and the server has every change exactly once."""
    cli_server.stop()
    try:
        listed, shown = cli.many(("list", "--json"), ("show", p["ref"], "--json"))
        assert {p["id"], q["id"]} <= {r["id"] for r in json.loads(ok(listed))}
        assert json.loads(ok(shown))["status"] == "new"
        # Every verb works from the store and queues. Q and an offline create run beside
        # P's sequence: three processes on one store at once.
        with ThreadPoolExecutor(2) as pool:
            side = pool.submit(lambda: [
                cli("note", q["ref"], "WAF rule deployed"), cli("ack", q["ref"]),
                cli("create", "--title", "Made offline", "--service", "checkout",
                    "--impact", "2", "--urgency", "2")])
            for verb in writes_for(p["ref"]):
                out = ok(cli(*verb), "queued")
                assert out.startswith(p["ref"])
            for result in side.result():
                ok(result, "queued")
        assert side.result()[2].stdout.startswith("INC-pending new: queued")
        data = json.loads(ok(cli("show", p["id"], "--json")))
        assert (data["status"], data["pending_changes"]) == ("closed", 7)
        assert data["ref"] == p["ref"] and ISO_Z.match(data["closed_at"])
        pending = [e for e in data["timeline"] if e["pending"]]
        assert Counter(e["kind"] for e in pending) == Counter(
            {"status": 3, "note": 1, "assignment": 1, "escalation": 2})
        result = cli("sync")
        assert result.returncode == 3, (result.stdout, result.stderr)
        assert "not synced" in result.stdout and "10 pending" in result.stdout
        assert "Traceback" not in result.stderr
    finally:
        cli_server.start()

    assert ok(cli("sync")).strip() == "synced; 0 pending, 0 conflicts"
    with cli_server.http() as http:
        check_all_writes_arrived_once(http, p["id"])
        detail = get(http, q["id"])
        assert detail["status"] == "acknowledged"
        assert [e["text"] for e in detail["timeline"] if e["kind"] == "note"] == [
            "WAF rule deployed"]
        made = [i for i in http.get(f"{API}/incidents", params={"limit": 500}).json()["items"]
                if i["title"] == "Made offline"]
        assert len(made) == 1
        assert server_counts(http, made[0]["id"]) == Counter({("created", "Made offline"): 1})
    # The incident made offline kept its UUID and now has the server's number.
    store = Store(cli.data_dir / "stores" / store_path_for(cli_server.base_url).name)
    try:
        local = store.get(made[0]["id"])
        assert (local.number, local.pending) == (made[0]["number"], 0)
        assert store.get(made[0]["ref"]).id == made[0]["id"]
        assert store.outbox() == [] and store.integrity_check() == "ok"
    finally:
        store.close()


BAD_INPUT = {
    "unknown uuid": (("ack", "7d0c3f0e-1111-4222-8333-944445555666"), 1, "no incident"),
    "junk id": (("show", "not-an-id"), 1, "no incident 'not-an-id'"),
    "resolve a new incident": (("resolve", "{ref}", "--code", "fixed", "--note", "x"), 1,
                               "acknowledge a new incident before resolving"),
    "escalate without a reason": (("escalate", "{ref}", "--to", "network", "--reason", " "),
                                  1, "reason is required"),
    "empty note": (("note", "{ref}", "   "), 1, "cannot be empty"),
    "functional escalation without --to": (("escalate", "{ref}", "--reason", "x"), 2,
                                           "needs --to TEAM"),
    "a non-http server": (("list", "--server", "ftp://example.org"), 2,
                          "must start with http"),
    "reopen a new incident": (("reopen", "{ref}"), 1, "only a resolved incident"),
    "settle a conflict that is not there": (("conflicts", "--take-theirs", "42"), 1,
                                            "already settled"),
}


def test_more_bad_input_in_process(tmp_path, monkeypatch, capsys):
    """The same entry point in this process (quick): each refusal is one line, no trace."""
    from incidenttui.cli import main
    from incidenttui.store import CreateIncident

    monkeypatch.setenv("INCIDENTTUI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("INCIDENTTUI_SERVER", "http://127.0.0.1:9")
    store = Store.for_server("http://127.0.0.1:9")
    made = store.execute(CreateIncident.new(title="Fresh", service="checkout"))
    store.close()
    for name, (args, code, fragment) in BAD_INPUT.items():
        argv = [a.format(ref=made.id) for a in args]
        assert main([*argv, "--no-sync"] if argv[0] in ("resolve", "escalate", "note",
                                                        "reopen") else argv) == code, name
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("incidenttui: "), (name, err)
        assert fragment in err, (name, err)
    monkeypatch.delenv("INCIDENTTUI_SERVER")
    assert main(["list"]) == 2
    assert "no server configured" in capsys.readouterr().err
    store = Store.for_server("http://127.0.0.1:9")
    assert len(store.outbox()) == 1  # only the create
    store.close()


def test_a_store_from_a_newer_incidenttui_is_one_readable_line(make_cli, failure):
    import sqlite3

    url = "http://127.0.0.1:9"
    cli = make_cli(url, "tok")
    path = cli.data_dir / "stores" / store_path_for(url).name
    Store(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version=99")
    assert "newer incidenttui" in failure(cli("list"), 1)


VERBS = ["login", "list", "show", "ack", "start", "hold", "resume", "close", "reopen",
         "cancel", "note", "assign", "escalate", "resolve", "create", "sync", "conflicts"]


def test_help_on_each_verb(make_cli):
    cli = make_cli(None, None)
    results = cli.many(("--help",), *((verb, "--help") for verb in VERBS))
    top = ok(results[0])
    for verb, result in zip(VERBS, results[1:], strict=True):
        text = ok(result, "usage: incidenttui")
        assert verb in top
        assert f"incidenttui {verb}" in text and "--server" in text
    assert "--json" in results[1 + VERBS.index("list")].stdout
    assert "--hierarchical" in results[1 + VERBS.index("escalate")].stdout
    assert "--insecure-storage" in results[1 + VERBS.index("login")].stdout
