"""The post-incident review: CommonMark Markdown written from an incident's record.

Pure: :func:`review_markdown` reads the incident (an object with the incident's fields),
its timeline and its linked incidents' (objects with ``id``, ``incident_id``, ``at``,
``kind``, ``actor``, ``text``, ``data``), and the time it is written. The app's key and
``incidenttui review`` both call it, online or off.

Every text from the record is escaped (:func:`inline`, :func:`block`), so a title such as
``# [x](javascript:…) <b>`` reads literally and never becomes a heading, a link or HTML.
Only constructs of CommonMark itself are used (headings, paragraphs, lists, emphasis): no
tables or task lists, which are extensions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from incidenttui.domain.enums import EventKind
from incidenttui.domain.major import (
    HIGHLIGHTED,
    ROLE_LABELS,
    MajorRole,
    ReviewField,
    entry_tag,
    fold_major,
)
from incidenttui.domain.refs import describe_event, ref

#: Characters escaped wherever record text goes (CommonMark allows a backslash before any
#: ASCII punctuation, and it then stands for itself).
_ESCAPED = re.compile(r"([\\`*_\[\]<>&#|~!])")
#: A line that would open a block (list item, quote, heading underline, ordered item).
_BLOCK_START = re.compile(r"^([-+=>]|\d+[.)])")

#: What the review says of a field nobody wrote yet.
NOT_WRITTEN = "Not written yet."


def inline(text: Any) -> str:
    """``text`` as one line of literal Markdown text (whitespace collapsed, escaped)."""
    return _ESCAPED.sub(r"\\\1", " ".join(str(text or "").split()))


def block(text: Any) -> str:
    """``text`` as literal Markdown paragraphs: lines kept, blank lines separate paragraphs,
    nothing in it can open a heading, list, quote or code block."""
    paragraphs = []
    for chunk in re.split(r"\n\s*\n", str(text or "").strip()):
        lines = []
        for raw in chunk.splitlines():
            line = inline(raw)
            if line:
                lines.append(_BLOCK_START.sub(r"\\\1", line))
        if lines:
            # A backslash at the end of a line is a hard break: lines stay lines.
            paragraphs.append("\\\n".join(lines))
    return "\n\n".join(paragraphs)


def span(seconds: float | None) -> str:
    """A duration for people: ``45 s``, ``12 min``, ``2 h 05 min``, ``1 d 3 h``."""
    if seconds is None:
        return "n/a"
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def _at(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value else "n/a"


def _between(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return (end - start).total_seconds()


@dataclass(frozen=True)
class Times:
    """The incident's own response times, in seconds (None: not reached)."""

    ttd: float | None  # impact start → detection
    tta: float | None  # logged → acknowledged
    ttm: float | None  # logged → mitigated (first mitigation entry)
    ttr: float | None  # logged → resolved
    duration: float | None  # impact start (else detection) → resolved or now
    ongoing: bool


def response_times(incident: Any, mitigated_at: datetime | None, now: datetime) -> Times:
    """TTD, TTA, time to mitigate, TTR and the customer-facing duration, as the KPIs
    measure them (store/kpis.py: MTTD start → detection, MTTA and MTTR from logging)."""
    start = incident.started_at or incident.detected_at or incident.created_at
    end = incident.resolved_at
    return Times(ttd=_between(incident.started_at, incident.detected_at),
                 tta=_between(incident.created_at, incident.acknowledged_at),
                 ttm=_between(incident.created_at, mitigated_at),
                 ttr=_between(incident.created_at, end),
                 duration=_between(start, end or now), ongoing=end is None)


@dataclass(frozen=True)
class Linked:
    """A linked incident as the review names it."""

    id: str
    number: int | None
    title: str
    status: str
    how: str  # "duplicate of this", "caused by this", "related", ...
    #: Grouped under the major incident (it links to the major one): its timeline is part
    #: of the major incident's; a past incident the major one refers to is only named.
    grouped: bool = True


