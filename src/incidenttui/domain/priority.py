"""The ITIL impact × urgency priority matrix."""

from __future__ import annotations

from incidenttui.domain.enums import Impact, Priority, Urgency

#: Rows are impact 1..3, columns urgency 1..3.
MATRIX: dict[tuple[Impact, Urgency], Priority] = {
    (Impact.HIGH, Urgency.HIGH): Priority.P1,
    (Impact.HIGH, Urgency.MEDIUM): Priority.P2,
    (Impact.HIGH, Urgency.LOW): Priority.P3,
    (Impact.MEDIUM, Urgency.HIGH): Priority.P2,
    (Impact.MEDIUM, Urgency.MEDIUM): Priority.P3,
    (Impact.MEDIUM, Urgency.LOW): Priority.P4,
    (Impact.LOW, Urgency.HIGH): Priority.P3,
    (Impact.LOW, Urgency.MEDIUM): Priority.P4,
    (Impact.LOW, Urgency.LOW): Priority.P5,
}


def priority_for(impact: int, urgency: int) -> Priority:
    """The priority of an incident with ``impact`` and ``urgency`` (each 1 high … 3 low)."""
    return MATRIX[(Impact(impact), Urgency(urgency))]
