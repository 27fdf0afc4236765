"""The 72-hour breach notification clock, with a frozen clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from incidenttui.domain.breach import NOTIFY_WITHIN, breach_clock

AWARE = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
H = timedelta(hours=1)


def test_the_deadline_is_72_hours_after_awareness() -> None:
    clock = breach_clock(AWARE, AWARE)
    assert NOTIFY_WITHIN == 72 * H
    assert clock.deadline == AWARE + 72 * H
    assert (clock.remaining, clock.overdue, clock.stopped) == (72 * H, False, False)
    assert clock.label == "notify within 72h00m"


@pytest.mark.parametrize(("elapsed", "remaining", "overdue", "label"), [
    (timedelta(hours=10, minutes=30), timedelta(hours=61, minutes=30), False,
     "notify within 61h30m"),
    (72 * H - timedelta(seconds=1), timedelta(seconds=1), False, "notify within 0h00m"),
    (72 * H, timedelta(0), False, "notify within 0h00m"),
    (75 * H, -3 * H, True, "notification overdue by 3h00m"),
])
def test_running(elapsed: timedelta, remaining: timedelta, overdue: bool, label: str) -> None:
    clock = breach_clock(AWARE, AWARE + elapsed)
    assert (clock.remaining, clock.overdue, clock.label) == (remaining, overdue, label)


def test_recording_the_notification_stops_the_clock() -> None:
    notified = AWARE + 30 * H
    for now in (notified, notified + 100 * H):
        clock = breach_clock(AWARE, now, notified)
        assert clock.stopped and not clock.overdue
        assert clock.remaining == 42 * H
        assert clock.label == "notified after 30h00m"


def test_a_late_notification_stays_late() -> None:
    clock = breach_clock(AWARE, AWARE + 200 * H, AWARE + 80 * H)
    assert clock.stopped and clock.overdue and clock.remaining == -8 * H
    assert clock.label == "notified late after 80h00m"


def test_refusals() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        breach_clock(datetime(2026, 12, 1), AWARE)
    with pytest.raises(ValueError, match="before"):
        breach_clock(AWARE, AWARE, AWARE - H)
