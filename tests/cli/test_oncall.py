"""Who is on call, end to end: the organisation exported from a real server, a schedule added
to the file and applied with ``admin apply``; the API answers ``GET /api/v1/oncall``; a client
syncs and ``incidenttui oncall`` answers from its store, also with the server stopped."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from servers import USERS, cli

from incidenttui.api.paths import ONCALL

AT = "2026-03-04T10:00:00+01:00"  # a Wednesday: rita's week, ray next


def add_schedule(server: Any, tmp_path: Path) -> None:
    exported = cli("admin", "export", "--format", "yaml", "--db", server.db_url)
    assert exported.returncode == 0, exported.stderr
    doc = yaml.safe_load(exported.stdout)
    assert {u["id"] for u in doc["users"]} >= set(USERS.values())
    doc["schedules"] = [{
        "id": "platform-primary", "name": "Platform primary [b]on call[/b]",
        "team": "platform", "time_zone": "Europe/Berlin",
        "layers": [{"name": "weekly", "users": ["rita", "ray"], "start": "2026-03-02",
                    "every": 7, "handoff": "09:00"}],
        "overrides": [{"user": "adam", "start": "2026-03-05T20:00:00+01:00",
                       "end": "2026-03-06T08:00:00+01:00"}],
    }]
    file = tmp_path / "org.yaml"
    file.write_text(yaml.safe_dump(doc))
    applied = cli("admin", "apply", str(file), "--db", server.db_url)
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.strip() == "create schedule platform-primary"


def test_on_call_through_the_api_and_the_cli_offline(cli_server, tmp_path, make_cli):
    server = cli_server
    add_schedule(server, tmp_path)
    with server.http("viewer") as http:
        answer = http.get(ONCALL, params={"team": "platform", "at": AT})
        assert answer.status_code == 200, answer.text
        [entry] = answer.json()
        assert entry["now"]["user"] == "rita" and entry["now"]["source"] == "weekly"
        assert entry["next"]["user"] == "adam" and entry["next"]["source"] == "override"
        assert http.get(ONCALL, params={"team": "network", "at": AT}).json() == []
        naive = http.get(ONCALL, params={"at": "2026-03-04T10:00:00"})
        assert naive.status_code == 422 and naive.json()["field"] == "at"

    run = make_cli(server.base_url, server.tokens["responder"])
    assert run("sync").returncode == 0
    as_json = run("oncall", "--team", "platform", "--at", AT, "--json")
    assert as_json.returncode == 0, as_json.stderr
    [entry] = json.loads(as_json.stdout)
    assert (entry["now"]["user"], entry["next"]["user"]) == ("rita", "adam")
    assert entry["next"]["start"] == "2026-03-05T19:00:00+00:00"

    server.stop()  # the store answers on its own
    text = run("oncall", "--at", AT)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0] == ("platform-primary (Platform primary [b]on call[/b], team platform, "
                        "Europe/Berlin)")
    assert lines[1] == "  now  rita (weekly) until Thu 05 Mar 20:00 CET"
    assert lines[2] == "  next adam (override) from Thu 05 Mar 20:00 CET until Fri 06 Mar 08:00 CET"
    assert "no on-call schedules for team network" in run("oncall", "--team", "network").stdout
    bad = run("oncall", "--at", "yesterday")
    assert bad.returncode == 2 and "ISO 8601" in bad.stderr and "Traceback" not in bad.stderr
    server.start()
