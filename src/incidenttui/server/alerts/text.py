"""Alert text made safe to store: NUL replaced (PostgreSQL cannot store it in text, and an
alert is never refused for one), lengths capped, details shortened for the timeline."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

#: The longest title and description of an alert-made incident (the domain's limits).
TITLE_MAX = 300
TEXT_MAX = 20_000
#: Bytes of JSON per detail value on a timeline event (which every client stores).
DETAIL_MAX = 4_096


def strip_nul(value: str) -> str:
    return value.replace("\x00", "\ufffd") if "\x00" in value else value


def text(value: str, limit: int) -> str:
    """``value`` without NUL, cut to ``limit`` characters (an ellipsis marks the cut)."""
    value = strip_nul(value or "")
    return value if len(value) <= limit else value[:limit - 1] + "…"


def title(summary: str, source: str) -> str:
    """An incident title from an alert's summary (else its source) on one line."""
    line = " ".join(strip_nul(summary or "").split())
    if not line:
        line = " ".join(strip_nul(source or "").split()) or "Alert"
    return line if len(line) <= TITLE_MAX else line[:TITLE_MAX - 1] + "…"


def clean(value: Any, depth: int = 0) -> Any:
    """``value`` with NUL removed from every string (JSON columns go to PostgreSQL too)."""
    if isinstance(value, str):
        return strip_nul(value)
    if depth > 64:
        return None
    if isinstance(value, Mapping):
        return {strip_nul(str(k)): clean(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v, depth + 1) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def short(value: Any, *, cleaned: bool = False) -> Any:
    """A detail value small enough for a timeline event (``cleaned``: :func:`clean` ran)."""
    if not cleaned:
        value = clean(value)
    if isinstance(value, str):
        return value if len(value) <= DETAIL_MAX else value[:DETAIL_MAX - 1] + "…"
    dumped = json.dumps(value, ensure_ascii=False, default=str)
    if len(dumped) <= DETAIL_MAX:
        return value
    return dumped[:DETAIL_MAX - 1] + "…"


def not_after(value: datetime | None, now: datetime) -> datetime | None:
    """``value`` in UTC (read as UTC without an offset), clamped to ``now``; None for
    Alertmanager's zero time (year 1)."""
    if value is None or value.year < 1970:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        value = value.astimezone(UTC)
    except OverflowError:  # past year 9999 in UTC: in the future, so now
        return now
    return min(value, now)


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
