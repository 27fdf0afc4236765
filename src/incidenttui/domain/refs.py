"""How people name incidents: ``INC-1042`` (or ``1042``) or the client-made UUID; and the
shape of the ids of everything else (teams, users, services, schedules, policies)."""

from __future__ import annotations

import re
import uuid
from typing import Any

#: The ids of teams, users, services, schedules and policies (64 characters at most).
SLUG_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.@-]*$"
SLUG_RE = re.compile(SLUG_PATTERN.removesuffix("$") + r"\Z")
SLUG_MAX = 64

_NUMBER = re.compile(r"^(?:INC-?)?([0-9]{1,9})$", re.IGNORECASE)


def parse_key(key: str) -> str | int | None:
    """A UUID (as its canonical text), an incident number, or None for neither."""
    key = key.strip()
    try:
        return str(uuid.UUID(key))
    except ValueError:
        match = _NUMBER.match(key)
        return int(match.group(1)) if match else None


def ref(number: int | None) -> str:
    """``INC-1042``, or ``INC-pending`` until the server has numbered the incident."""
    return f"INC-{number}" if number is not None else "INC-pending"


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
