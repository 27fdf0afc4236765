"""The KPI arithmetic (domain/kpis.py) on small tables worked out by hand."""

from __future__ import annotations

from typing import Any

import pytest

from incidenttui.domain.kpis import (
    AGE_BANDS,
    FIELDS,
    TREND_WEEKS,
    WEEK,
    age_band,
    compute,
    first_contact,
    median,
    percentile,
    sparkline,
    work_seconds,
)

H = 3600.0
UNTIL = 1_000 * WEEK  # an arbitrary epoch second; every row is placed relative to it
SINCE = UNTIL - 30 * 86_400


def row(**given: Any) -> tuple[Any, ...]:
    """A row in FIELDS order: a P3 closed incident logged a day before UNTIL, acknowledged
    after 10 min, resolved after 2 h, by the service desk (L1)."""
    created = given.pop("created", UNTIL - 86_400)
    base = {"priority": 3, "status": "closed", "service": "checkout", "category": "data",
            "team": "service-desk", "team_level": 1, "created": created,
            "started": created - 600, "detected": created - 60, "acknowledged": created + 600,
            "resolved": created + 2 * H, "hold_seconds": 0.0, "on_hold_since": None,
            "escalation_level": 1, "management_engaged": False, "reopen_count": 0}
    unknown = set(given) - set(base)
    assert not unknown, unknown
    base.update(given)
    return tuple(base[name] for name in FIELDS)


@pytest.mark.parametrize(("values", "p", "expected"), [
    ([], 90, None),
    ([5.0], 90, 5.0),
    ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90, 9),
    ([10, 1, 9, 2, 8, 3, 7, 4, 6, 5], 90, 9),  # order does not matter
    ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 90, 10),  # rank ceil(9.9) = 10
    ([1, 2, 3], 50, 2),
    ([1, 2, 3, 4], 50, 2),  # nearest rank: the 2nd of 4
    ([3, 1, 2], 100, 3),
])
def test_percentile_is_nearest_rank(values: list[float], p: float, expected: Any) -> None:
    assert percentile(values, p) == expected


@pytest.mark.parametrize(("values", "expected"), [
    ([], None), ([4.0], 4.0), ([3, 1, 2], 2), ([4, 1, 3, 2], 2.5)])
def test_median(values: list[float], expected: Any) -> None:
    assert median(values) == expected


@pytest.mark.parametrize(("created", "resolved", "hold", "expected"), [
    (0, 7200, 0.0, 7200), (0, 7200, 1800.0, 5400), (100, 100, 0.0, 0)])
def test_hold_is_excluded_from_time_to_resolve(created: float, resolved: float, hold: float,
                                               expected: float) -> None:
    assert work_seconds(created, resolved, hold) == expected


@pytest.mark.parametrize(("team_level", "escalation_level", "expected"), [
    (1, 1, True),      # the service desk fixed it without help
    (1, 2, False),     # back at the desk after an escalation: not first contact
    (2, 1, False),     # logged straight to the experts: not a level-1 resolution
    (None, 1, False),  # a team the store does not know: not claimed
])
def test_first_contact_rule(team_level: Any, escalation_level: int, expected: bool) -> None:
    assert first_contact(team_level, escalation_level) is expected


@pytest.mark.parametrize(("age", "band"), [
    (0, "<4h"), (4 * H - 1, "<4h"), (4 * H, "4-24h"), (86_400, "1-3d"), (5 * 86_400, "3-7d"),
    (20 * 86_400, "7-30d"), (400 * 86_400, ">30d")])
def test_age_bands(age: float, band: str) -> None:
    assert age_band(age) == band


