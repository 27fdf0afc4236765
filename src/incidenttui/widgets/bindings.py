"""Key bindings users can remap: each has the id ``area.name`` that ``[keys]`` in config.toml
names, and the screen's area prefixes every one of them."""

from __future__ import annotations

from textual.binding import Binding


def bind(area: str, keys: str, action: str, description: str, *, name: str | None = None,
         show: bool = True, tooltip: str = "") -> Binding:
    """A binding with the id ``area.name``; ``name`` defaults to the action's. An action with
    arguments (``team(-1)``) needs a ``name``: two such bindings would share an id."""
    if name is None:
        if "(" in action:
            raise ValueError(f"binding {action!r} of {area!r} needs a name for its id")
        name = action
    return Binding(keys, action, description, show=show, tooltip=tooltip, id=f"{area}.{name}")


def leave(area: str, action: str = "back", description: str = "Back") -> Binding:
    """Escape leaves the screen: ``area.back``, or for a screen that is cancelled rather
    than left, ``leave(area, "cancel", "Cancel")``."""
    return bind(area, "escape", action, description)
