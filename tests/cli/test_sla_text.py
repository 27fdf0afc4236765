"""The CLI words SLA clocks as the app does: a breached clock says how long ago it breached,
never that time is "left"."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hostile import change_page, incident_snapshot, iso

from incidenttui.cli import main
from incidenttui.store import Store, store_path_for

URL = "http://sla.example.test:9"


@pytest.fixture
def breached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """A P1 logged 6 hours ago and never acknowledged, in the CLI's store for URL."""
    monkeypatch.setenv("INCIDENTTUI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("INCIDENTTUI_SERVER", URL)
    opened = dt.datetime.now(dt.UTC) - dt.timedelta(hours=6, seconds=30)
    snapshot = incident_snapshot(number=1042, impact=1, urgency=1, priority=1,
                                 created_at=iso(opened), updated_at=iso(opened),
                                 detected_at=iso(opened))
    store = Store(store_path_for(URL))
    store.apply_changes(change_page([("incident", snapshot)])["changes"], cursor=1)
    store.close()
    return snapshot


def test_show_says_breached_and_how_long_ago(breached: dict[str, object],
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "INC-1042"]) == 0
    lines = capsys.readouterr().out.splitlines()
    sla = [line for line in lines if line.startswith("SLA ")]
    # Response: 15 minutes, 5h45m past; resolution: 4 hours, 2h00m past.
    assert sla == ["SLA response: BREACHED 5h45m ago", "SLA resolution: BREACHED 2h00m ago"]
    assert not any("left" in line for line in sla)


def test_list_marks_the_breach_as_the_queue_does(breached: dict[str, object],
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list"]) == 0
    line = capsys.readouterr().out.splitlines()[0]
    assert line.startswith("INC-1042 ") and " SLA  !5h45m " in line, line