def test_durations_sla_and_rates_over_a_small_table() -> None:
    rows = [
        row(),  # P3, MTTA 600, MTTR 7200, FCR
        row(acknowledged=None, status="in_progress", resolved=None),  # missing ack time
        row(resolved=None),  # closed without a resolved time: missing MTTR
        row(started=None),  # no impact start: missing MTTD
        row(priority=1, acknowledged=UNTIL - 86_400 + 20 * 60,  # response 20 min > 15
            resolved=UNTIL - 86_400 + 5 * H, hold_seconds=2 * H,  # 3 h worked < 4 h
            team="payments-experts", team_level=2, escalation_level=2,
            management_engaged=True, reopen_count=1),
        row(status="cancelled"),  # left out of every figure, counted apart
        row(created=SINCE - 10),  # before the window: the trend only
    ]
    report = compute(rows, SINCE, UNTIL, UNTIL + 10)
    w = report.window
    assert w["incidents"] == 5 and report.cancelled == 1
    assert w["missing"] == {"mttd": 1, "mtta": 1, "mttr": 1}
    assert w["mttd"]["n"] == 4 and w["mttd"]["mean"] == 540
    assert w["mtta"]["n"] == 4 and w["mtta"]["median"] == 600
    assert w["mtta"]["mean"] == (600 * 3 + 1200) / 4
    # MTTR: three resolved with times (7200, 7200, 3 h) and one missing
    assert w["mttr"] == {"n": 3, "mean": 8400.0, "median": 7200, "p90": 3 * H}
    assert w["resolved"] == 3
    assert w["sla_by_priority"]["P1"]["response"] == {"counted": 1, "met": 0, "pct": 0.0}
    assert w["sla_by_priority"]["P1"]["resolution"] == {"counted": 1, "met": 1, "pct": 100.0}
    assert w["response_sla_pct"] == 75.0  # 3 of the 4 acknowledged P3/P1 in time
    assert w["first_contact_pct"] == round(100 * 2 / 3, 1)  # the P1 went to L2
    assert w["escalation_pct"] == 20.0 and w["management_pct"] == 20.0
    # ever resolved: the four closed ones; reopened: the P1
    assert w["reopen_pct"] == 25.0
    assert report.volume["priority"] == {"P1": 1, "P3": 4}
    assert report.volume["team"] == {"service-desk": 4, "payments-experts": 1}
    assert sum(week["incidents"] for week in report.trend) == 6


def test_running_clocks_count_only_once_breached() -> None:
    now = UNTIL - 1
    fresh = row(created=now - 60, status="new", acknowledged=None, resolved=None)
    late = row(created=now - 3 * H, status="new", acknowledged=None, resolved=None)  # P3: 2 h
    held = row(created=now - 30 * H, status="on_hold", resolved=None, hold_seconds=4 * H,
               on_hold_since=now - 3 * H)  # 30 h open, 7 h held: 23 h < 24 h, not breached
    report = compute([fresh, late, held], SINCE, UNTIL, now)
    sla = report.window["sla_by_priority"]["P3"]
    assert sla["response"] == {"counted": 2, "met": 1, "pct": 50.0}  # late + held (acked)
    assert sla["resolution"] == {"counted": 0, "met": 0, "pct": None}
    assert report.window["missing"] == {"mttd": 0, "mtta": 0, "mttr": 0}
    assert report.backlog["<4h"] == 2 and report.backlog["1-3d"] == 1


def test_backlog_is_every_open_incident_now_and_a_missing_time_is_counted() -> None:
    now = UNTIL + 10 * 86_400  # the window ended ten days ago
    rows = [row(created=UNTIL - 400 * 86_400, status="acknowledged", resolved=None),
            row(created=now - H, status="new", acknowledged=None, resolved=None),
            row(status="new", acknowledged=None, resolved=None)[:6] + (None,) * 10]
    report = compute(rows, SINCE, UNTIL, now)
    assert report.backlog == {label: 0 for label, _ in AGE_BANDS} | {">30d": 1, "<4h": 1}
    assert report.backlog_missing == 1
    assert report.window["incidents"] == 0  # none was logged in the window


def test_trend_weeks_and_grouping() -> None:
    rows = [row(created=UNTIL - (k + 0.5) * WEEK, service=f"s{k % 2}") for k in range(12)]
    rows += [row(created=UNTIL - 0.2 * WEEK, service="s0", status="resolved")]
    report = compute(rows, UNTIL - 13 * WEEK, UNTIL, UNTIL, by="service")
    assert len(report.trend) == TREND_WEEKS
    assert [w["incidents"] for w in report.trend] == [1] * 11 + [2]
    assert report.trend[-1]["start"] == UNTIL - WEEK
    assert list(report.groups) == ["s0", "s1"]
    assert report.groups["s0"]["incidents"] == 7 and report.groups["s1"]["incidents"] == 6
    with pytest.raises(ValueError, match="cannot group"):
        compute(rows, SINCE, UNTIL, UNTIL, by="colour")


@pytest.mark.parametrize(("values", "expected"), [
    ([1, 2, 3, 4, 5, 6, 7, 8], "▁▂▃▄▅▆▇█"), ([None, 5, 5], "·▄▄"), ([], ""),
    ([None, None], "··"), ([0, 10], "▁█"), ([0, 0], "▁▁"), ([3, 3], "▄▄")])
def test_sparkline(values: list[Any], expected: str) -> None:
    assert sparkline(values) == expected
