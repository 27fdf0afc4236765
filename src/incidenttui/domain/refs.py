"""How people name incidents: ``INC-1042`` (or ``1042``), ``SEC-7`` for one restricted when it
was logged, or the client-made UUID; and the shape of the ids of everything else (teams,
users, services, schedules, policies).

Numbers come in two series, each counted on its own by the server: ``INC`` and ``SEC``. An
incident restricted when it is logged is numbered in ``SEC``, so the INC numbers everyone
sees run without gaps: a missing INC number would tell a responder that an incident they
may not see was opened (issue 15: no existence oracle). An incident keeps its number for
life, whatever happens to its restriction later.
"""

from __future__ import annotations

import re
import uuid
from typing import Any, NamedTuple

#: The ids of teams, users, services, schedules and policies (64 characters at most).
SLUG_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.@-]*$"
SLUG_RE = re.compile(SLUG_PATTERN.removesuffix("$") + r"\Z")
SLUG_MAX = 64

#: The series of most incidents, and of incidents restricted when they were logged.
INC, SEC = "INC", "SEC"
SERIES = (INC, SEC)

_NUMBER = re.compile(r"^(?:(INC|SEC)-?)?([0-9]{1,9})$", re.IGNORECASE)


class Number(NamedTuple):
    """An incident's number in its series (``SEC-7`` is ``Number("SEC", 7)``)."""

    series: str
    number: int


def series_for(restricted: bool) -> str:
    """The series a new incident is numbered in."""
    return SEC if restricted else INC


def parse_key(key: str) -> str | Number | None:
    """A UUID (as its canonical text), an incident number (a bare number is an INC one), or
    None for neither."""
    key = key.strip()
    try:
        return str(uuid.UUID(key))
    except ValueError:
        match = _NUMBER.match(key)
        if match is None:
            return None
        return Number((match.group(1) or INC).upper(), int(match.group(2)))


def ref(number: int | None, series: str | None = INC) -> str:
    """``INC-1042`` (``SEC-7``), or ``INC-pending`` until the server has numbered it."""
    if number is None:
        return f"{series or INC}-pending"
    return f"{series or INC}-{number}"


def describe_event(event: Any) -> str:
    """The body of a timeline event for people: its text, led by what changed.

    ``event`` has ``kind``, ``text`` and ``data`` (a stored or wire event); the app's
    timeline and the CLI's ``show`` both use this one wording."""
    data = event.data or {}
    if event.kind == "status":
        move = f"{data.get('from', '?')} → {data.get('to', '?')}"
        code = f" ({data['resolution_code']})" if data.get("resolution_code") else ""
        return f"{move}{code}" + (f": {event.text}" if event.text else "")
    if event.kind == "escalation":
        if data.get("step"):  # an escalation policy's move or notice: its text says it all
            return f"policy: {event.text}"
        if data.get("kind") == "hierarchical":
            return f"management engaged: {event.text}"
        return (f"{data.get('from_team') or '-'} (L{data.get('from_level', '?')}) → "
                f"{data.get('to_team') or '-'} (L{data.get('to_level', '?')}): {event.text}")
    return event.text
