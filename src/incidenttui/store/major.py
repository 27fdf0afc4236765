"""A major incident as the commander screen and the review read it from the local store:
the incident, the incidents linked to it (grouped under it), one timeline across all of
them, and its record (roles, updates, action items, review fields) — offline too."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from incidenttui.domain.enums import LinkKind
from incidenttui.domain.major import MajorRecord, UpdateClock, fold_major, update_clock
from incidenttui.domain.review import Linked, review_markdown

if TYPE_CHECKING:
    from incidenttui.store.store import Store
    from incidenttui.store.tables import LocalEvent, LocalIncident

#: How a link reads from the major incident's side: (link kind, whose link) → words.
_HOW = {
    (LinkKind.DUPLICATE_OF.value, "theirs"): "duplicate of this",
    (LinkKind.CAUSED_BY.value, "theirs"): "caused by this",
    (LinkKind.RELATED.value, "theirs"): "related",
    (LinkKind.DUPLICATE_OF.value, "ours"): "this is a duplicate of it",
    (LinkKind.CAUSED_BY.value, "ours"): "caused this",
    (LinkKind.RELATED.value, "ours"): "related",
}


@dataclass(frozen=True)
class MajorView:
    """One read of a major incident (None fields: the incident is not in the store)."""

    incident: LocalIncident
    linked: list[Linked]
    #: The incident's timeline and its linked incidents', oldest first.
    events: list[LocalEvent]
    record: MajorRecord
    clock: UpdateClock

    def review(self, now: datetime) -> str:
        """The post-incident review as Markdown."""
        return review_markdown(self.incident, self.events, self.linked, now)


def linked_incidents(store: Store, incident: LocalIncident) -> list[Linked]:
    """The incidents linked to ``incident`` either way, oldest number first; those that
    link to it (its duplicates, what it caused) are grouped under it."""
    found: dict[str, str] = {}
    for link in incident.links or []:
        found.setdefault(str(link.get("target")), _HOW.get((link.get("kind"), "ours"),
                                                           "related"))
    with store._read_engine.connect() as conn:  # one JSON scan of the links column
        rows = conn.execute(text(
            "SELECT i.id, json_extract(l.value, '$.kind') FROM incidents i, "
            "json_each(i.links) l WHERE json_extract(l.value, '$.target') = :id"),
            {"id": incident.id}).all()
    grouped = set()
    for other, kind in rows:
        found[str(other)] = _HOW.get((kind, "theirs"), "related")
        grouped.add(str(other))
    found.pop(incident.id, None)
    held = store.incidents(list(found))
    held.sort(key=lambda r: (r.number is None, r.number or 0))
    return [Linked(r.id, r.number, r.title, r.status, found[r.id], r.id in grouped)
            for r in held]


def major_view(store: Store, key: str, now: datetime) -> MajorView | None:
    """The major incident ``key`` (UUID or number) as the commander sees it; None when the
    store does not hold it."""
    incident = store.get(key)
    if incident is None:
        return None
    linked = linked_incidents(store, incident)
    events: list[Any] = list(store.timeline(incident.id))
    for other in linked:
        if other.grouped:
            events += store.timeline(other.id)
    events.sort(key=lambda e: (e.at, e.id))
    record = fold_major(incident.id, events)
    last = record.last_update
    since = record.declared_at or incident.created_at
    clock = update_clock(incident.priority, since, now,
                         last.data if last is not None else None,
                         last.at if last is not None else None)
    return MajorView(incident, linked, events, record, clock)
