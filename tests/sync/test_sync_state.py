"""The sync state is one enum: every part compares against its members, and each has its
words on the status line."""

from __future__ import annotations

from dataclasses import replace

import pytest

from incidenttui.sync.status import SyncState, SyncStatus


def test_a_state_given_by_name_is_the_member() -> None:
    status = SyncStatus(state="online")  # type: ignore[arg-type]
    assert status.state is SyncState.ONLINE
    assert replace(status, state="auth").state is SyncState.AUTH  # type: ignore[arg-type]
    assert SyncStatus().state is SyncState.OFFLINE


def test_an_unknown_state_is_refused() -> None:
    with pytest.raises(ValueError):
        SyncStatus(state="sleeping")  # type: ignore[arg-type]


@pytest.mark.parametrize(("state", "label", "troubled"), [
    (SyncState.ONLINE, "ONLINE", False), (SyncState.OFFLINE, "OFFLINE", True),
    (SyncState.SYNCING, "SYNCING", False), (SyncState.AUTH, "LOGIN NEEDED", True),
    (SyncState.ERROR, "SYNC ERROR", True), (SyncState.LOCAL, "OFFLINE (--offline)", False),
])
def test_every_state_has_its_words(state: SyncState, label: str, troubled: bool) -> None:
    assert state.label == label and state.troubled == troubled
    assert SyncStatus(state=state).line().startswith(label)


def test_the_users_team_rides_along() -> None:
    status = SyncStatus(user="rita", team="service-desk")
    assert replace(status, pending=2).team == "service-desk"
    assert "service-desk" not in status.line()  # not for the status line
