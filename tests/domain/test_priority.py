"""The ITIL impact × urgency priority matrix."""

from __future__ import annotations

import pytest

from incidenttui.domain.enums import Impact, Priority, Urgency
from incidenttui.domain.priority import MATRIX, priority_for

#: The ITIL table written out independently: (impact, urgency) -> priority number.
ITIL: dict[tuple[int, int], int] = {
    (1, 1): 1,
    (1, 2): 2, (2, 1): 2,
    (1, 3): 3, (2, 2): 3, (3, 1): 3,
    (2, 3): 4, (3, 2): 4,
    (3, 3): 5,
}


@pytest.mark.parametrize(("impact", "urgency"), list(ITIL), ids=lambda v: str(v))
def test_every_matrix_cell(impact: int, urgency: int) -> None:
    priority = priority_for(impact, urgency)
    assert priority == Priority(ITIL[(impact, urgency)])
    assert isinstance(priority, Priority)
    assert priority.label == f"P{ITIL[(impact, urgency)]}"


@pytest.mark.parametrize(("impact", "urgency"), list(ITIL), ids=lambda v: str(v))
def test_every_matrix_cell_with_enums(impact: int, urgency: int) -> None:
    assert priority_for(Impact(impact), Urgency(urgency)) == ITIL[(impact, urgency)]


def test_named_corners() -> None:
    assert priority_for(Impact.HIGH, Urgency.HIGH) == Priority.P1
    assert priority_for(Impact.LOW, Urgency.LOW) == Priority.P5
    assert priority_for(Impact.HIGH, Urgency.LOW) == Priority.P3
    assert priority_for(Impact.LOW, Urgency.HIGH) == Priority.P3


def test_matrix_has_exactly_nine_cells() -> None:
    assert len(MATRIX) == 9
    assert {(int(i), int(u)): int(p) for (i, u), p in MATRIX.items()} == ITIL


def test_matrix_is_symmetric() -> None:
    for impact in (1, 2, 3):
        for urgency in (1, 2, 3):
            assert priority_for(impact, urgency) == priority_for(urgency, impact)


@pytest.mark.parametrize("bad", [0, 4, -1])
def test_invalid_impact_raises(bad: int) -> None:
    with pytest.raises(ValueError):
        priority_for(bad, 2)


@pytest.mark.parametrize("bad", [0, 4, -1])
def test_invalid_urgency_raises(bad: int) -> None:
    with pytest.raises(ValueError):
        priority_for(2, bad)
