"""Short, colour-independent renderings of incident values for narrow columns."""

from __future__ import annotations

from datetime import datetime

from rich.cells import cell_len, set_cell_size

from incidenttui.domain.sla import format_duration

STATUS_SHORT = {
    "new": "NEW", "acknowledged": "ACK", "in_progress": "WIP", "on_hold": "HOLD",
    "resolved": "RSLV", "closed": "CLSD", "cancelled": "CNCL",
}
STATUS_LONG = {
    "new": "new", "acknowledged": "acked", "in_progress": "working", "on_hold": "on hold",
    "resolved": "resolved", "closed": "closed", "cancelled": "cancelled",
}


def fit(text: str, width: int) -> str:
    """``text`` cut or padded to exactly ``width`` cells (wide characters count as two)."""
    if width <= 0:
        return ""
    if cell_len(text) > width:
        return set_cell_size(text, width - 1) + "…"
    return set_cell_size(text, width)


def age(created: datetime, now: datetime) -> str:
    return format_duration(now - created)


def sla_text(due: datetime | None, now: datetime, *, paused: bool = False) -> tuple[str, bool]:
    """The SLA cell and whether it is breached. Breached reads ``!3h05m`` (time since breach),
    so it stands out without colour; a paused clock reads ``paused``."""
    if due is None:
        return ("paused" if paused else "-"), False
    left = due - now
    if left.total_seconds() < 0:
        return "!" + format_duration(-left), True
    return format_duration(left), False
