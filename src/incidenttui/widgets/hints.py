"""The key-hint footer every screen shows."""

from __future__ import annotations

from textual.widgets import Footer


def key_hints() -> Footer:
    """Compact, and without the command palette's own hint: at 80 columns it was drawn over
    the last key hint. ctrl+p (or :) is named in help (?) instead."""
    return Footer(compact=True, show_command_palette=False)
