"""On-call schedules (domain/oncall.py): rotations, layers with restricted hours, overrides,
and hand-offs that keep their wall-clock time across DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from incidenttui.domain import Refused
from incidenttui.domain.oncall import (
    Layer,
    Override,
    Schedule,
    next_on_call,
    on_call,
    shifts,
    weekdays,
)

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def weekly(*users: str, start: date = date(2026, 3, 2), every: int = 7, **kw) -> Layer:
    return Layer("primary", tuple(users), start, every=every, **kw)


def schedule(*layers: Layer, overrides: tuple[Override, ...] = (),
             zone: str = "Europe/Berlin") -> Schedule:
    return Schedule("platform", "Platform on-call", zone, layers, overrides)


@pytest.mark.parametrize(("at", "who"), [
    (berlin(2026, 3, 2, 9, 0), "ana"),  # the first hand-off
    (berlin(2026, 3, 9, 8, 59), "ana"),  # a minute before the next
    (berlin(2026, 3, 9, 9, 0), "ben"),
    (berlin(2026, 3, 16, 9, 0), "cem"),
    (berlin(2026, 3, 23, 9, 0), "ana"),  # round again
    (berlin(2027, 3, 1, 9, 0), "ben"),  # 52 weeks on: 52 % 3 == 1
])
def test_a_weekly_rotation_hands_over_at_its_local_time(at, who):
    assert on_call(schedule(weekly("ana", "ben", "cem")), at).user == who


def test_nobody_is_on_call_before_the_rotation_starts():
    shift = on_call(schedule(weekly("ana")), berlin(2026, 3, 2, 8, 0))
    assert shift.user is None and shift.source is None
    assert shift.end == berlin(2026, 3, 2, 9, 0)


def test_a_daily_hand_off_keeps_its_wall_clock_time_across_both_dst_changes():
    # Europe/Berlin: clocks go forward on 2026-03-29 and back on 2026-10-25.
    daily = schedule(Layer("daily", ("ana", "ben"), date(2026, 3, 27), every=1))
    spring = on_call(daily, berlin(2026, 3, 28, 12, 0))
    assert spring.start == berlin(2026, 3, 28, 9, 0) and spring.end == berlin(2026, 3, 29, 9, 0)
    assert spring.end - spring.start == timedelta(hours=23)
    autumn = on_call(daily, berlin(2026, 10, 24, 12, 0))
    assert autumn.end - autumn.start == timedelta(hours=25)
    assert autumn.end.astimezone(BERLIN).hour == 9


def test_a_hand_off_inside_the_spring_gap_moves_forward_by_the_gap():
    daily = schedule(Layer("night", ("ana", "ben"), date(2026, 3, 27), every=1,
                           handoff=time(2, 30)))
    before = on_call(daily, berlin(2026, 3, 29, 1, 0))
    assert before.end.astimezone(BERLIN).replace(tzinfo=None) == datetime(2026, 3, 29, 3, 30)
    # and on a fall-back day the first 02:30 counts
    autumn = on_call(daily, berlin(2026, 10, 25, 1, 0))
    assert autumn.end == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_a_higher_layer_covers_its_hours_and_the_lower_one_the_rest():
    business = Layer("business hours", ("dev",), date(2026, 3, 2), handoff=time(0, 0),
                     days=weekdays(["mon", "tue", "wed", "thu", "fri"]),
                     hours=(time(9, 0), time(17, 0)))
    sched = schedule(weekly("ana", "ben"), business)
    monday_noon = on_call(sched, berlin(2026, 3, 2, 12, 0))
    assert (monday_noon.user, monday_noon.source) == ("dev", "business hours")
    assert monday_noon.start == berlin(2026, 3, 2, 9, 0)
    assert monday_noon.end == berlin(2026, 3, 2, 17, 0)
    evening = on_call(sched, berlin(2026, 3, 2, 18, 0))
    assert (evening.user, evening.source) == ("ana", "primary")
    assert evening.end == berlin(2026, 3, 3, 9, 0)  # the business layer takes over again
    saturday = on_call(sched, berlin(2026, 3, 7, 12, 0))
    assert saturday.user == "ana" and saturday.end == berlin(2026, 3, 9, 9, 0)


def test_hours_past_midnight_belong_to_the_day_they_start_on():
    nights = Layer("friday nights", ("owl",), date(2026, 3, 2), days=weekdays(["fri"]),
                   hours=(time(22, 0), time(6, 0)))
    sched = schedule(weekly("ana"), nights)
    assert on_call(sched, berlin(2026, 3, 6, 23, 0)).user == "owl"  # Friday 23:00
    assert on_call(sched, berlin(2026, 3, 7, 5, 59)).user == "owl"  # Saturday early
    assert on_call(sched, berlin(2026, 3, 7, 23, 0)).user == "ana"  # Saturday night
    assert on_call(sched, berlin(2026, 3, 6, 5, 0)).user == "ana"  # Friday early: Thursday's


def test_an_override_replaces_whoever_is_on_call_and_the_latest_wins():
    span = Override("zoe", berlin(2026, 3, 3, 12, 0), berlin(2026, 3, 4, 12, 0))
    inner = Override("yan", berlin(2026, 3, 3, 18, 0), berlin(2026, 3, 3, 20, 0))
    sched = schedule(weekly("ana", "ben"), overrides=(span, inner))
    assert on_call(sched, berlin(2026, 3, 3, 11, 59)).user == "ana"
    shift = on_call(sched, berlin(2026, 3, 3, 13, 0))
    assert (shift.user, shift.source) == ("zoe", "override")
    assert (shift.start, shift.end) == (span.start, inner.start)
    assert on_call(sched, berlin(2026, 3, 3, 19, 0)).user == "yan"
    assert on_call(sched, berlin(2026, 3, 3, 20, 0)).user == "zoe"
    after = on_call(sched, berlin(2026, 3, 4, 12, 0))
    assert after.user == "ana" and after.end == berlin(2026, 3, 9, 9, 0)


def test_next_on_call_and_a_shift_list():
    sched = schedule(weekly("ana", "ben"))
    upcoming = next_on_call(sched, berlin(2026, 3, 4, 10, 0))
    assert (upcoming.user, upcoming.start, upcoming.end) == (
        "ben", berlin(2026, 3, 9, 9, 0), berlin(2026, 3, 16, 9, 0))
    listed = shifts(sched, berlin(2026, 3, 4, 0, 0), berlin(2026, 3, 20, 0, 0))
    assert [s.user for s in listed] == ["ana", "ben", "ana"]
    assert listed[0].start == berlin(2026, 3, 4, 0, 0) and listed[-1].end == berlin(2026, 3, 20)


def test_the_same_person_twice_in_a_row_is_one_shift():
    sched = schedule(weekly("ana", "ana", "ben"))
    shift = on_call(sched, berlin(2026, 3, 3, 12, 0))
    assert (shift.start, shift.end) == (berlin(2026, 3, 2, 9, 0), berlin(2026, 3, 16, 9, 0))


@pytest.mark.parametrize(("build", "field"), [
    (lambda: Layer("x", (), date(2026, 1, 1)), "users"),
    (lambda: Layer("x", ("a",), date(2026, 1, 1), every=0), "every"),
    (lambda: Layer("x", ("a",), date(2026, 1, 1), days=frozenset({7})), "days"),
    (lambda: Layer("x", ("a",), date(2026, 1, 1), hours=(time(9), time(9))), "hours"),
    (lambda: Override("a", berlin(2026, 1, 2), berlin(2026, 1, 1)), "overrides"),
    (lambda: Override("a", datetime(2026, 1, 1), datetime(2026, 1, 2)), "overrides"),
    (lambda: schedule(weekly("a"), zone="Mars/Olympus"), "time_zone"),
    (lambda: Schedule("s", "S", "UTC", ()), "layers"),
    (lambda: weekdays(["funday"]), "days"),
])
def test_a_bad_schedule_is_refused_naming_the_field(build, field):
    with pytest.raises(Refused) as refused:
        build()
    assert refused.value.field == field and refused.value.reason


def test_a_naive_moment_is_refused():
    with pytest.raises(Refused, match="time zone"):
        on_call(schedule(weekly("ana")), datetime(2026, 3, 3, 12, 0))
