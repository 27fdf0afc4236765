"""SLA clocks: response and resolution targets, holds, breaches and the policy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from incidenttui.domain.enums import Priority, Status
from incidenttui.domain.lifecycle import DONE_STATUSES, OPEN_STATUSES
from incidenttui.domain.sla import (
    DEFAULT_SLA,
    Clock,
    SlaClocks,
    SlaTarget,
    next_breach_at,
    sla_clocks,
    sla_policy,
)
from incidenttui.present import duration

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
M = timedelta(minutes=1)
H = timedelta(hours=1)

#: The default targets written out: priority -> (response, resolution).
EXPECTED_DEFAULTS = {
    Priority.P1: (15 * M, 4 * H),
    Priority.P2: (30 * M, 8 * H),
    Priority.P3: (2 * H, 24 * H),
    Priority.P4: (8 * H, timedelta(days=3)),
    Priority.P5: (24 * H, timedelta(days=7)),
}


@pytest.mark.parametrize("priority", list(Priority), ids=lambda p: p.label)
def test_default_targets(priority: Priority) -> None:
    response, resolution = EXPECTED_DEFAULTS[priority]
    assert DEFAULT_SLA[priority] == SlaTarget(response, resolution)


# --- response clock -------------------------------------------------------------------------


def test_fresh_incident_clocks() -> None:
    clocks = sla_clocks(Priority.P1, T0, T0)
    assert clocks.response == Clock(15 * M, timedelta(0), stopped=False)
    assert clocks.resolution == Clock(4 * H, timedelta(0), stopped=False, paused=False)
    assert not clocks.breached


def test_response_clock_runs_until_acknowledged() -> None:
    clocks = sla_clocks(Priority.P1, T0, T0 + 10 * M)
    assert clocks.response.elapsed == 10 * M
    assert clocks.response.remaining == 5 * M
    assert not clocks.response.stopped
    assert not clocks.response.breached


def test_response_clock_stops_at_acknowledgement() -> None:
    clocks = sla_clocks(Priority.P1, T0, T0 + 3 * H, acknowledged_at=T0 + 7 * M)
    assert clocks.response.stopped
    assert clocks.response.elapsed == 7 * M
    assert clocks.response.remaining == 8 * M
    assert not clocks.response.breached


def test_response_breach_while_waiting() -> None:
    clocks = sla_clocks(Priority.P1, T0, T0 + 20 * M)
    assert clocks.response.breached
    assert clocks.breached
    assert clocks.response.remaining == -5 * M
    assert not clocks.resolution.breached


def test_late_acknowledgement_stays_breached() -> None:
    clocks = sla_clocks(Priority.P2, T0, T0 + 5 * H, acknowledged_at=T0 + 45 * M)
    assert clocks.response.stopped
    assert clocks.response.breached
    assert clocks.response.remaining == -15 * M
    assert clocks.breached


def test_exactly_at_target_is_not_breached() -> None:
    clocks = sla_clocks(Priority.P1, T0, T0 + 15 * M)
    assert clocks.response.remaining == timedelta(0)
    assert not clocks.response.breached
    later = sla_clocks(Priority.P1, T0, T0 + 15 * M + timedelta(seconds=1))
    assert later.response.breached


def test_now_before_opened_clamps_to_zero() -> None:
    clocks = sla_clocks(Priority.P3, T0, T0 - 5 * M)
    assert clocks.response.elapsed == timedelta(0)
    assert clocks.resolution.elapsed == timedelta(0)


def test_priority_as_int() -> None:
    assert sla_clocks(4, T0, T0).resolution.target == timedelta(days=3)


# --- resolution clock -----------------------------------------------------------------------


def test_resolution_clock_runs() -> None:
    clocks = sla_clocks(Priority.P2, T0, T0 + 3 * H, acknowledged_at=T0 + 10 * M)
    assert clocks.resolution.elapsed == 3 * H
    assert clocks.resolution.remaining == 5 * H
    assert not clocks.resolution.stopped
    assert not clocks.resolution.paused


def test_resolution_breach_and_negative_remaining() -> None:
    clocks = sla_clocks(Priority.P1, T0, T0 + 5 * H + 30 * M, acknowledged_at=T0 + M)
    assert clocks.resolution.breached
    assert clocks.breached
    assert clocks.resolution.remaining == -(90 * M)
    assert not clocks.response.breached


def test_resolution_clock_stops_at_resolution() -> None:
    clocks = sla_clocks(Priority.P1, T0, T0 + timedelta(days=2), acknowledged_at=T0 + M,
                        resolved_at=T0 + 3 * H)
    assert clocks.resolution.stopped
    assert clocks.response.stopped
    assert clocks.resolution.elapsed == 3 * H
    assert clocks.resolution.remaining == H
    assert not clocks.breached


def test_late_resolution_stays_breached_but_stopped() -> None:
    clocks = sla_clocks(Priority.P1, T0, T0 + timedelta(days=2), acknowledged_at=T0 + M,
                        resolved_at=T0 + 6 * H)
    assert clocks.resolution.stopped
    assert clocks.resolution.breached
    assert clocks.resolution.remaining == -2 * H


def test_completed_holds_pause_resolution_clock() -> None:
    clocks = sla_clocks(Priority.P1, T0, T0 + 5 * H, acknowledged_at=T0 + M,
                        hold_seconds=2 * 3600)
    assert clocks.resolution.elapsed == 3 * H
    assert clocks.resolution.remaining == H
    assert not clocks.resolution.breached
    assert not clocks.resolution.paused


def test_completed_holds_do_not_pause_response_clock() -> None:
    clocks = sla_clocks(Priority.P1, T0, T0 + 20 * M, hold_seconds=600)
    assert clocks.response.elapsed == 20 * M
    assert clocks.response.breached


def test_ongoing_hold_pauses_resolution_clock() -> None:
    # Opened T0, on hold since T0+1h; seen at T0+3h: only 1h has counted.
    clocks = sla_clocks(Priority.P1, T0, T0 + 3 * H, acknowledged_at=T0 + M,
                        on_hold_since=T0 + H)
    assert clocks.resolution.paused
    assert not clocks.resolution.stopped
    assert clocks.resolution.elapsed == H
    assert clocks.resolution.remaining == 3 * H


def test_ongoing_hold_freezes_the_clock() -> None:
    kw = {"acknowledged_at": T0 + M, "on_hold_since": T0 + H}
    early = sla_clocks(Priority.P1, T0, T0 + 2 * H, **kw)
    late = sla_clocks(Priority.P1, T0, T0 + timedelta(days=30), **kw)
    assert early.resolution.elapsed == late.resolution.elapsed == H
    assert not late.resolution.breached


def test_ongoing_and_completed_holds_add_up() -> None:
    clocks = sla_clocks(Priority.P1, T0, T0 + 6 * H, acknowledged_at=T0 + M,
                        hold_seconds=3600, on_hold_since=T0 + 4 * H)
    # 6h wall - 1h completed hold - 2h ongoing hold = 3h.
    assert clocks.resolution.elapsed == 3 * H
    assert clocks.resolution.paused


def test_ongoing_hold_ignored_once_resolved() -> None:
    clocks = sla_clocks(Priority.P1, T0, T0 + 10 * H, acknowledged_at=T0 + M,
                        resolved_at=T0 + 3 * H, hold_seconds=1800, on_hold_since=T0 + 2 * H)
    assert clocks.resolution.stopped
    assert not clocks.resolution.paused
    assert clocks.resolution.elapsed == 150 * M


def test_hold_longer_than_open_time_clamps_to_zero() -> None:
    clocks = sla_clocks(Priority.P1, T0, T0 + H, hold_seconds=5 * 3600)
    assert clocks.resolution.elapsed == timedelta(0)


# --- next_deadline --------------------------------------------------------------------------


def test_next_deadline_is_response_while_unacknowledged() -> None:
    clocks = sla_clocks(Priority.P1, T0, T0 + 5 * M)
    assert clocks.next_deadline is clocks.response


def test_next_deadline_still_response_after_its_breach() -> None:
    clocks = sla_clocks(Priority.P1, T0, T0 + H)
    assert clocks.next_deadline is clocks.response
    assert clocks.next_deadline.remaining == -45 * M


def test_next_deadline_is_resolution_once_acknowledged() -> None:
    clocks = sla_clocks(Priority.P1, T0, T0 + H, acknowledged_at=T0 + M)
    assert clocks.next_deadline is clocks.resolution


def test_next_deadline_picks_closest_running_clock() -> None:
    response = Clock(timedelta(hours=10), timedelta(0), stopped=False)
    resolution = Clock(timedelta(hours=4), timedelta(hours=1), stopped=False)
    assert SlaClocks(response, resolution).next_deadline is resolution


def test_next_deadline_skips_stopped_clock_even_if_closer() -> None:
    response = Clock(timedelta(minutes=15), timedelta(hours=1), stopped=True)
    resolution = Clock(timedelta(hours=4), timedelta(hours=1), stopped=False)
    assert SlaClocks(response, resolution).next_deadline is resolution


def test_next_deadline_when_both_stopped_is_resolution() -> None:
    clocks = sla_clocks(Priority.P1, T0, T0 + 10 * H, acknowledged_at=T0 + M,
                        resolved_at=T0 + 2 * H)
    assert clocks.next_deadline is clocks.resolution


def test_clock_breach_arithmetic() -> None:
    clock = Clock(timedelta(minutes=30), timedelta(minutes=45), stopped=False)
    assert clock.breached
    assert clock.remaining == timedelta(minutes=-15)
    assert not clock.paused


# --- policy ---------------------------------------------------------------------------------


def test_policy_without_overrides_is_default() -> None:
    assert sla_policy() == DEFAULT_SLA
    assert sla_policy({}) == DEFAULT_SLA
    assert sla_policy(None) is not DEFAULT_SLA


def test_policy_override_both() -> None:
    policy = sla_policy({"P1": {"response_minutes": 5, "resolution_minutes": 60}})
    assert policy[Priority.P1] == SlaTarget(5 * M, H)
    for p in (Priority.P2, Priority.P3, Priority.P4, Priority.P5):
        assert policy[p] == DEFAULT_SLA[p]


def test_policy_partial_override_keeps_other_target() -> None:
    policy = sla_policy({"P3": {"response_minutes": 45}, "p4": {"resolution_minutes": 90.5}})
    assert policy[Priority.P3] == SlaTarget(45 * M, 24 * H)
    assert policy[Priority.P4] == SlaTarget(8 * H, timedelta(minutes=90.5))


def test_policy_override_does_not_touch_defaults() -> None:
    sla_policy({"P1": {"response_minutes": 1}})
    assert DEFAULT_SLA[Priority.P1] == SlaTarget(15 * M, 4 * H)


def test_policy_used_by_clocks() -> None:
    policy = sla_policy({"P1": {"response_minutes": 5}})
    clocks = sla_clocks(Priority.P1, T0, T0 + 10 * M, policy=policy)
    assert clocks.response.breached
    assert clocks.response.remaining == -5 * M


@pytest.mark.parametrize("name", ["P0", "P6", "urgent", ""])
def test_policy_unknown_priority(name: str) -> None:
    with pytest.raises(ValueError, match="unknown priority"):
        sla_policy({name: {"response_minutes": 5}})


@pytest.mark.parametrize("values", [
    {"response_minutes": 0},
    {"response_minutes": -5},
    {"resolution_minutes": 0},
    {"resolution_minutes": -1.5},
    {"response_minutes": 10, "resolution_minutes": -10},
])
def test_policy_refuses_non_positive_targets(values: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="P2"):
        sla_policy({"P2": values})


def test_policy_refuses_non_numeric_target() -> None:
    with pytest.raises(ValueError):
        sla_policy({"P2": {"response_minutes": "soon"}})  # type: ignore[dict-item]


@pytest.mark.parametrize("minutes", [float("inf"), 1e20])
def test_policy_refuses_unbounded_target_with_value_error(minutes: float) -> None:
    with pytest.raises(ValueError):
        sla_policy({"P1": {"resolution_minutes": minutes}})


# --- duration (incidenttui.present) ---------------------------------------------------------


@pytest.mark.parametrize(("delta", "text"), [
    (timedelta(0), "0s"),
    (timedelta(seconds=1), "1s"),
    (timedelta(seconds=45), "45s"),
    (timedelta(seconds=59.9), "59s"),
    (timedelta(seconds=60), "1m"),
    (timedelta(minutes=12, seconds=59), "12m"),
    (timedelta(minutes=59), "59m"),
    (timedelta(hours=1), "1h00m"),
    (timedelta(hours=3, minutes=5), "3h05m"),
    (timedelta(hours=23, minutes=59, seconds=59), "23h59m"),
    (timedelta(days=1), "1d00h"),
    (timedelta(days=2, hours=4, minutes=30), "2d04h"),
    (timedelta(days=12, hours=23), "12d23h"),
    (timedelta(seconds=-45), "-45s"),
    (timedelta(minutes=-12), "-12m"),
    (timedelta(hours=-3, minutes=-5), "-3h05m"),
    (timedelta(days=-2, hours=-4), "-2d04h"),
    (timedelta(seconds=-0.5), "0s"),
])
def test_duration(delta: timedelta, text: str) -> None:
    assert duration(delta) == text


def test_format_breached_remaining() -> None:
    clocks = sla_clocks(Priority.P1, T0, T0 + 5 * H + 30 * M, acknowledged_at=T0 + M)
    assert duration(clocks.resolution.remaining) == "-1h30m"


# --- the stored next breach -----------------------------------------------------------------


@pytest.mark.parametrize("status", [s.value for s in OPEN_STATUSES])
def test_next_breach_of_an_open_incident_is_its_response_deadline(status: str) -> None:
    assert next_breach_at(Priority.P2, T0, status=status) == T0 + 30 * M


@pytest.mark.parametrize("status", [s.value for s in DONE_STATUSES])
def test_no_clock_runs_once_the_work_is_done(status: str) -> None:
    assert next_breach_at(Priority.P2, T0, status=status) is None
    assert next_breach_at(Priority.P2, T0, status=Status(status)) is None


@pytest.mark.parametrize(("kwargs", "due"), [
    ({"acknowledged_at": T0 + M}, T0 + 8 * H),
    ({"acknowledged_at": T0 + M, "hold_seconds": 3600.0}, T0 + 9 * H),
    ({"acknowledged_at": T0 + M, "on_hold_since": T0 + H}, None),
    ({"on_hold_since": T0 + H}, T0 + 30 * M),
    ({"resolved_at": T0 + H}, None),
], ids=["acknowledged", "after-a-hold", "on-hold", "on-hold-unacknowledged", "resolved"])
def test_next_breach_follows_the_running_clocks(kwargs: dict[str, object],
                                                due: datetime | None) -> None:
    assert next_breach_at(Priority.P2, T0, status="in_progress", **kwargs) == due  # type: ignore[arg-type]
