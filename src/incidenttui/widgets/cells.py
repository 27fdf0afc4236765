"""Exact-width cells for narrow columns (the words in them: :mod:`incidenttui.present`)."""

from __future__ import annotations

from rich.cells import cell_len, set_cell_size

# The queue's cells, worded once for the app and the CLI (names kept for older callers).
from incidenttui.present import STATUS_LONG, STATUS_SHORT, age
from incidenttui.present import sla_cell as sla_text

__all__ = ["STATUS_LONG", "STATUS_SHORT", "age", "fit", "sla_text"]


def fit(text: str, width: int) -> str:
    """``text`` cut or padded to exactly ``width`` cells (wide characters count as two)."""
    if width <= 0:
        return ""
    if cell_len(text) > width:
        return set_cell_size(text, width - 1) + "…"
    return set_cell_size(text, width)
