"""StatusLine: words first, so every state reads the same without colour."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from textual.app import App, ComposeResult

from incidenttui.sync.status import SyncStatus
from incidenttui.widgets.status_line import StatusLine

NOW = datetime(2026, 3, 2, 9, 35, tzinfo=UTC)


@pytest.mark.parametrize(("status", "expected"), [
    (SyncStatus(state="online", last_sync_at=NOW, user="rita", server="https://inc.example"),
     "ONLINE · synced just now · 0 pending · 0 conflicts · rita@inc.example"),
    (SyncStatus(state="offline", last_sync_at=NOW - timedelta(minutes=3), pending=2,
                server="http://h:1"), "OFFLINE · synced 3m ago · 2 pending · 0 conflicts · ?@h:1"),
    (SyncStatus(state="syncing", conflicts=1), "SYNCING · never synced · 0 pending · 1 conflicts"),
    (SyncStatus(state="auth"), "LOGIN NEEDED · never synced"),
    (SyncStatus(state="error", last_sync_at=NOW - timedelta(hours=2)), "SYNC ERROR · synced 2h"),
    (SyncStatus(state="local", user="demo"), "OFFLINE (--offline) · never synced"),
])
def test_line_reads_without_colour(status: SyncStatus, expected: str) -> None:
    assert status.line(NOW).startswith(expected)


class Harness(App[None]):
    def compose(self) -> ComposeResult:
        yield StatusLine()


async def test_state_classes_and_last_error() -> None:
    app = Harness()
    async with app.run_test(size=(100, 3)) as pilot:
        line = app.query_one(StatusLine)
        line.show(SyncStatus(state="offline", last_error="cannot connect to http://h:1"))
        await pilot.pause()
        assert line.has_class("-offline") and not line.has_class("-online")
        assert str(line.content).endswith("· cannot connect to http://h:1")
        line.show(SyncStatus(state="online", last_error="old news"))
        await pilot.pause()
        assert line.has_class("-online") and "old news" not in str(line.content)
        line.show(SyncStatus(state="offline", last_error="[bold]x[/] [@click=app.quit]q"))
        await pilot.pause()
        assert str(line.content).endswith("[bold]x[/] [@click=app.quit]q")
        assert app.is_running
