"""Field changes made against a version: what merges and what conflicts.

Every incident carries a ``version`` and, per editable field, the version at which that field
last changed. A change made against ``base_version`` conflicts on a field only when someone
else changed that field after ``base_version`` to a different value than the one asked for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from incidenttui.domain.enums import EventKind

#: Fields a PATCH may change, in display order.
EDITABLE_FIELDS: tuple[str, ...] = (
    "title", "description", "category", "service", "impact", "urgency", "team", "assignee",
)
#: The timeline event kind each editable field produces.
FIELD_EVENT: dict[str, EventKind] = {
    "title": EventKind.FIELD,
    "description": EventKind.FIELD,
    "category": EventKind.FIELD,
    "service": EventKind.FIELD,
    "impact": EventKind.PRIORITY,
    "urgency": EventKind.PRIORITY,
    "team": EventKind.ASSIGNMENT,
    "assignee": EventKind.ASSIGNMENT,
}


@dataclass(frozen=True)
class FieldConflict:
    """One field that someone else changed since the change's base version."""

    field: str
    mine: Any
    theirs: Any
    their_version: int


def find_conflicts(current: Mapping[str, Any], field_versions: Mapping[str, int],
                   base_version: int, changes: Mapping[str, Any]) -> list[FieldConflict]:
    """The fields of ``changes`` that conflict with ``current`` (empty: the change merges)."""
    conflicts = []
    for field, mine in changes.items():
        changed_at = field_versions.get(field, 0)
        if changed_at > base_version and current.get(field) != mine:
            conflicts.append(FieldConflict(field, mine, current.get(field), changed_at))
    return conflicts
