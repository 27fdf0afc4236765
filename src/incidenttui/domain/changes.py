"""Field changes made against a version: what merges and what conflicts.

Every incident carries a ``version`` and, per editable field, the version at which that field
last changed. A change made against ``base_version`` conflicts on a field only when someone
else changed that field after ``base_version`` to a different value than the one asked for.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from incidenttui.domain.enums import EventKind
from incidenttui.domain.lifecycle import Refused

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


def check_fields(names: Iterable[str]) -> None:
    """Raise :class:`Refused` unless every name is an editable field.

    Status moves through lifecycle actions and ``version``, ``priority``, the timestamps and
    the rest are the rules' own business: a field change naming one of them is refused, on the
    client (offline) and on the server alike."""
    for name in names:
        if name not in FIELD_EVENT:
            if name == "status":
                reason = ("The status changes only through lifecycle actions (acknowledge, "
                          "start, hold, resume, resolve, close, reopen, cancel).")
            elif name == "priority":
                reason = "The priority follows from impact and urgency; change those instead."
            else:
                reason = (f"{name!r} is not a field that can be changed; editable fields: "
                          f"{', '.join(EDITABLE_FIELDS)}.")
            raise Refused(reason, name)


def check_base_version(base_version: int, current_version: int) -> None:
    """Raise :class:`Refused` for a change claiming a version the incident has not reached.

    A version from the future would pass every conflict check (nothing changed "after" it),
    so it would silently overwrite other people's changes."""
    if base_version > current_version:
        raise Refused(f"base_version {base_version} is newer than the incident's version "
                      f"{current_version}; refresh and make the change again.", "base_version")


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
