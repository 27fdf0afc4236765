"""One wording for the app and the CLI: SLA clocks, durations, percentages, statuses, refs."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from incidenttui.domain import sla_clocks
from incidenttui.domain.sla import Clock
from incidenttui.present import (
    age,
    clock_text,
    duration,
    escalation_cell,
    percent,
    ref,
    seconds,
    sla_cell,
    status_long,
    status_short,
)

NOW = datetime(2026, 3, 2, 9, 35, tzinfo=UTC)


@pytest.mark.parametrize(("delta", "text"), [
    (timedelta(seconds=45), "45s"), (timedelta(minutes=12), "12m"),
    (timedelta(hours=3, minutes=5), "3h05m"), (timedelta(days=2, hours=4), "2d04h"),
    (timedelta(minutes=-90), "-1h30m"), (timedelta(0), "0s"),
])
def test_duration(delta: timedelta, text: str) -> None:
    assert duration(delta) == text


def test_seconds_percent_and_age() -> None:
    assert seconds(None) == "-" and seconds(3900) == "1h05m"
    assert percent(None) == "-" and percent(97.46) == "97.5%"
    assert age(NOW - timedelta(minutes=7), NOW) == "7m"


def test_refs_have_one_spelling() -> None:
    assert ref(1042) == "INC-1042"
    assert ref(None) == "INC-pending"


def test_statuses_known_and_unknown() -> None:
    assert status_short("acknowledged") == "ACK" and status_long("acknowledged") == "acked"
    assert status_short("in_progress") == "WIP" and status_long("on_hold") == "on hold"
    assert status_short("from_the_future") == "from_the_future"


def test_sla_cell_marks_a_breach_without_colour() -> None:
    assert sla_cell(NOW + timedelta(minutes=19), NOW) == ("19m", False)
    assert sla_cell(NOW - timedelta(hours=2, minutes=3), NOW) == ("!2h03m", True)
    assert sla_cell(None, NOW, paused=True) == ("paused", False)
    assert sla_cell(None, NOW) == ("-", False)


@pytest.mark.parametrize(("clock", "text"), [
    (Clock(timedelta(hours=4), timedelta(hours=1), stopped=False), "3h00m left"),
    (Clock(timedelta(hours=4), timedelta(hours=1), stopped=False, paused=True),
     "3h00m left (paused)"),
    (Clock(timedelta(minutes=15), timedelta(hours=2, minutes=18), stopped=False),
     "BREACHED 2h03m ago"),
    (Clock(timedelta(minutes=15), timedelta(minutes=5), stopped=True), "met"),
    (Clock(timedelta(minutes=15), timedelta(minutes=50), stopped=True), "BREACHED"),
])
def test_clock_text(clock: Clock, text: str) -> None:
    assert clock_text(clock) == text


def test_a_breached_clock_never_reads_as_time_left() -> None:
    clocks = sla_clocks(1, NOW - timedelta(hours=6), NOW)
    assert clock_text(clocks.response) == "BREACHED 5h45m ago"
    assert clock_text(clocks.resolution) == "BREACHED 2h00m ago"
    assert "left" not in clock_text(clocks.resolution)


def test_importing_it_loads_neither_sqlmodel_nor_httpx() -> None:
    code = ("import sys, incidenttui.present, incidenttui.widgets.cells; "
            "print(sorted(m for m in ('sqlmodel', 'sqlalchemy', 'httpx', 'pydantic') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


@pytest.mark.parametrize(("left", "text"), [
    (None, ""), (timedelta(seconds=-30), "due"), (timedelta(0), "due"),
    (timedelta(seconds=59), "<1m"), (timedelta(minutes=4, seconds=59), "4m"),
    (timedelta(hours=2, minutes=59), "2h"), (timedelta(days=6, hours=23), "6d"),
])
def test_escalation_cell_fits_four_characters(left: timedelta | None, text: str) -> None:
    cell = escalation_cell(None if left is None else NOW + left, NOW)
    assert cell == text and len(cell) <= 4
