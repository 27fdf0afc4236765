"""The scripting CLI's show prints a security incident's breach clock and playbook
checklist, in the detail screen's words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hostile import change_page, incident_snapshot, iso

from incidenttui.store import CheckPlaybookStep, Store

URL = "http://127.0.0.1:9"


def test_show_prints_the_clock_and_the_checklist(tmp_path, monkeypatch, capsys) -> None:
    from incidenttui.cli import main

    monkeypatch.setenv("INCIDENTTUI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("INCIDENTTUI_SERVER", URL)
    detected = datetime.now(UTC) - timedelta(hours=2)
    snap = incident_snapshot(number=501, ref="INC-501", category="security",
                             title="Customer personal data exposed [b]x[/b]",
                             detected_at=iso(detected), created_at=iso(detected))
    store = Store.for_server(URL)
    store.apply_changes(change_page([("incident", snap)])["changes"], 1)
    store.execute(CheckPlaybookStep(snap["id"], playbook="data_breach", step="isolate"))
    store.close()
    assert main(["show", "INC-501"]) == 0
    out = capsys.readouterr().out
    assert "GDPR Art. 33: notify within 69h" in out
    assert "playbook Personal-data breach 1/9:" in out
    assert "  [x] containment   isolate" in out and "  [ ] communication notify-authority" in out
    assert "[playbook] data_breach/isolate done: " in out  # the timeline note


def test_sync_says_which_incidents_were_removed(tmp_path, monkeypatch, capsys) -> None:
    from hostile import HostileServer, me_json, routes, send_json

    from incidenttui.cli import main

    snap = incident_snapshot(number=502, ref="INC-502", category="security")
    page = change_page([("forget", {"id": snap["id"], "incident_id": snap["id"]})], start=1)
    table = {"/api/v1/me": send_json(me_json()), "/api/v1/changes": send_json(page)}
    with HostileServer(routes(table, send_json({"detail": "no"}, 404))) as hostile:
        monkeypatch.setenv("INCIDENTTUI_DATA_DIR", str(tmp_path))
        monkeypatch.setenv("INCIDENTTUI_SERVER", hostile.base_url)
        monkeypatch.setenv("INCIDENTTUI_TOKEN", "tok")
        store = Store.for_server(hostile.base_url)
        store.apply_changes(change_page([("incident", snap)])["changes"], 1)
        store.close()
        assert main(["sync"]) == 0
        out = capsys.readouterr().out
        assert "INC-502 is no longer visible to you; its local copy was removed" in out
        assert main(["sync", "--json"]) == 0  # told once
        assert '"forgotten": []' in capsys.readouterr().out
