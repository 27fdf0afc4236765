"""How people name incidents: ``INC-1042`` (or ``1042``) or the client-made UUID."""

from __future__ import annotations

import re
import uuid

_NUMBER = re.compile(r"^(?:INC-?)?(\d{1,9})$", re.IGNORECASE)


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