def review_markdown(incident: Any, events: Iterable[Any], linked: Sequence[Linked],
                    now: datetime) -> str:
    """The post-incident review of ``incident`` as CommonMark Markdown (ends with one
    newline). ``events``: its timeline and those of the ``linked`` incidents."""
    events = sorted(events, key=lambda e: (e.at, e.id))
    record = fold_major(incident.id, events)
    times = response_times(incident, record.mitigated_at, now)
    refs = {item.id: ref(item.number) for item in linked}
    written = record.review
    out: list[str] = []

    def section(title: str, *body: str) -> None:
        out.extend([f"## {title}", "", *[b for part in body for b in (part, "")]])

    def field(name: ReviewField, fallback: str = "") -> str:
        text = written.get(name, "").strip() or fallback
        return block(text) if text.strip() else f"*{NOT_WRITTEN}*"

    status = str(incident.status).replace("_", " ")
    if incident.resolution_code:
        status += f" ({inline(incident.resolution_code)})"
    out += [f"# Post-incident review: {inline(ref(incident.number))} {inline(incident.title)}",
            "",
            f"- **Incident:** {inline(ref(incident.number))}, P{incident.priority}, "
            f"service {inline(incident.service)}, {inline(incident.category)}"
            + (", major incident" if incident.major else ""),
            f"- **Status:** {status}",
            f"- **Written:** {_at(now)}, from the incident record", ""]
    section("Summary", field(ReviewField.SUMMARY, incident.description))
    duration = span(times.duration) + (" so far (still open)" if times.ongoing else "")
    section("Customer impact and duration", field(ReviewField.CUSTOMER_IMPACT), "\n".join([
        f"- **Impact started:** {_at(incident.started_at)}",
        f"- **Detected:** {_at(incident.detected_at)}",
        f"- **Logged:** {_at(incident.created_at)}",
        f"- **Acknowledged:** {_at(incident.acknowledged_at)}",
        f"- **Mitigated:** {_at(record.mitigated_at)}",
        f"- **Resolved:** {_at(incident.resolved_at)}",
        f"- **Duration of impact:** {duration}"]))
    section("Response times", "\n".join([
        f"- **TTD** (impact start to detection): {span(times.ttd)}",
        f"- **TTA** (logged to acknowledged): {span(times.tta)}",
        f"- **Time to mitigate** (logged to first mitigation): {span(times.ttm)}",
        f"- **TTR** (logged to resolved): {span(times.ttr)}"]))
    section("Roles", "\n".join(
        f"- **{ROLE_LABELS[role].capitalize()}:** "
        + (inline(record.roles[role]) if record.roles.get(role) else "*not assigned*")
        for role in MajorRole))
    section("Timeline", "All times UTC. Decisions, findings and mitigations are in bold; "
            "entries of linked incidents name their incident.",
            "\n".join(_timeline_line(e, incident.id, refs) for e in events
                      if str(e.kind) != EventKind.REVIEW) or "*No events.*")
    if linked:
        section("Linked incidents", "\n".join(
            f"- {inline(ref(item.number))} ({inline(item.how)}): {inline(item.title)}, "
            f"{inline(item.status.replace('_', ' '))}" for item in linked))
    section("Stakeholder updates", "\n".join(_update_line(e) for e in record.updates)
            or "*No stakeholder update was published.*")
    section("Root cause", field(ReviewField.ROOT_CAUSE))
    section("Contributing factors", field(ReviewField.CONTRIBUTING_FACTORS))
    section("What went well", field(ReviewField.WENT_WELL))
    section("What went badly", field(ReviewField.WENT_BADLY))
    items = list(record.items.values())
    section("Action items", "\n".join(
        f"- {'done' if i.done else '**open**'}: {inline(i.text)}; owner "
        f"{inline(i.owner) if i.owner else '*nobody yet*'}; due "
        f"{inline(i.due) if i.due else '*no date*'}" for i in items)
        or "*No action items.*")
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n"


def _timeline_line(event: Any, incident_id: str, refs: dict[str, str]) -> str:
    tag = entry_tag(event)
    where = "" if event.incident_id == incident_id else \
        f"{inline(refs.get(event.incident_id, 'linked incident'))} · "
    kind = str(tag or event.kind).replace("_", " ")
    text = inline(describe_event(event))
    # An entry whose text already names its kind ("action item: …") is not named twice.
    label = text if text.lower().startswith(kind) else f"{kind}: {text}" if text else kind
    if tag in HIGHLIGHTED:
        label = f"**{kind.upper()}: {text}**"
    actor = inline(event.actor) if event.actor else "system"
    return f"- {event.at.astimezone(UTC):%Y-%m-%d %H:%M} · {where}{actor} · {label}"


def _update_line(event: Any) -> str:
    data = event.data or {}
    public = (f" Public wording: {inline(data.get('public_text'))}" if data.get("public")
              else " Internal only.")
    return (f"- {event.at.astimezone(UTC):%Y-%m-%d %H:%M} by "
            f"{inline(event.actor) if event.actor else 'system'}: "
            f"{inline(data.get('state'))}. Impact: {inline(data.get('impact'))}. "
            f"Next steps: {inline(data.get('next_steps'))}. Next update due "
            f"{inline(data.get('next_update_due'))}.{public}")
