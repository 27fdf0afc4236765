"""The status page's and maintenance windows' rules (domain/statuspage.py), and the SLA
pause a window gives (domain/sla.py ``pauses``)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from incidenttui.domain import Refused
from incidenttui.domain.organisation import Organisation, Service, document, parse
from incidenttui.domain.sla import next_breach_at, sla_clocks
from incidenttui.domain.statuspage import (
    ComponentState,
    Span,
    Window,
    check_window,
    component_state,
    covering,
    history,
    is_public_update,
    paused_seconds,
    public_update_effect,
    worst,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)


def test_component_states_read_as_people_write_them():
    assert component_state("Partial outage") is ComponentState.PARTIAL_OUTAGE
    assert component_state("major-outage") is ComponentState.MAJOR_OUTAGE
    assert component_state("under maintenance") is ComponentState.MAINTENANCE
    with pytest.raises(Refused, match="Unknown component state 'on fire'.*operational"):
        component_state("on fire")
    assert worst([]) is ComponentState.OPERATIONAL
    assert worst([ComponentState.MAINTENANCE, ComponentState.DEGRADED]) is \
        ComponentState.DEGRADED
    assert all(s.label for s in ComponentState)  # every state has its words


def test_only_status_updates_marked_public_with_wording_are_public():
    """The contract with the commander's stakeholder updates: same kind, public true/false."""
    assert is_public_update("status_update", {"public": True, "public_text": "Fixed."})
    assert is_public_update("status_update", {"public": True, "public_text": "Fixed.",
                                              "state": "monitoring", "impact": "none",
                                              "next_steps": "x", "next_update_due": "y"})
    for kind, data in (("status_update", {"public": False, "public_text": "internal"}),
                       ("status_update", {"public": "true", "public_text": "x"}),
                       ("status_update", {"public": True, "public_text": "  "}),
                       ("status_update", {"public": True}),
                       ("note", {"public": True, "public_text": "x"}),
                       ("status_update", None)):
        assert not is_public_update(kind, data), (kind, data)


def test_a_public_update_is_one_status_update_event_and_never_on_a_restricted_incident():
    effect = public_update_effect({"category": "availability"}, "  We are on it. ",
                                  {"checkout": "major outage"}, "u1")
    [event] = effect.events
    assert (event.kind, event.id, effect.changes) == ("status_update", "u1", {})
    assert event.data == {"public": True, "public_text": "We are on it.",
                          "components": {"checkout": "major_outage"}}
    assert event.text == "Public update: We are on it."
    for state in ({"category": "security"}, {"category": "availability", "restricted": True}):
        with pytest.raises(Refused, match="restricted"):
            public_update_effect(state, "x")
    with pytest.raises(Refused, match="public wording"):
        public_update_effect({"category": "other"}, "   ")


def test_windows_are_checked_and_cover_their_services_while_they_run():
    for services, start, end, words in (([], T0, T0 + H, "at least one service"),
                                        (["erp"], T0, T0, "end after it starts"),
                                        (["erp"], T0 - 2 * H, T0 - H, "over already"),
                                        (["erp"], T0, T0 + timedelta(days=15), "at most")):
        with pytest.raises(Refused, match=words):
            check_window(services, start, end, "", T0)
    window = Window("w", ("erp",), T0, T0 + 2 * H)
    assert window.covers("erp", T0) and not window.covers("erp", T0 + 2 * H)
    assert not window.covers("checkout", T0 + H)
    ended = Window("w", ("erp",), T0, T0 + 2 * H, ended_at=T0 + H)
    assert not ended.covers("erp", T0 + H) and ended.finish == T0 + H
    assert covering([window, ended], "erp", T0 + H / 2) is window


def test_time_in_windows_counts_once():
    windows = [Window("a", ("erp",), T0, T0 + 2 * H), Window("b", ("erp",), T0 + H, T0 + 3 * H),
               Window("c", ("other",), T0, T0 + 5 * H)]
    assert paused_seconds(windows, "erp", T0 - H, T0 + 10 * H) == 3 * 3600
    assert paused_seconds(windows, "erp", T0 + 2 * H, T0 + 10 * H) == 3600


def test_sla_clocks_do_not_run_inside_a_maintenance_window():
    opened = T0
    pauses = [(T0 + timedelta(minutes=5), T0 + timedelta(minutes=65))]
    # P1: 15 min to respond, 4 h to resolve
    plain = next_breach_at(1, opened, status="new")
    assert plain == opened + timedelta(minutes=15)
    assert next_breach_at(1, opened, status="new", pauses=pauses) == \
        opened + timedelta(minutes=75)
    acked = next_breach_at(1, opened, status="in_progress", acknowledged_at=opened,
                           pauses=pauses)
    assert acked == opened + 4 * H + H
    clocks = sla_clocks(1, opened, T0 + timedelta(minutes=30), pauses=pauses)
    assert clocks.response.elapsed == timedelta(minutes=5)
    assert clocks.response.paused and clocks.resolution.paused
    assert not clocks.breached
    after = sla_clocks(1, opened, T0 + timedelta(minutes=80), pauses=pauses)
    assert after.response.elapsed == timedelta(minutes=20) and after.response.breached
    assert not after.response.paused


def test_history_bars_show_the_worst_state_of_each_day():
    today = date(2026, 3, 2)
    spans = [Span("checkout", T0 - timedelta(days=2), T0 - timedelta(days=2) + H,
                  ComponentState.DEGRADED),
             Span("checkout", T0 - timedelta(days=2), T0 - timedelta(days=1),
                  ComponentState.MAJOR_OUTAGE),
             Span("private", T0, T0 + H, ComponentState.MAJOR_OUTAGE)]
    windows = [Window("w", ("payments",), T0 - timedelta(days=89), T0 - timedelta(days=89) + H)]
    bars = history(spans, windows, ["checkout", "payments"], today)
    assert set(bars) == {"checkout", "payments"} and len(bars["checkout"]) == 90
    assert bars["checkout"][-3:] == [ComponentState.MAJOR_OUTAGE, ComponentState.MAJOR_OUTAGE,
                                     ComponentState.OPERATIONAL]
    assert bars["payments"][0] is ComponentState.MAINTENANCE
    assert bars["payments"][1:] == [ComponentState.OPERATIONAL] * 89


def test_the_public_flag_is_organisation_code():
    org = parse({"services": [{"id": "checkout", "name": "Checkout", "public": True},
                              {"id": "erp", "name": "ERP"}]})
    assert [s.public for s in org.services] == [True, False]
    assert document(org)["services"] == [{"id": "checkout", "name": "Checkout", "tier": 2,
                                          "public": True},
                                         {"id": "erp", "name": "ERP", "tier": 2}]
    assert parse(document(org)) == org
    with pytest.raises(Refused, match="public"):
        parse({"services": [{"id": "x", "name": "X", "public": "yes"}]})
    assert Organisation(services=(Service("a", "A"),)).services[0].public is False
